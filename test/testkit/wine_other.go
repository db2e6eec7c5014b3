//go:build !windows

package testkit

// UnderWine is false: wine runs Windows programs only.
func UnderWine() bool { return false }
