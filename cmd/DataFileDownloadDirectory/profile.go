package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Profiling is for the benchmark (test/bench -profile), not for users, so
// it is switched on by environment variables and stays out of --help:
// DFDD_CPUPROFILE and DFDD_MEMPROFILE name files that receive a CPU profile
// of the whole run and an allocation profile at exit; DFDD_TRACE one that
// receives an execution trace (where goroutines wait, which a CPU profile
// cannot show).
const (
	cpuProfileEnv = "DFDD_CPUPROFILE"
	memProfileEnv = "DFDD_MEMPROFILE"
	traceEnv      = "DFDD_TRACE"
)

// startProfiles starts what the environment asks for; the returned function
// writes the profiles and must run before the process exits.
func startProfiles() (stop func()) {
	var cpu *os.File
	if p := os.Getenv(cpuProfileEnv); p != "" {
		f, err := os.Create(p)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: cannot profile to %s: %v\n", cpuProfileEnv, p, err)
		} else {
			cpu = f
		}
	}
	var tr *os.File
	if p := os.Getenv(traceEnv); p != "" {
		f, err := os.Create(p)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: cannot trace to %s: %v\n", traceEnv, p, err)
		} else {
			tr = f
		}
	}
	return func() {
		if tr != nil {
			trace.Stop()
			tr.Close()
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if p := os.Getenv(memProfileEnv); p != "" {
			if err := writeAllocProfile(p); err != nil {
				fmt.Fprintf(os.Stderr, "%s: cannot write %s: %v\n", memProfileEnv, p, err)
			}
		}
	}
}

func writeAllocProfile(p string) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	runtime.GC() // the heap part of the profile is as of the last GC
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
