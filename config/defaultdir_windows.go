package config

import (
	"os"
	"path/filepath"
)

// platformConfigDir is where Windows keeps machine-wide program data that
// services (running as LocalSystem) and administrators both reach; Program
// Files is for binaries and is read-only to the program at run time.
func platformConfigDir() string {
	programData := os.Getenv("ProgramData")
	if programData == "" {
		programData = `C:\ProgramData`
	}
	return filepath.Join(programData, "DataFileDownloadDirectory")
}
