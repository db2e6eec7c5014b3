//go:build !windows

// Command bench measures, against one local Kafka broker and on the same
// topics, a bare consumer that throws every message away, this program
// (default --n_threads and 4) and the Python original, on the workloads of
// issue 7, and prints a Markdown table of medians. `make bench` runs it at
// full size; `make test` runs a small smoke version.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

const (
	MiB       = 1 << 20
	chunkSize = 512 << 10
)

type workload struct {
	name, desc string
	files      int
	fileSize   int64
	python     bool // uploaded by the real OpenMSIStream uploader
}

func workloads(scale float64) []workload {
	n := func(v float64, lo int) int { return max(lo, int(v*scale+0.5)) }
	return []workload{
		{"A", "1 GiB in 64 files of 16 MiB", n(64, 1), 16 * MiB, false},
		{"B", "1 file of 2 GiB", 1, max(16*MiB, int64(float64(2048*MiB)*scale)), false},
		{"C", "5000 files of 64 KiB", n(5000, 20), 64 << 10, false},
		{"D", "as A, uploaded by Python DataFileUploadDirectory", n(64, 1), 16 * MiB, true},
	}
}

// result is one measurement.
type result struct {
	seconds float64
	rssMiB  float64
	cpu     float64
}

type row struct {
	workload, client string
	bytes            int64
	files            int
	runs             []result
}

func (r row) median() result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(r.runs))
		for i, x := range r.runs {
			v[i] = f(x)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return result{pick(func(x result) float64 { return x.seconds }), pick(func(x result) float64 { return x.rssMiB }), pick(func(x result) float64 { return x.cpu })}
}

// threadCounts are the --n_threads values this program runs with (-threads).
var threadCounts []int

type bench struct {
	bootstrap string
	bin, venv string
	// baseline, if set, is another build of this program measured
	// alongside, on the same topics, to compare versions under the same load.
	baseline string
	repo     string
	work     string
	config   string
	runs     int
	log      io.Writer
	// profiles, if set, is a folder that receives CPU and allocation
	// profiles of every run of this program.
	profiles string
	profiled int
	// deferDeletes keeps the clients' outputs until the workload ends
	// (workloads of many files): on a filesystem without a journal, as on
	// this project's test machine, ext4 skips every inode deleted in the
	// last minutes when it allocates one (recently_deleted: 40 % of the CPU
	// of creating 64 KiB files after 4000 were deleted), so deleting one
	// client's 5000 files slowed the next client's creates, whichever it was.
	deferDeletes bool
	outputs      []string
}

// dispose removes a client's output now, or at the end of the workload.
func (b *bench) dispose(out string) {
	if b.deferDeletes {
		b.outputs = append(b.outputs, out)
		return
	}
	os.RemoveAll(out)
}

