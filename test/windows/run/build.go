//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/windows/rig"
)

// pkg is a package with tests, and its test executable.
type pkg struct {
	importPath string
	name       string // the import path inside the module, as shown
	dir, exe   string
}

// testPackages lists the packages that have tests on Windows.
func testPackages(ctx context.Context, patterns string) ([]pkg, error) {
	args := append([]string{"list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}\t{{.Dir}}\t{{.Module.Path}}{{end}}"}, strings.Fields(patterns)...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), windowsEnv...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		ip, dir, mod := f[0], f[1], f[2]
		name := strings.TrimPrefix(strings.TrimPrefix(ip, mod), "/")
		if name == "" {
			name = ip
		}
		pkgs = append(pkgs, pkg{importPath: ip, name: name, dir: dir, exe: ip[strings.LastIndex(ip, "/")+1:] + ".test.exe"})
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no package with tests in %s", patterns)
	}
	return pkgs, nil
}

// windowsEnv cross-compiles as `make windows` does (WINDOWS_ENV there):
// mingw-w64 for librdkafka's C, the stack protector linked statically.
var windowsEnv = []string{"GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=1", "CC=x86_64-w64-mingw32-gcc",
	"CGO_LDFLAGS=-Wl,-u,__stack_chk_fail -Wl,-u,__stack_chk_guard -l:libssp.a"}

func buildShim(ctx context.Context, work string) error {
	out, err := exec.CommandContext(ctx, "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-Wall", "-Wextra",
		"-o", filepath.Join(work, "shim", "bcryptprimitives.dll"), "test/windows/shim/bcryptprimitives.c", "-ladvapi32").CombinedOutput()
	if err != nil {
		return fmt.Errorf("build the bcryptprimitives.dll shim: %v\n%s", err, out)
	}
	return nil
}

// build makes the test executables and the test build of the program,
// both with the overlay, and returns the program's path.
func build(ctx context.Context, o options, work string, pkgs []pkg) (string, error) {
	t := time.Now()
	goroot, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	var overlay []string
	// Under a folder whose name starts with "_" (see -work), so that the
	// copy of Go's file is not taken for a package of the module.
	path, err := rig.WriteOverlay(strings.TrimSpace(string(goroot)), filepath.Join(work, "overlay"))
	switch {
	case errors.Is(err, rig.ErrOverlayNotNeeded):
		fmt.Printf("windows: no overlay: %v\n", err)
	case err != nil:
		return "", err
	default:
		overlay = []string{"-overlay", path}
		fmt.Printf("windows: test builds use %s (%s of the installed Go, patched for wine 8's missing POSIX delete)\n", path, rig.AtWindows)
	}
	args := append([]string{"test", "-c", "-p", fmt.Sprint(o.buildJobs), "-o", filepath.Join(work, "tests") + "/"}, overlay...)
	for _, p := range pkgs {
		args = append(args, p.importPath)
	}
	if err := goCmd(ctx, args...); err != nil {
		return "", err
	}
	prog := filepath.Join(work, "tests", "DataFileDownloadDirectory.exe")
	args = append([]string{"build", "-trimpath", "-ldflags", o.ldflags, "-o", prog}, overlay...)
	if err := goCmd(ctx, append(args, "./cmd/DataFileDownloadDirectory")...); err != nil {
		return "", err
	}
	step(fmt.Sprintf("built %d test executables and the program's test build", len(pkgs)), t)
	return prog, nil
}

func goCmd(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), windowsEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args[:2], " "), err, out)
	}
	return nil
}

// smoke runs the program as shipped (no overlay): it must start under
// wine and name its librdkafka.
func smoke(ctx context.Context, prefix rig.Prefix, exe string) error {
	t := time.Now()
	out, err := prefix.Output(ctx, exe, "--version")
	if err != nil || !bytes.Contains(out, []byte("librdkafka")) {
		return fmt.Errorf("%s --version under wine: %v\n%s", exe, err, out)
	}
	step(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])+" starts under wine", t)
	return nil
}

// buildMSI makes the .msi of the program as shipped, as make package does.
func buildMSI(ctx context.Context, o options, work string) (string, error) {
	t := time.Now()
	dist := filepath.Join(work, "dist")
	out, err := exec.CommandContext(ctx, "go", "run", "./packaging/build", "-msi-only", "-version", o.version,
		"-windows-exe", o.exe, "-out", dist).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the .msi: %v\n%s", err, out)
	}
	msis, _ := filepath.Glob(filepath.Join(dist, "*.msi"))
	if len(msis) != 1 {
		return "", fmt.Errorf("packaging/build made %d .msi files in %s, want 1", len(msis), dist)
	}
	step("built "+filepath.Base(msis[0]), t)
	return msis[0], nil
}
