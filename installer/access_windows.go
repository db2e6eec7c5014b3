//go:build windows

package installer

// permits is not used on Windows: services there run as LocalSystem or an
// account whose rights the administrator sets (see docs/service.md).
func permits(*Account, string, int) error { return nil }
