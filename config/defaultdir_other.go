//go:build !windows

package config

// platformConfigDir follows the packages' layout: the .deb and .rpm install
// their default config here, the usual place for a system service's
// configuration. Other Unix systems use the same folder.
func platformConfigDir() string { return "/etc/datafiledownloaddirectory" }
