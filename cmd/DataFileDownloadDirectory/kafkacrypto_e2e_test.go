package main_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/kctest"
)

// encryptedConfig writes an OpenMSIStream config for a node provisioned in
// dir: the local broker config with [kafkacrypto] node_id, the way a lab
// keeps the node folder beside its config file.
func encryptedConfig(t *testing.T, dir, node string) string {
	t.Helper()
	plain, err := os.ReadFile("../../test/python/local_broker.config")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, node+"_lab.config")
	if err := os.WriteFile(p, append(plain, []byte("\n[kafkacrypto]\nnode_id = "+node+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// uploader is OpenMSIStream's DataFileUploadDirectory with an encrypted
// config. It runs until stop; while it runs, its KafkaCrypto node answers
// key requests. Every start moves its producer to a new key (kafkacrypto
// ratchets its seed at each start).
type uploader struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out bytes.Buffer
}

func startUploader(t *testing.T, py, dir, cfg, topic string) *uploader {
	t.Helper()
	u := &uploader{cmd: exec.Command(filepath.Join(filepath.Dir(py), "DataFileUploadDirectory"), dir,
		"--config", cfg, "--topic_name", topic, "--upload_existing", "--chunk_size", "16384")}
	u.cmd.Env = append(os.Environ(), "LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS="+kafkatest.Bootstrap())
	u.cmd.Stdout, u.cmd.Stderr = &u.out, &u.out
	u.in, _ = u.cmd.StdinPipe()
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.cmd.Process.Kill(); u.cmd.Wait() })
	return u
}

