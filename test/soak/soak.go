// Package soak streams many files through a real broker into the built
// DataFileDownloadDirectory while killing it with SIGKILL at random
// moments and starting it again with the same consumer group, and checks
// what a user relies on: every file arrives byte for byte, no file is ever
// visible under its final name before it is whole, nothing partial is left
// in the state folder, and (for long runs) memory, open files, threads and
// goroutines stay flat. The end-to-end test (cmd/DataFileDownloadDirectory,
// TestKillAndRestart) and `make soak` (test/soak/run) both drive it.
package soak

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/test/terminate"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// Options describe one run. Zero values take the defaults noted.
type Options struct {
	Binary string   // the program under test
	Args   []string // its arguments: output folder, --config, --topic_name, --consumer_group_id ...
	Env    []string // added to its environment
	Out    string   // its output folder

	Bootstrap, Topic string // where files are uploaded

	// Uploads stop after TotalBytes, or after Duration when TotalBytes is 0.
	TotalBytes int64
	Duration   time.Duration
	// Rate paces the uploads in bytes per second (0: as fast as possible).
	Rate int64
	// MinFileSize..MaxFileSize (1 MiB..6 MiB) bound the file sizes.
	MinFileSize, MaxFileSize int
	ChunkSize                int // 256 KiB
	// Files are uploaded in groups of Interleave (4) whose chunks are
	// shuffled together, so that several files are always in progress.
	Interleave int

	// Each run of the program is killed with SIGKILL a random time in
	// [KillMin, KillMax] after it has begun to store data; at least
	// MinKills kills happen, and kills go on until the uploads are done.
	KillMin, KillMax time.Duration
	MinKills         int
	// FinishTimeout bounds the last run, which must complete every file
	// (2 minutes).
	FinishTimeout time.Duration

	// SampleEvery > 0 samples the program's RSS, open files, threads and
	// (with the debug server, app.DebugAddrEnv) goroutines.
	SampleEvery time.Duration

	Seed uint64
	Logf func(format string, args ...any)
}

// Sample is one measurement of the running program.
type Sample struct {
	At         time.Duration // since the start of the soak
	Life       int           // which run of the program (0-based)
	RSS        int64         // bytes, VmRSS
	FDs        int           // entries in /proc/PID/fd
	PartialFDs int           // of which partial files and journals (2 per file in progress)
	Threads    int           // OS threads, /proc/PID/status
	Goroutines int           // -1 when the debug server is not reachable
}

// Report is what a run found.
type Report struct {
	Kills       int
	Resumed     int // "chunks already on disk" lines: restarts that resumed half-received files
	Files       int // files uploaded and verified
	Bytes       int64
	Messages    int
	PeakRSS     int64 // VmHWM, highest over every run of the program
	Samples     []Sample
	Elapsed     time.Duration
	LastOutput  string // output of the last run
	WatchChecks int    // folder scans by the watcher
}

type expectation struct {
	sum  [sha512.Size]byte
	size int64
}

// fileData is file i's content, cheap to make and to check: 64 KiB blocks
// of one random base block, each stamped with its file and block number, so
// that a block in the wrong place or the wrong file is caught, while the
// producer's lz4 keeps the broker's disk use low.
func fileData(base []byte, seed uint64, i, size int) []byte {
	b := make([]byte, size)
	for off, blk := 0, 0; off < size; off, blk = off+len(base), blk+1 {
		n := copy(b[off:], base)
		var stamp [24]byte
		binary.LittleEndian.PutUint64(stamp[0:], seed)
		binary.LittleEndian.PutUint64(stamp[8:], uint64(i))
		binary.LittleEndian.PutUint64(stamp[16:], uint64(blk))
		copy(b[off:off+n], stamp[:min(n, len(stamp))])
	}
	return b
}

