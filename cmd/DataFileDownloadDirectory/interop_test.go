package main_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// TestInteropWithOpenMSIStreamUploaders uploads a folder with the real
// Python DataFileUploadDirectory and a single file with UploadDataFile,
// both from PyPI, and checks that this program rebuilds them byte for byte,
// reading the very config file the Python programs use.
func TestInteropWithOpenMSIStreamUploaders(t *testing.T) {
	venv := os.Getenv("DFDD_PYTHON_VENV")
	if venv == "" {
		if runtime.GOOS == "windows" {
			t.Skip("runs the Python OpenMSIStream, which the tests set up on Linux only (make test runs this there)")
		}
		testkit.Need(t, "DFDD_PYTHON_VENV is not set: run through `make test`, which installs the real OpenMSIStream")
	}
	topic, _ := setup(t, 4)
	cfg, err := filepath.Abs("../../test/python/local_broker.config")
	if err != nil {
		t.Fatal(err)
	}
	upload := t.TempDir()
	files := map[string][]byte{
		"scan_0001.tif":                  randomData(10, 1_000_000),
		"2026/run 7/spectrum.csv":        bytes.Repeat([]byte("1.0,2.0,3.0\n"), 20_000),
		"2026/run 7/deeper/metadata.txt": []byte("instrument = XRD\n"),
		"2026/exactly_64KiB.bin":         randomData(11, 65536),
	}
	for rel, data := range files {
		p := filepath.Join(upload, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	single := filepath.Join(t.TempDir(), "single_file.h5")
	singleData := randomData(12, 300_000)
	os.WriteFile(single, singleData, 0o644)

	env := append(os.Environ(), "LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS="+kafkatest.Bootstrap())
	out := t.TempDir()
	p := start(t, true, out, "--config", cfg, "--topic_name", topic)

	// DataFileUploadDirectory runs until it reads "q", and writes its
	// registry of uploaded files on the way out.
	up := exec.Command(filepath.Join(venv, "bin", "DataFileUploadDirectory"), upload,
		"--config", cfg, "--topic_name", topic, "--upload_existing", "--chunk_size", "16384")
	up.Env = env
	var upOut bytes.Buffer
	up.Stdout, up.Stderr = &upOut, &upOut
	upIn, _ := up.StdinPipe()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	defer up.Process.Kill()
	waitFor(t, "the folder uploaded by DataFileUploadDirectory", 2*time.Minute, func() bool {
		for rel, data := range files {
			if !sameFile(filepath.Join(out, filepath.FromSlash(rel)), data) {
				return false
			}
		}
		return true
	})
	io.WriteString(upIn, "q\n")
	if err := up.Wait(); err != nil {
		t.Fatalf("DataFileUploadDirectory: %v\n%s", err, upOut.String())
	}
	registry, _ := os.ReadFile(filepath.Join(upload, "LOGS", "uploaded_to_"+topic+".csv"))
	for rel := range files {
		if !strings.Contains(string(registry), "'"+rel+"'") {
			t.Errorf("OpenMSIStream's registry does not list %s as uploaded:\n%s", rel, registry)
		}
	}

	one := exec.Command(filepath.Join(venv, "bin", "UploadDataFile"), single,
		"--config", cfg, "--topic_name", topic, "--chunk_size", "4096")
	one.Env = env
	if b, err := one.CombinedOutput(); err != nil {
		t.Fatalf("UploadDataFile: %v\n%s", err, b)
	}
	files["single_file.h5"] = singleData

	waitFor(t, "every uploaded file", 2*time.Minute, func() bool {
		for rel, data := range files {
			if !sameFile(filepath.Join(out, filepath.FromSlash(rel)), data) {
				return false
			}
		}
		return true
	})
	io.WriteString(p.stdin, "q\n")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	want := fmt.Sprintf("%d files were successfully reconstructed", len(files))
	if !strings.Contains(p.Output(), want) {
		t.Fatalf("summary lacks %q:\n%s", want, p.Output())
	}
}
