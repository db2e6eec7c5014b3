//go:build !windows

// Command run is issue 3's long soak (`make soak`, not part of `make
// test`): a broker of its own, files uploaded continuously, the program
// killed with SIGKILL every few minutes and started again with the same
// group, and its RSS, open files, threads and goroutines sampled every
// 10 s. It writes a Markdown report and fails when a file is lost or
// corrupted, or when a resource grows.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/soak"
)

func main() {
	minutes := flag.Float64("minutes", 30, "how long files are uploaded")
	binary := flag.String("binary", "bin/DataFileDownloadDirectory", "the program under test (make build)")
	report := flag.String("report", "test/soak/report.md", "where the Markdown report goes")
	rate := flag.Int64("rate", 2<<20, "upload rate, bytes per second")
	every := flag.Duration("sample", 10*time.Second, "sampling interval")
	keep := flag.Bool("keep", false, "keep the work folder (output files, broker data)")
	flag.Parse()
	if err := run(*minutes, *binary, *report, *rate, *every, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(minutes float64, binary, reportPath string, rate int64, every time.Duration, keep bool) error {
	bin, err := filepath.Abs(binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("no program to test (run make build): %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, err := os.MkdirTemp("", "dfdd-soak-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	logf("work folder %s; starting a broker", work)
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	b, err := kafkatest.Start(startCtx, filepath.Join(work, "broker"))
	cancel()
	if err != nil {
		return err
	}
	defer b.Stop()
	const topic, partitions = "soak", 4
	if err := kafkatest.CreateTopic(ctx, b.Bootstrap(), topic, partitions); err != nil {
		return err
	}
	cfg := filepath.Join(work, "soak.config")
	body := "[broker]\nbootstrap.servers = " + b.Bootstrap() + "\n\n[consumer]\nauto.offset.reset = earliest\nsession.timeout.ms = 6000\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return err
	}
	out := filepath.Join(work, "out")
	d := time.Duration(minutes * float64(time.Minute))
	o := soak.Options{
		Binary:        bin,
		Args:          []string{out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", "soak", "--update_seconds", "-1"},
		Out:           out,
		Bootstrap:     b.Bootstrap(),
		Topic:         topic,
		Duration:      d,
		Rate:          rate,
		KillMin:       d / 15,
		KillMax:       d / 6,
		MinKills:      1,
		FinishTimeout: 5 * time.Minute,
		SampleEvery:   every,
		Seed:          uint64(time.Now().UnixNano()),
		Logf:          logf,
	}
	started := time.Now()
	rep, runErr := soak.Run(ctx, o)
	checks := growthChecks(rep.Samples)
	text := render(o, rep, runErr, checks, started, partitions)
	if err := os.WriteFile(reportPath, []byte(text), 0o644); err != nil {
		return err
	}
	logf("report written to %s", reportPath)
	fmt.Print(text)
	if runErr != nil {
		return runErr
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("check %q failed: %s", c.name, c.detail)
		}
	}
	return nil
}

type check struct {
	name   string
	ok     bool
	detail string
}

// warmUp is left out of each run of the program before comparing: a fresh
// process grows its caches and librdkafka its buffers in its first seconds.
const warmUp = 30 * time.Second

// growthChecks compares the highest value of each resource in the first and
// the second half of the soak (each program run's warm-up left out), with a
// margin for noise: a leak shows as a second half well above the first.
func growthChecks(samples []soak.Sample) []check {
	lifeStart := map[int]time.Duration{}
	for _, s := range samples {
		if t, ok := lifeStart[s.Life]; !ok || s.At < t {
			lifeStart[s.Life] = s.At
		}
	}
	var steady []soak.Sample
	for _, s := range samples {
		if s.At-lifeStart[s.Life] >= warmUp-time.Second {
			steady = append(steady, s)
		}
	}
	if len(steady) < 4 {
		return []check{{name: "samples", ok: false, detail: fmt.Sprintf("only %d samples after warm-up: run longer", len(steady))}}
	}
	mid := (steady[0].At + steady[len(steady)-1].At) / 2
	metric := []struct {
		name        string
		get         func(soak.Sample) float64
		rel, abs    float64
		unit        string
		scale       float64
		unavailable bool
	}{
		{name: "RSS", get: func(s soak.Sample) float64 { return float64(s.RSS) }, rel: 0.25, abs: 16 << 20, unit: " MiB", scale: 1 << 20},
		{name: "open files (other than files in progress)", get: func(s soak.Sample) float64 { return float64(s.FDs - s.PartialFDs) }, abs: 4, scale: 1},
		{name: "OS threads", get: func(s soak.Sample) float64 { return float64(s.Threads) }, abs: 4, scale: 1},
		{name: "goroutines", get: func(s soak.Sample) float64 { return float64(s.Goroutines) }, abs: 10, scale: 1,
			unavailable: slices.ContainsFunc(steady, func(s soak.Sample) bool { return s.Goroutines < 0 })},
	}
	var checks []check
	for _, m := range metric {
		if m.unavailable {
			checks = append(checks, check{name: m.name, ok: false, detail: "not measured: the debug server did not answer"})
			continue
		}
		var first, second float64
		for _, s := range steady {
			if s.At <= mid {
				first = max(first, m.get(s))
			} else {
				second = max(second, m.get(s))
			}
		}
		limit := first*(1+m.rel) + m.abs
		checks = append(checks, check{
			name: m.name,
			ok:   second <= limit,
			detail: fmt.Sprintf("highest %.0f%s in the first half, %.0f%s in the second (limit %.0f%s)",
				first/m.scale, m.unit, second/m.scale, m.unit, limit/m.scale, m.unit),
		})
	}
	return checks
}

func render(o soak.Options, rep *soak.Report, runErr error, checks []check, started time.Time, partitions int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak run (`make soak`)\n\n")
	fmt.Fprintf(&b, "Started %s UTC on %s/%s, %d CPUs; uploads for %s at %.1f MiB/s to a %d-partition topic on one local broker; ",
		started.UTC().Format("2006-01-02 15:04"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), o.Duration, float64(o.Rate)/(1<<20), partitions)
	fmt.Fprintf(&b, "the program killed with SIGKILL %s to %s after it began storing data, then started again with the same group; samples every %s.\n\n",
		o.KillMin.Round(time.Second), o.KillMax.Round(time.Second), o.SampleEvery)
	result := "passed"
	if runErr != nil {
		result = "FAILED: " + runErr.Error()
	}
	fmt.Fprintf(&b, "| figure | value |\n|---|---:|\n")
	fmt.Fprintf(&b, "| result | %s |\n", result)
	fmt.Fprintf(&b, "| SIGKILLs survived | %d |\n", rep.Kills)
	fmt.Fprintf(&b, "| restarts that resumed half-received files | %d |\n", rep.Resumed)
	fmt.Fprintf(&b, "| files moved and verified byte for byte | %d |\n", rep.Files)
	fmt.Fprintf(&b, "| bytes moved | %d (%.2f GiB) |\n", rep.Bytes, float64(rep.Bytes)/(1<<30))
	fmt.Fprintf(&b, "| chunk messages | %d |\n", rep.Messages)
	fmt.Fprintf(&b, "| folder scans by the watcher (no unfinished file seen) | %d |\n", rep.WatchChecks)
	fmt.Fprintf(&b, "| peak RSS (VmHWM, highest over all runs) | %d MiB |\n", rep.PeakRSS>>20)
	fmt.Fprintf(&b, "| wall time | %s |\n\n", rep.Elapsed.Round(time.Second))

	fmt.Fprintf(&b, "Growth checks (highest value in the first vs the second half of the soak, the first %s of each run left out):\n\n", warmUp)
	fmt.Fprintf(&b, "| check | result | figures |\n|---|---|---|\n")
	for _, c := range checks {
		res := "flat"
		if !c.ok {
			res = "**FAILED**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.name, res, c.detail)
	}
	fmt.Fprintf(&b, "\nGoroutines are read from the program's own debug server ($DFDD_DEBUG_ADDR, goroutine profile); RSS, open files (/proc/PID/fd) and OS threads from /proc. Open files in the partial folder (a data file and a journal per file in progress) vary with the stream and are left out of the open-files check.\n\n")

	fmt.Fprintf(&b, "Per run of the program (after warm-up):\n\n| run | samples | RSS MiB min-max | open files min-max | of which files in progress | threads min-max | goroutines min-max |\n|---:|---:|---|---|---|---|---|\n")
	type span struct {
		lo, hi int64
		set    bool
	}
	grow := func(s *span, v int64) {
		if !s.set {
			s.lo, s.hi, s.set = v, v, true
		}
		s.lo, s.hi = min(s.lo, v), max(s.hi, v)
	}
	lives := map[int]*[5]span{}
	counts := map[int]int{}
	lifeStart := map[int]time.Duration{}
	for _, s := range rep.Samples {
		if _, ok := lifeStart[s.Life]; !ok {
			lifeStart[s.Life] = s.At
		}
	}
	var order []int
	for _, s := range rep.Samples {
		if s.At-lifeStart[s.Life] < warmUp-time.Second {
			continue
		}
		l, ok := lives[s.Life]
		if !ok {
			l = &[5]span{}
			lives[s.Life] = l
			order = append(order, s.Life)
		}
		counts[s.Life]++
		grow(&l[0], s.RSS>>20)
		grow(&l[1], int64(s.FDs))
		grow(&l[2], int64(s.Threads))
		grow(&l[3], int64(s.Goroutines))
		grow(&l[4], int64(s.PartialFDs))
	}
	for _, life := range order {
		l := lives[life]
		fmt.Fprintf(&b, "| %d | %d | %d-%d | %d-%d | %d-%d | %d-%d | %d-%d |\n", life+1, counts[life],
			l[0].lo, l[0].hi, l[1].lo, l[1].hi, l[4].lo, l[4].hi, l[2].lo, l[2].hi, l[3].lo, l[3].hi)
	}
	return b.String()
}