func (u *uploader) stop(t *testing.T) {
	t.Helper()
	io.WriteString(u.in, "q\n")
	done := make(chan error, 1)
	go func() { done <- u.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		u.cmd.Process.Kill()
		t.Fatalf("DataFileUploadDirectory did not stop after q:\n%s", u.out.String())
	}
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var keyReceived = regexp.MustCompile(`received \d+ key\(s\) of "[^"]+" \(key index ([0-9a-f]+)`)

// TestKafkaCryptoInterop: folders uploaded by OpenMSIStream's encrypted
// uploader (kafkacrypto 0.9.11.1 producer node, provisioned under a
// throwaway root of trust) are rebuilt byte for byte by a consumer node of
// the same lab; a second uploader run (a new producer key) is followed,
// also by a downloader restarted in the middle; a node under another root
// gets no key and writes the messages to ENCRYPTED_MESSAGES/ as the
// original does; and messages saved there because their key came late are
// decrypted and rebuilt once it comes.
func TestKafkaCryptoInterop(t *testing.T) {
	py := kctest.Python(t)
	topic, _ := setup(t, 4)
	cfgDir := t.TempDir()
	lab := kctest.NewLab(t, py)
	lab.Node(cfgDir, "uploader", "producer")
	lab.Node(cfgDir, "downloader", "consumer")
	kctest.NewLab(t, py).Node(cfgDir, "stranger", "consumer")
	upCfg := encryptedConfig(t, cfgDir, "uploader")
	downCfg := encryptedConfig(t, cfgDir, "downloader")
	strangerCfg := encryptedConfig(t, cfgDir, "stranger")

	first := map[string][]byte{
		"scan_0001.tif":           randomData(21, 200_000),
		"run 7/spectrum.csv":      bytes.Repeat([]byte("1.0,2.0,3.0\n"), 5_000),
		"run 7/deeper/notes.txt":  []byte("instrument = XRD\n"),
		"exactly_16KiB_chunk.bin": randomData(22, 16384),
	}
	second := map[string][]byte{
		"second/scan_0002.tif": randomData(23, 150_000),
		"second/small.txt":     []byte("after a new producer key\n"),
	}
	upDir := t.TempDir()
	writeFiles(t, upDir, first)

	out := t.TempDir()
	dl := start(t, true, out, "--config", downCfg, "--topic_name", topic, "--consumer_group_id", "kc_"+topic,
		"--max_initial_wait_per_decrypt", "40", "--logger_stream_level", "debug")
	up := startUploader(t, py, upDir, upCfg, topic)
	start1 := time.Now()
	waitFor(t, "the first folder, decrypted", 2*time.Minute, allThere(out, first))
	t.Logf("first folder rebuilt %s after the uploader started", time.Since(start1).Round(time.Second))
	up.stop(t)
	if _, err := os.Stat(filepath.Join(out, "ENCRYPTED_MESSAGES")); err == nil {
		t.Errorf("messages were written to ENCRYPTED_MESSAGES although the key came:\n%s", dl.Output())
	}

	// Stop the downloader, upload more with a new producer key while it
	// is down, and start it again: it resumes from its committed offsets
	// and asks for the new key.
	io.WriteString(dl.stdin, "q\n")
	if code := dl.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	writeFiles(t, upDir, second)
	up = startUploader(t, py, upDir, upCfg, topic)
	time.Sleep(3 * time.Second) // the uploader is sending while the downloader is down
	dl2 := start(t, true, out, "--config", downCfg, "--topic_name", topic, "--consumer_group_id", "kc_"+topic,
		"--max_initial_wait_per_decrypt", "40", "--logger_stream_level", "debug")
	waitFor(t, "the second folder, under a new key", 2*time.Minute, allThere(out, second))
	if !allThere(out, first)() {
		t.Error("a file of the first folder changed")
	}
	keys := map[string]bool{}
	for _, m := range keyReceived.FindAllStringSubmatch(dl.Output()+dl2.Output(), -1) {
		keys[m[1]] = true
	}
	if len(keys) < 2 {
		t.Errorf("expected keys of two producer runs, got %v", keys)
	}

	// A node of another lab gets no key while the uploader runs: every
	// message goes to ENCRYPTED_MESSAGES/ with the original's names, and
	// nothing is rebuilt.
	strangerOut := t.TempDir()
	st := start(t, true, strangerOut, "--config", strangerCfg, "--topic_name", topic, "--max_initial_wait_per_decrypt", "5")
	total := len(first) + len(second)
	waitFor(t, "the stranger's ENCRYPTED_MESSAGES", 2*time.Minute, func() bool {
		n, _ := os.ReadDir(filepath.Join(strangerOut, "ENCRYPTED_MESSAGES"))
		return len(n) >= 2*total
	})
	up.stop(t)
	io.WriteString(st.stdin, "q\n")
	st.wait(t, 30*time.Second)
	names, _ := os.ReadDir(filepath.Join(strangerOut, "ENCRYPTED_MESSAGES"))
	pattern := regexp.MustCompile(`^encrypted_message_from_` + regexp.QuoteMeta(topic) + `_produced_on_[A-Z][a-z]{2}_\d\d_\d{4}_at_\d\d_\d\d_\d\d_\d{6}(_p\d+_o\d+)?_(key|value)\.bin$`)
	for _, e := range names {
		if !pattern.MatchString(e.Name()) {
			t.Errorf("unexpected name in ENCRYPTED_MESSAGES: %s", e.Name())
		}
	}
	for _, want := range []string{"failed to be decrypted", "ENCRYPTED_MESSAGES/encrypted_message_from_" + topic} {
		if !strings.Contains(st.Output(), want) {
			t.Errorf("the stranger's log lacks %q", want)
		}
	}
	if entries, _ := os.ReadDir(strangerOut); len(entries) != 2 { // ENCRYPTED_MESSAGES and the state folder
		t.Errorf("the stranger rebuilt something: %v", entries)
	}
	if !strings.Contains(st.Output(), "written to ENCRYPTED_MESSAGES/") {
		t.Errorf("the summary does not count the saved messages:\n%s", st.Output())
	}

	// A trusted node whose keys come late: with no uploader running, its
	// messages go to ENCRYPTED_MESSAGES/ after the wait; the next uploader
	// run answers its repeated requests (kafkacrypto producers keep their
	// old keys for a week), and the saved messages are rebuilt from there.
	lateOut := t.TempDir()
	late := start(t, true, lateOut, "--config", downCfg, "--topic_name", topic, "--max_initial_wait_per_decrypt", "3")
	waitFor(t, "messages saved for lack of a key", time.Minute, func() bool {
		n, _ := os.ReadDir(filepath.Join(lateOut, "ENCRYPTED_MESSAGES"))
		return len(n) >= 2*total
	})
	third := map[string][]byte{"third/wakeup.txt": []byte("a new upload starts the producer's key exchange\n")}
	writeFiles(t, upDir, third)
	up = startUploader(t, py, upDir, upCfg, topic)
	all := map[string][]byte{}
	for _, m := range []map[string][]byte{first, second, third} {
		for k, v := range m {
			all[k] = v
		}
	}
	waitFor(t, "every file, also from ENCRYPTED_MESSAGES", 3*time.Minute, allThere(lateOut, all))
	up.stop(t)
	waitFor(t, "ENCRYPTED_MESSAGES emptied", 30*time.Second, func() bool {
		n, _ := os.ReadDir(filepath.Join(lateOut, "ENCRYPTED_MESSAGES"))
		return len(n) == 0
	})
	io.WriteString(late.stdin, "q\n")
	if code := late.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
