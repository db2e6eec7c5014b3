// Package terminate asks a child process to stop as a user or a service
// manager would, on every system, so that end-to-end tests can check a
// clean shutdown: SIGTERM on Unix; on Windows, which has no SIGTERM,
// CTRL_BREAK_EVENT, which Go programs receive as os.Interrupt.
//
// Call Prepare on the command before starting it, then Ask to stop it.
package terminate

// WineInterruptEnv names the address through which `make test-windows`
// interrupts a program under wine (see Ask in terminate_windows.go):
// wine 8 does not implement GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT).
const WineInterruptEnv = "DFDD_WINE_INTERRUPT_URL"

// WineInterrupt is what is posted (as JSON) to $DFDD_WINE_INTERRUPT_URL:
// the program to interrupt, named by its .exe's base name and its
// arguments (argv[1:]), exactly as started.
type WineInterrupt struct {
	Exe  string   `json:"exe"`
	Args []string `json:"args"`
}
