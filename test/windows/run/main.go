//go:build linux

// Command run is `make test-windows`: it builds the Windows program and
// the Windows test executable of every package, runs them under wine
// against a real local Kafka broker, and ends with one line,
// `windows: N passed, M failed, K skipped`, counting top-level tests.
// docs/windows.md says what this proves and what only real Windows can.
//
//	go run ./test/windows/run -exe build/windows/DataFileDownloadDirectory.exe
//
// It needs wine (64-bit) and mingw-w64, which test/deps.sh installs, and
// makes everything else itself in -work: a wine prefix of its own with the
// bcryptprimitives.dll shim, the Go overlay for wine 8, the builds, the
// broker and the logs.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/terminate"
	"github.com/openmsi/datafiledownloaddirectory/test/windows/rig"
)

type options struct {
	work      string
	exe       string
	ldflags   string
	version   string
	jobs      int
	buildJobs int
	timeout   time.Duration
	pkgs      string
	run       string
	count     int
}

func main() {
	var o options
	// "_": go's ./... patterns skip the folder, which holds a whole wine
	// prefix and whatever the tests leave in its temporary folder.
	flag.StringVar(&o.work, "work", "build/_windows-test", "folder for the wine prefix, the builds, the broker and the logs (emptied first)")
	flag.StringVar(&o.exe, "exe", "build/windows/DataFileDownloadDirectory.exe", "the Windows program as shipped (make windows)")
	flag.StringVar(&o.ldflags, "ldflags", "", "-ldflags for the test build of the program, as the Makefile stamps it")
	flag.StringVar(&o.version, "version", "", "the version the program is stamped with (DFDD_VERSION for the tests)")
	flag.IntVar(&o.jobs, "j", 2, "test executables run at the same time under wine")
	flag.IntVar(&o.buildJobs, "p", 2, "go build -p for the test executables")
	flag.DurationVar(&o.timeout, "timeout", 12*time.Minute, "bound for each test executable")
	flag.StringVar(&o.pkgs, "pkgs", "./...", "packages whose tests run (go list patterns, space-separated)")
	flag.StringVar(&o.run, "run", "", "only the tests matching this (go test -run)")
	flag.IntVar(&o.count, "count", 1, "run each test this many times (go test -count), to chase a flaky one")
	flag.Parse()
	start := time.Now()
	code := run(o)
	fmt.Printf("make test-windows took %s\n", time.Since(start).Round(time.Second))
	os.Exit(code)
}

// step logs a step's duration.
func step(what string, since time.Time) {
	fmt.Printf("windows: %s (%s)\n", what, time.Since(since).Round(100*time.Millisecond))
}

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, tool := range []string{"wine", "wineserver", "wineboot", "x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "windows: %s is missing: run `bash test/deps.sh` as root (it installs wine64 and mingw-w64)\n", tool)
			return 1
		}
	}
	work, err := filepath.Abs(o.work)
	prefix := rig.Prefix{Dir: filepath.Join(work, "prefix")}
	if _, serr := os.Stat(prefix.Dir); err == nil && serr == nil {
		prefix.Stop() // what an interrupted run may have left running
	}
	if err == nil {
		err = os.RemoveAll(work)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}
	logDir := filepath.Join(work, "logs")
	for _, d := range []string{logDir, filepath.Join(work, "tests"), filepath.Join(work, "shim")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "windows:", err)
			return 1
		}
	}
	defer prefix.Stop()

	pkgs, err := testPackages(ctx, o.pkgs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}
	// The prefix and the builds are independent: wineboot waits on wine's
	// own start-up, the builds on the CPU.
	var prefixErr error
	prefixDone := make(chan struct{})
	go func() {
		defer close(prefixDone)
		t := time.Now()
		if prefixErr = buildShim(ctx, work); prefixErr == nil {
			prefixErr = prefix.Init(ctx, filepath.Join(work, "shim", "bcryptprimitives.dll"))
		}
		if prefixErr == nil {
			step("wine prefix with the bcryptprimitives.dll shim", t)
		}
	}()
	testExe, err := build(ctx, o, work, pkgs)
	<-prefixDone
	if err == nil {
		err = prefixErr
	}
	if err == nil {
		err = smoke(ctx, prefix, o.exe)
	}
	var msi string
	if err == nil {
		msi, err = buildMSI(ctx, o, work)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}

	t := time.Now()
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	broker, err := kafkatest.Start(bctx, filepath.Join(work, "kafka"))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}
	defer broker.Stop()
	step("Kafka broker on "+broker.Bootstrap(), t)

	interruptURL, closeInterrupt, err := serveInterrupts()
	if err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}
	defer closeInterrupt()

	env := append(prefix.Env(),
		"DFDD_REQUIRE_BROKER=1",
		"KAFKA_BOOTSTRAP="+broker.Bootstrap(),
		"KAFKA_BOOTSTRAP_SASL="+broker.BootstrapSASL(),
		"KAFKA_BOOTSTRAP_SSL="+broker.BootstrapSSL(),
		"KAFKA_SSL_CA="+rig.WinPath(broker.CAFile()),
		"DFDD_BINARY="+rig.WinPath(testExe),
		"DFDD_VERSION="+o.version,
		"DFDD_MSI="+rig.WinPath(msi),
		terminate.WineInterruptEnv+"="+interruptURL,
		// Lets the tests that register real services with wine's service
		// manager run; on a developer's Windows they stay skipped.
		"DFDD_WINDOWS_SCM=1",
	)
	t = time.Now()
	var sum rig.Summary
	runAll(ctx, o, prefix, env, pkgs, work, &sum)
	step("tests under wine", t)
	sum.Report(os.Stdout, logDir)
	if len(sum.Failed) > 0 || len(sum.Passed) == 0 {
		return 1
	}
	return 0
}

