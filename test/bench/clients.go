//go:build !windows

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// bare reads every message of the topic with one librdkafka consumer and
// throws it away: the limit of the broker and the client library here.
func (b *bench) bare(topic string, want int) (result, error) {
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": b.bootstrap, "group.id": fmt.Sprintf("bare_%d", time.Now().UnixNano()),
		"auto.offset.reset": "earliest", "enable.auto.commit": false,
		"go.logs.channel.enable": true, "log_level": 3,
	})
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	go func() {
		for range c.Logs() {
		}
	}()
	if err := c.Subscribe(topic, nil); err != nil {
		return result{}, err
	}
	got := 0
	deadline := time.Now().Add(30 * time.Minute)
	for got < want {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("read %d of %d messages", got, want)
		}
		if m, ok := c.Poll(100).(*kafka.Message); ok && m.TopicPartition.Error == nil {
			got++
		}
	}
	secs := time.Since(start).Seconds()
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)
	return result{seconds: secs, cpu: cpu}, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// ours runs this program until every file is published (it publishes only
// complete, verified files, so presence with the right size means done).
func (b *bench) ours(bin, topic string, sums map[string][32]byte, threads int) (result, error) {
	out, err := os.MkdirTemp(b.work, "ours")
	if err != nil {
		return result{}, err
	}
	defer b.dispose(out)
	cmd := exec.Command(bin, out, "--config", b.config, "--topic_name", topic, "--n_threads", strconv.Itoa(threads),
		"--update_seconds", "-1", "--logger_stream_level", "warning")
	if b.profiles != "" && bin == b.bin {
		// The environment variables of cmd/DataFileDownloadDirectory/profile.go.
		b.profiled++
		name := filepath.Join(b.profiles, fmt.Sprintf("%s_n%d_%d", strings.SplitN(topic, "_", 3)[1], threads, b.profiled))
		cmd.Env = append(os.Environ(), "DFDD_CPUPROFILE="+name+".cpu.pprof", "DFDD_MEMPROFILE="+name+".allocs.pprof")
	}
	return b.measure(cmd, out, sums, false)
}

// python runs the original until every file has its final content (it
// writes in place under the final name, so only the content tells).
func (b *bench) python(topic string, sums map[string][32]byte) (result, error) {
	out, err := os.MkdirTemp(b.work, "python")
	if err != nil {
		return result{}, err
	}
	defer b.dispose(out)
	cmd := exec.Command(filepath.Join(b.venv, "bin", "DataFileDownloadDirectory"), out, "--config", b.config,
		"--topic_name", topic, "--n_threads", "2", "--logger_file_path", filepath.Join(b.work, "python.log"))
	return b.measure(cmd, out, sums, true)
}

func (b *bench) measure(cmd *exec.Cmd, out string, sums map[string][32]byte, checkContent bool) (result, error) {
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	stdin, err := cmd.StdinPipe() // kept open: Python treats EOF as endless empty input
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer cmd.Process.Kill()
	// Files still to come, by folder. Each look reads the folders' listings
	// and stats only the names they show: stat-ing every missing file of a
	// 5000-file workload took 7 ms per look, on a core the measured client
	// needs.
	remaining := make(map[string]map[string][32]byte)
	left := 0
	for rel, sum := range sums {
		dir, name := path.Split(rel)
		if remaining[dir] == nil {
			remaining[dir] = make(map[string][32]byte)
		}
		remaining[dir][name] = sum
		left++
	}
	sizes := make(map[string]int64)
	var peak float64
	deadline := time.Now().Add(60 * time.Minute)
	for left > 0 {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("%d files not done after an hour\n%s", left, output.String())
		}
		for dir, names := range remaining {
			entries, err := os.ReadDir(filepath.Join(out, filepath.FromSlash(dir)))
			if err != nil {
				continue
			}
			for _, ent := range entries {
				sum, ok := names[ent.Name()]
				if !ok {
					continue
				}
				rel := dir + ent.Name()
				if checkContent {
					p := filepath.Join(out, filepath.FromSlash(rel))
					st, err := os.Stat(p)
					if err != nil || st.Size() == sizes[rel] {
						continue // unchanged since the last look
					}
					sizes[rel] = st.Size()
					if s, err := fileSHA256(p); err != nil || s != sum {
						sizes[rel] = -1 // look again: it may still be written to in place
						continue
					}
				}
				delete(names, ent.Name())
				left--
			}
			if len(names) == 0 {
				delete(remaining, dir)
			}
		}
		peak = max(peak, peakRSS(cmd.Process.Pid))
		if left > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	peak = max(peak, peakRSS(cmd.Process.Pid))
	secs := time.Since(start).Seconds()
	io.WriteString(stdin, "q\n")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return result{}, fmt.Errorf("exit: %v\n%s", err, output.String())
		}
	case <-time.After(2 * time.Minute):
		return result{}, errors.New("did not stop within 2 minutes of q")
	}
	// Byte-for-byte check of everything, outside the timing.
	for rel, sum := range sums {
		if s, err := fileSHA256(filepath.Join(out, filepath.FromSlash(rel))); err != nil || s != sum {
			return result{}, fmt.Errorf("%s differs from the uploaded file", rel)
		}
	}
	// Not rusage's maxrss: Linux counts the forking parent's memory in it.
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{seconds: secs, rssMiB: peak, cpu: tv(ru.Utime) + tv(ru.Stime)}, nil
}

// peakRSS reads a process's peak resident memory (VmHWM) in MiB.
func peakRSS(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func fileSHA256(p string) ([32]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, MiB)); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

// latency measures, with this program running and caught up, the time from
// the delivery of a 16 MiB file's last chunk to the file's appearance under
// its final name.
func (b *bench) latency(ctx context.Context, samples int) ([]float64, error) {
	topic := fmt.Sprintf("bench_latency_%d", time.Now().UnixNano())
	if err := kafkatest.CreateTopic(ctx, b.bootstrap, topic, 4); err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp(b.work, "latency")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	cmd := exec.Command(b.bin, out, "--config", b.config, "--topic_name", topic, "--update_seconds", "-1", "--logger_stream_level", "warning")
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		io.WriteString(stdin, "q\n")
		cmd.Wait()
	}()
	rng := rand.NewChaCha8([32]byte{42})
	var lat []float64
	for i := range samples + 1 {
		data := make([]byte, 16*MiB)
		rng.Read(data)
		rel := fmt.Sprintf("latency/file_%d.bin", i)
		if err := uploadtest.Produce(ctx, b.bootstrap, topic, uploadtest.FileChunks(data, rel, chunkSize, uploadtest.Options{})); err != nil {
			return nil, err
		}
		delivered := time.Now()
		p := filepath.Join(out, filepath.FromSlash(rel))
		for {
			if _, err := os.Stat(p); err == nil {
				break
			}
			if time.Since(delivered) > 2*time.Minute {
				return nil, fmt.Errorf("%s never appeared", rel)
			}
			time.Sleep(time.Millisecond)
		}
		if i > 0 { // the first includes joining the group
			lat = append(lat, time.Since(delivered).Seconds())
		}
	}
	slices.Sort(lat)
	return lat, nil
}
