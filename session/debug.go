package session

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// DebugAddrEnv names the variable that switches on a debug server with Go's
// runtime profiles (goroutine count and stacks, heap), for the soak test
// (test/soak) and for chasing a leak on a running installation. Off unless
// set; meant for a loopback address such as 127.0.0.1:6060 (":0" picks a
// port, which is logged).
const DebugAddrEnv = "DFDD_DEBUG_ADDR"

// startDebugServer starts the debug server if asked to, and returns what
// stops it.
func (s *Session) startDebugServer() (stop func()) {
	addr := os.Getenv(DebugAddrEnv)
	if addr == "" {
		return func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Log.Warnf("no debug server: cannot listen on %s (from $%s): %v", addr, DebugAddrEnv, err)
		return func() {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.Log.Infof("debug server: Go runtime profiles on http://%s/debug/pprof/ (from $%s)", ln.Addr(), DebugAddrEnv)
	return func() { _ = srv.Close() }
}
