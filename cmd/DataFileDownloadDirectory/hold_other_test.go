//go:build !windows

package main_test

import "fmt"

// holdOpen holds files open the Windows way only on Windows: elsewhere an
// open file does not keep another from replacing it.
func holdOpen(string) int {
	fmt.Println("hold: Windows only")
	return 2
}
