//go:build windows

package testkit

import "golang.org/x/sys/windows"

// UnderWine tells whether this Windows program runs under wine: wine's
// ntdll.dll exports wine_get_version, Windows' never does. Tests use it
// only to say which of their checks wine cannot support.
func UnderWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