func serveInterrupts() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: rig.InterruptHandler{ProcDir: "/proc"}, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String() + "/interrupt", func() { srv.Close() }, nil
}

// first lists the packages that start first, in this order: the slow
// ones, so that the others run beside them, with service's short run ahead
// of the end-to-end tests (see scmUsers).
var first = []string{"service", "download", "cmd/DataFileDownloadDirectory"}

// scmUsers never run at the same time: wine's StartServiceCtrlDispatcher
// finds its control pipe through the registry value of the service started
// last, so a program that is not a service, calling it while a service
// runs, connects to that service's pipe and waits there instead of being
// told that no service controller started it. service's tests call it
// outside the service manager; the end-to-end tests run services.
var scmUsers = regexp.MustCompile(`^(service|cmd/DataFileDownloadDirectory)$`)

func runAll(ctx context.Context, o options, prefix rig.Prefix, env []string, pkgs []pkg, work string, sum *rig.Summary) {
	var ordered []pkg
	for _, name := range first {
		for _, p := range pkgs {
			if p.name == name {
				ordered = append(ordered, p)
			}
		}
	}
	for _, p := range pkgs {
		if !slices.Contains(first, p.name) {
			ordered = append(ordered, p)
		}
	}
	var mu, scm sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, o.jobs))
	for _, p := range ordered {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if scmUsers.MatchString(p.name) {
				scm.Lock()
				defer scm.Unlock()
			}
			t := time.Now()
			results, err := runPackage(ctx, o, prefix, env, p, work)
			if err != nil {
				results = append(results, rig.Result{Package: p.name, Action: "fail", Output: []string{err.Error()}})
			}
			var one rig.Summary
			one.Add(results...)
			mu.Lock()
			defer mu.Unlock()
			sum.Add(results...)
			fmt.Printf("windows: %-30s %3d passed, %d failed, %2d skipped (%s)\n", p.name,
				len(one.Passed), len(one.Failed), len(one.Skipped), time.Since(t).Round(time.Second))
		}()
	}
	wg.Wait()
}

// runPackage runs one test executable under wine from its package's
// folder (tests read testdata/ relative to it) and reads its results.
func runPackage(ctx context.Context, o options, prefix rig.Prefix, env []string, p pkg, work string) ([]rig.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout+time.Minute)
	defer cancel()
	name := strings.TrimSuffix(p.exe, ".test.exe")
	raw, err := os.Create(filepath.Join(work, "logs", name+".txt"))
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	args := []string{"-test.v=test2json", fmt.Sprintf("-test.count=%d", max(1, o.count)), "-test.short", "-test.timeout=" + o.timeout.String()}
	if o.run != "" {
		args = append(args, "-test.run="+o.run)
	}
	cmd := prefix.Command(ctx, filepath.Join(work, "tests", p.exe), args...)
	cmd.Dir, cmd.Env = p.dir, env
	cmd.Stdout, cmd.Stderr = raw, raw
	runErr := cmd.Run()
	if _, err := raw.Seek(0, 0); err != nil {
		return nil, err
	}
	conv := exec.Command("go", "tool", "test2json", "-p", p.importPath)
	conv.Stdin = raw
	js, err := conv.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool test2json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, "logs", name+".json"), js, 0o644); err != nil {
		return nil, err
	}
	results, err := rig.ReadResults(p.name, bytes.NewReader(js))
	if err == nil && runErr != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s did not end within %s", p.exe, o.timeout+time.Minute)
	}
	return results, err
}
