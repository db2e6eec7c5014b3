//go:build windows

package main_test

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// holdOpen is the test executable run again as "another program" that
// has path open as Excel has a workbook open: shared for reading and
// writing, not for deletion, so Windows refuses to replace, rename or
// delete it. It holds it until its stdin closes.
func holdOpen(path string) int {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		fmt.Println("hold:", err)
		return 2
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		fmt.Println("hold: open:", err)
		return 1
	}
	fmt.Println("holding")
	io.Copy(io.Discard, os.Stdin)
	windows.CloseHandle(h)
	fmt.Println("released")
	return 0
}
