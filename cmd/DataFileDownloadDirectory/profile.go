package main

import (
	"fmt"
	"io"
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
	cpu := startRecording(cpuProfileEnv, pprof.StartCPUProfile)
	tr := startRecording(traceEnv, trace.Start)
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

// startRecording starts a recording into the file the environment variable
// env names, if any, and returns that file (nil if none was started).
func startRecording(env string, start func(io.Writer) error) *os.File {
	p := os.Getenv(env)
	if p == "" {
		return nil
	}
	f, err := os.Create(p)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot record to %s: %v\n", env, p, err)
		return nil
	}
	return f
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
