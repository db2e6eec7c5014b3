// Package plural writes counts with the noun in the right number: "1
// chunk", "6 chunks", "0 files".
package plural

import "strconv"

// Count is n followed by one when n is 1 and by many otherwise.
func Count[N ~int | ~int32 | ~int64](n N, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.FormatInt(int64(n), 10) + " " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
}
