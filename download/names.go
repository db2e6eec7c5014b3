package download

import (
	"runtime"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// Folders this program owns inside the output folder.
const (
	StateDirName     = storage.StateDirName
	MismatchDirName  = storage.MismatchDirName
	EncryptedDirName = storage.EncryptedDirName
)

// onWindows says whether Windows name rules apply on this machine.
var onWindows = runtime.GOOS == "windows"