func (o *Options) defaults() {
	if o.MinFileSize == 0 {
		o.MinFileSize = 1 << 20
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = 6 << 20
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 256 << 10
	}
	if o.Interleave == 0 {
		o.Interleave = 4
	}
	if o.FinishTimeout == 0 {
		o.FinishTimeout = 2 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Run does the soak. It returns the report so far with the first failure.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	start := time.Now()
	rep := &Report{}
	r := rand.New(rand.NewPCG(o.Seed, 1))
	base := make([]byte, 64<<10)
	for i := range base {
		base[i] = byte(r.Uint32())
	}

	var mu sync.Mutex
	expected := map[string]expectation{}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The watcher.
	w := &watcher{out: o.Out, expected: expected, mu: &mu, verified: map[string]fileKey{}}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		w.run(ctx)
	}()

	// The uploader.
	uploadDone := make(chan error, 1)
	go func() {
		uploadDone <- upload(ctx, &o, r.Uint64(), base, &mu, expected, rep)
	}()

	var uploadErr error
	uploading := true
	life := 0
	for uploading || rep.Kills < o.MinKills {
		p, err := startProgram(&o)
		if err != nil {
			return rep, err
		}
		stopSampling := p.sample(ctx, &o, start, life, rep)
		// The random moment is counted from the first sign of work (joining
		// the group takes a few seconds), so that kills land mid-stream
		// rather than mid-join.
		began := progress(o.Out, w)
		for i := 0; i < 600 && progress(o.Out, w) == began && ctx.Err() == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		wait := o.KillMin + time.Duration(r.Int64N(int64(o.KillMax-o.KillMin)+1))
		select {
		case <-time.After(wait):
		case <-p.done:
		case <-ctx.Done():
		}
		// Then, for a little while, wait for a moment when a half-received
		// file has chunks in its journal, so that kills test resuming and
		// not only a restart from scratch: on a fast machine files of a
		// few MiB complete between two journal flushes (one a second).
		for deadline := time.Now().Add(3 * time.Second); !halfJournaled(o.Out) && time.Now().Before(deadline) && ctx.Err() == nil; {
			time.Sleep(10 * time.Millisecond)
		}
		select {
		case <-p.done:
			stopSampling()
			return rep, fmt.Errorf("the program exited by itself (%v) after %s:\n%s", p.err, wait, tail(p.output(), 40))
		default:
		}
		rep.PeakRSS = max(rep.PeakRSS, peakRSS(p.cmd.Process.Pid))
		stopSampling()
		hj := halfJournaled(o.Out)
		p.cmd.Process.Kill()
		<-p.done
		rep.Kills++
		rep.Resumed += strings.Count(p.output(), "chunks already on disk")
		life++
		if err := w.failure(); err != nil {
			return rep, err
		}
		if uploading {
			select {
			case uploadErr = <-uploadDone:
				uploading = false
				if uploadErr != nil {
					return rep, uploadErr
				}
			default:
			}
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		mu.Lock()
		files := rep.Files
		mu.Unlock()
		o.Logf("kill %d after %s; %d files uploaded so far; journaled %v", rep.Kills, wait.Round(time.Millisecond), files, hj)
	}

	// The last run must finish everything and stop cleanly.
	p, err := startProgram(&o)
	if err != nil {
		return rep, err
	}
	stopSampling := p.sample(ctx, &o, start, life, rep)
	deadline := time.Now().Add(o.FinishTimeout)
	for !w.allVerified() {
		if err := w.failure(); err != nil {
			stopSampling()
			return rep, err
		}
		if time.Now().After(deadline) {
			stopSampling()
			missing := w.missing()
			return rep, fmt.Errorf("after the last restart, %d of %d files still missing after %s (e.g. %s); program output:\n%s",
				len(missing), len(expected), o.FinishTimeout, strings.Join(missing[:min(5, len(missing))], ", "), tail(p.output(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let the last barrier commit, then stop as a user would.
	time.Sleep(1500 * time.Millisecond)
	rep.PeakRSS = max(rep.PeakRSS, peakRSS(p.cmd.Process.Pid))
	stopSampling()
	if err := terminate.Ask(p.cmd); err != nil {
		p.cmd.Process.Kill()
		<-p.done
		return rep, err
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return rep, errors.New("the program did not stop within 30 s of the stop request")
	}
	rep.LastOutput = p.output()
	rep.Resumed += strings.Count(rep.LastOutput, "chunks already on disk")
	if p.err != nil {
		return rep, fmt.Errorf("the last run ended with %v:\n%s", p.err, tail(rep.LastOutput, 40))
	}
	cancel()
	<-watchDone
	rep.WatchChecks = w.scans
	if err := w.failure(); err != nil {
		return rep, err
	}
	// A final scan: what is there is exactly what was uploaded.
	if err := w.scan(true); err != nil {
		return rep, err
	}
	partial, err := os.ReadDir(filepath.Join(o.Out, ".datafiledownloaddirectory", "partial"))
	if err != nil {
		return rep, err
	}
	if len(partial) > 0 {
		var names []string
		for _, e := range partial {
			names = append(names, e.Name())
		}
		return rep, fmt.Errorf("partial data left in the state folder: %s", strings.Join(names, ", "))
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// upload makes and produces files until the byte total or the duration is
// reached.
func upload(ctx context.Context, o *Options, seed uint64, base []byte, mu *sync.Mutex, expected map[string]expectation, rep *Report) error {
	r := rand.New(rand.NewPCG(seed, 2))
	start := time.Now()
	var sent, paced int64 // file bytes made, message bytes produced
	for i := 0; ; {
		if o.TotalBytes > 0 && sent >= o.TotalBytes || o.TotalBytes == 0 && time.Since(start) >= o.Duration {
			return nil
		}
		var msgs []uploadtest.Message
		for range o.Interleave {
			size := o.MinFileSize + r.IntN(o.MaxFileSize-o.MinFileSize+1)
			data := fileData(base, seed, i, size)
			rel := fmt.Sprintf("run%02d/sample_%05d.dat", i/50, i)
			mu.Lock()
			expected[rel] = expectation{sum: sha512.Sum512(data), size: int64(size)}
			rep.Files++
			rep.Bytes += int64(size)
			mu.Unlock()
			msgs = append(msgs, uploadtest.FileChunks(data, rel, o.ChunkSize, uploadtest.Options{Mtime: 1700000000 + float64(i)})...)
			sent += int64(size)
			i++
		}
		r.Shuffle(len(msgs), func(a, b int) { msgs[a], msgs[b] = msgs[b], msgs[a] })
		// Half a second's worth per batch (at least 8 chunks), so that at a
		// low rate files still trickle in and kills land mid-file.
		batch := len(msgs)
		if o.Rate > 0 {
			batch = max(8, int(o.Rate/2)/o.ChunkSize)
		}
		for j := 0; j < len(msgs); j += batch {
			part := msgs[j:min(j+batch, len(msgs))]
			if err := uploadtest.Produce(ctx, o.Bootstrap, o.Topic, part); err != nil {
				return fmt.Errorf("upload: %w", err)
			}
			mu.Lock()
			rep.Messages += len(part)
			mu.Unlock()
			if o.Rate > 0 {
				for _, m := range part {
					paced += int64(len(m.Value))
				}
				due := start.Add(time.Duration(float64(paced) / float64(o.Rate) * float64(time.Second)))
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Until(due)):
				}
			}
		}
	}
}

// halfJournaled tells whether the journal of a file still being received
// lists chunks.
func halfJournaled(out string) bool {
	dir := filepath.Join(out, ".datafiledownloaddirectory", "partial")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".journal") {
			continue
		}
		// Chunks recorded and not complete: a finished file's journal stays
		// until the next barrier, and a kill then resumes nothing.
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if chunks, complete, err := storage.DescribeJournal(b); err == nil && chunks > 0 && !complete {
			return true
		}
	}
	return false
}

// progress changes whenever the program stores or publishes data: the
// bytes in the state folder and the files verified.
func progress(out string, w *watcher) [2]int64 {
	var n int64
	ents, _ := os.ReadDir(filepath.Join(out, ".datafiledownloaddirectory", "partial"))
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return [2]int64{n, int64(len(w.verified))}
}

type fileKey struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// watcher samples the output folder and checks every file it sees.
type watcher struct {
	out      string
	expected map[string]expectation
	mu       *sync.Mutex

	verified map[string]fileKey // checked and unchanged since; guarded by mu
	failed   error
	scans    int
}

func (w *watcher) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := w.scan(false); err != nil {
			w.mu.Lock()
			if w.failed == nil {
				w.failed = err
			}
			w.mu.Unlock()
			return
		}
		w.scans++
		select {
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (w *watcher) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// scan checks every file in the output folder; with all, also those
// verified before.
func (w *watcher) scan(all bool) error {
	return filepath.WalkDir(w.out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if d.IsDir() {
			if d.Name() == ".datafiledownloaddirectory" {
				return fs.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(w.out, p)
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return nil // gone since the directory was read
		}
		key := fileKey{size: info.Size(), mtime: info.ModTime(), ino: inode(info)}
		w.mu.Lock()
		want, ok := w.expected[rel]
		seen, checked := w.verified[rel]
		w.mu.Unlock()
		if !ok {
			return fmt.Errorf("unexpected file %s in the output folder", rel)
		}
		if checked && seen == key && !all {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil // removed meanwhile
		}
		if int64(len(raw)) != want.size || sha512.Sum512(raw) != want.sum {
			return fmt.Errorf("%s visible under its final name with %d bytes that are not the %d uploaded", rel, len(raw), want.size)
		}
		w.mu.Lock()
		w.verified[rel] = key
		w.mu.Unlock()
		return nil
	})
}

func (w *watcher) allVerified() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.verified) == len(w.expected)
}

func (w *watcher) missing() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var m []string
	for rel := range w.expected {
		if _, ok := w.verified[rel]; !ok {
			m = append(m, rel)
		}
	}
	sort.Strings(m)
	return m
}

// program is one run of the binary.
type program struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *program) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *program) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startProgram(o *Options) (*program, error) {
	p := &program{cmd: exec.Command(o.Binary, o.Args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), o.Env...)
	if o.SampleEvery > 0 {
		p.cmd.Env = append(p.cmd.Env, "DFDD_DEBUG_ADDR=127.0.0.1:0")
	}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	terminate.Prepare(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

var debugURL = regexp.MustCompile(`debug server: Go runtime profiles on (http://\S+/debug/pprof/)`)

// sample measures the program every o.SampleEvery until the returned
// function is called.
func (p *program) sample(ctx context.Context, o *Options, start time.Time, life int, rep *Report) func() {
	if o.SampleEvery <= 0 {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	pid := p.cmd.Process.Pid
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(o.SampleEvery):
			}
			s := Sample{At: time.Since(start), Life: life, Goroutines: -1}
			s.RSS, s.Threads = procStatus(pid)
			s.FDs, s.PartialFDs = openFiles(pid, filepath.Join(o.Out, ".datafiledownloaddirectory", "partial"))
			if m := debugURL.FindStringSubmatch(p.output()); m != nil {
				s.Goroutines = goroutines(client, m[1])
			}
			if s.RSS == 0 {
				continue // exited meanwhile
			}
			p.mu.Lock() // rep.Samples is only appended here, one sampler at a time
			rep.Samples = append(rep.Samples, s)
			p.mu.Unlock()
			o.Logf("sample: life %d, RSS %d MiB, %d fds (%d of files in progress), %d threads, %d goroutines", life, s.RSS>>20, s.FDs, s.PartialFDs, s.Threads, s.Goroutines)
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

// openFiles counts a process's open files, and those in the partial
// folder: how many files are in progress varies with the stream, so a leak
// shows in the others.
func openFiles(pid int, partial string) (all, inPartial int) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, partial+"/") {
			inPartial++
		}
	}
	return len(ents), inPartial
}

// goroutines reads the count from the debug server's goroutine profile,
// whose first line is "goroutine profile: total N".
func goroutines(c *http.Client, base string) int {
	resp, err := c.Get(base + "goroutine?debug=1")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total")))
	if err != nil {
		return -1
	}
	return n
}

// procStatus reads VmRSS and Threads from /proc/PID/status.
func procStatus(pid int) (rss int64, threads int) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb * 1024
		} else if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return rss, threads
}

// peakRSS reads a process's peak resident memory (VmHWM) from /proc.
func peakRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