func main() {
	scale := flag.Float64("scale", 1, "size of the workloads relative to issue 7's")
	runs := flag.Int("runs", 3, "measurements of each client per workload (the median is reported)")
	only := flag.String("workloads", "A,B,C,D", "workloads to run")
	bin := flag.String("bin", "bin/DataFileDownloadDirectory", "this program")
	venv := flag.String("venv", "build/venv", "virtual environment with OpenMSIStream; empty skips Python")
	out := flag.String("out", "", "also write the Markdown table to this file")
	profiles := flag.String("profile", "", "write pprof CPU and allocation profiles of this program's runs to this folder")
	baseline := flag.String("baseline", "", "another build of this program to measure alongside (2 consumers)")
	threads := flag.String("threads", "2,4", "the --n_threads values this program is measured with (1,2,4 shows the scaling)")
	flag.Parse()
	for _, t := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: -threads %q: want numbers of consumers such as 1,2,4\n", *threads)
			os.Exit(2)
		}
		threadCounts = append(threadCounts, n)
	}
	if err := run(*scale, *runs, *only, *bin, *venv, *out, *profiles, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(scale float64, runs int, only, bin, venv, out, profiles, baseline string) error {
	ctx := context.Background()
	repo, _ := os.Getwd()
	b := &bench{bin: mustAbs(bin), repo: repo, runs: runs, log: os.Stderr}
	if venv != "" {
		b.venv = mustAbs(venv)
	}
	if baseline != "" {
		b.baseline = mustAbs(baseline)
	}
	var err error
	if profiles != "" {
		b.profiles = mustAbs(profiles)
		if err := os.MkdirAll(b.profiles, 0o755); err != nil {
			return err
		}
	}
	if b.work, err = os.MkdirTemp("", "dfdd-bench"); err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	b.bootstrap = os.Getenv("KAFKA_BOOTSTRAP")
	if b.bootstrap == "" {
		broker, err := kafkatest.Start(ctx, filepath.Join(b.work, "broker"))
		if err != nil {
			return err
		}
		defer broker.Stop()
		b.bootstrap = broker.Bootstrap()
	}
	b.config = filepath.Join(repo, "test", "python", "local_broker.config")
	os.Setenv("LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS", b.bootstrap)

	var rows []row
	var latency []float64
	for _, w := range workloads(scale) {
		if !strings.Contains(","+only+",", ","+w.name+",") || (w.python && b.venv == "") {
			continue
		}
		r, err := b.workload(ctx, w)
		if err != nil {
			return fmt.Errorf("workload %s: %w", w.name, err)
		}
		rows = append(rows, r...)
	}
	if strings.Contains(only, "A") {
		if latency, err = b.latency(ctx, 5); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	table := report(rows, latency, scale, runs)
	fmt.Print(table)
	if out != "" {
		return os.WriteFile(out, []byte(table), 0o644)
	}
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// workload makes the files, uploads them once and measures every client on
// the same topic.
func (b *bench) workload(ctx context.Context, w workload) ([]row, error) {
	src := filepath.Join(b.work, "src_"+w.name)
	sums, err := makeFiles(src, w)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(src)
	topic := fmt.Sprintf("bench_%s_%d", w.name, time.Now().UnixNano())
	if err := kafkatest.CreateTopic(ctx, b.bootstrap, topic, 4); err != nil {
		return nil, err
	}
	total := int64(w.files) * w.fileSize
	b.deferDeletes = w.files >= 1000
	defer func() {
		for _, out := range b.outputs {
			os.RemoveAll(out)
		}
		b.outputs = nil
	}()
	b.logf("workload %s (%s): %d files, %d MiB; uploading", w.name, w.desc, w.files, total/MiB)
	var nmsgs int
	if w.python {
		if nmsgs, err = b.pythonUpload(ctx, src, topic, w); err != nil {
			return nil, err
		}
	} else if nmsgs, err = b.goUpload(ctx, src, topic); err != nil {
		return nil, err
	}

	clients := []struct {
		name string
		run  func() (result, error)
	}{
		{"bare consumer (librdkafka)", func() (result, error) { return b.bare(topic, nmsgs) }},
	}
	for _, n := range threadCounts {
		name := fmt.Sprintf("this program, %d consumers", n)
		if n == 1 {
			name = "this program, 1 consumer"
		}
		clients = append(clients, struct {
			name string
			run  func() (result, error)
		}{name, func() (result, error) { return b.ours(b.bin, topic, sums, n) }})
	}
	if b.baseline != "" {
		clients = append(clients, struct {
			name string
			run  func() (result, error)
		}{"baseline build, 2 consumers", func() (result, error) { return b.ours(b.baseline, topic, sums, 2) }})
	}
	if b.venv != "" {
		clients = append(clients, struct {
			name string
			run  func() (result, error)
		}{"Python DataFileDownloadDirectory 1.8.8", func() (result, error) { return b.python(topic, sums) }})
	}
	// One unmeasured read first: the first reader after the upload paid
	// for the broker's cold reads (the bare consumer, always first, took
	// 13.7 s instead of 1.6-4.7 s for workload B), which made every ratio
	// to the bare consumer look better than it is.
	warm, err := b.bare(topic, nmsgs)
	if err != nil {
		return nil, fmt.Errorf("warm-up read: %w", err)
	}
	b.logf("  warm-up read (not measured): %.2f s", warm.seconds)
	rows := make([]row, len(clients))
	for i, c := range clients {
		rows[i] = row{workload: w.name + ": " + w.desc, client: c.name, bytes: total, files: w.files}
	}
	// Runs take turns, so that a change in the machine's load (it may be
	// shared) affects every client alike.
	for run := range b.runs {
		for i, c := range clients {
			res, err := c.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			b.logf("  %s run %d: %.2f s, %.0f MiB RSS, %.1f s CPU", c.name, run+1, res.seconds, res.rssMiB, res.cpu)
			rows[i].runs = append(rows[i].runs, res)
		}
	}
	return rows, nil
}

// makeFiles writes the workload's random files and returns their SHA-256.
func makeFiles(dir string, w workload) (map[string][32]byte, error) {
	rng := rand.NewChaCha8([32]byte{byte(w.name[0])})
	sums := make(map[string][32]byte)
	buf := make([]byte, 4*MiB)
	for i := range w.files {
		rel := fmt.Sprintf("run_%02d/file_%05d.bin", i%10, i)
		if w.files == 1 {
			rel = "big/file.bin"
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		for left := w.fileSize; left > 0; {
			n := min(left, int64(len(buf)))
			rng.Read(buf[:n])
			h.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				f.Close()
				return nil, err
			}
			left -= n
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		sums[rel] = [32]byte(h.Sum(nil))
	}
	return sums, nil
}

// goUpload produces the files in batches of about 256 MiB: one producer per
// file would make the 5000-file workload's upload take minutes.
func (b *bench) goUpload(ctx context.Context, src, topic string) (int, error) {
	n := 0
	var batch []uploadtest.Message
	var batchBytes int
	flush := func() error {
		err := uploadtest.Produce(ctx, b.bootstrap, topic, batch)
		batch, batchBytes = nil, 0
		return err
	}
	err := filepathWalkFiles(src, func(rel string, data []byte) error {
		msgs := uploadtest.FileChunks(data, rel, chunkSize, uploadtest.Options{Mtime: 1700000000})
		n += len(msgs)
		batch = append(batch, msgs...)
		if batchBytes += len(data); batchBytes >= 256*MiB {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return n, err
}

func filepathWalkFiles(root string, fn func(rel string, data []byte) error) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), data)
	})
}

// pythonUpload uploads with the real DataFileUploadDirectory.
func (b *bench) pythonUpload(ctx context.Context, src, topic string, w workload) (int, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(b.venv, "bin", "python"), filepath.Join(b.repo, "test", "python", "upload_dir.py"),
		src, "--config", b.config, "--topic_name", topic, "--chunk_size", strconv.Itoa(chunkSize), "--timeout", "1800",
		"--log", filepath.Join(b.work, "upload_"+w.name+".log"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("upload_dir.py: %v\n%s", err, out)
	}
	perFile := int((w.fileSize + chunkSize - 1) / chunkSize)
	return perFile * w.files, nil
}
