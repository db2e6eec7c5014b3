//go:build !windows

package main

import (
	"fmt"
	"runtime"
	"strings"
)

// report formats the medians of every client as the Markdown table of
// docs/performance.md, with the ratios the targets are stated in.
func report(rows []row, latency []float64, scale float64, runs int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "Medians of %d runs each, workloads at scale %g, on %d cores (%s/%s), one local Kafka 4.3.1 broker on loopback, topics with 4 partitions, 512 KiB chunks. Time runs from the client's start (group join included) to the last file published and verified.\n\n", runs, scale, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	s.WriteString("| workload | client | MB/s | files/s | ours / bare | ours / Python | peak RSS MiB | CPU s | CPU s/GiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	bare := map[string]float64{}
	python := map[string]float64{}
	for _, r := range rows {
		m := r.median()
		if strings.HasPrefix(r.client, "bare") {
			bare[r.workload] = m.seconds
		}
		if strings.HasPrefix(r.client, "Python") {
			python[r.workload] = m.seconds
		}
	}
	for _, r := range rows {
		m := r.median()
		vsBare, vsPython := "", ""
		if strings.HasPrefix(r.client, "this program") || strings.HasPrefix(r.client, "baseline") {
			if t, ok := bare[r.workload]; ok {
				vsBare = fmt.Sprintf("%.2f", t/m.seconds)
			}
			if t, ok := python[r.workload]; ok {
				vsPython = fmt.Sprintf("%.1f×", t/m.seconds)
			}
		}
		rss := fmt.Sprintf("%.0f", m.rssMiB)
		if strings.HasPrefix(r.client, "bare") {
			rss = "n/a" // it runs inside this process, whose memory holds the workload
		}
		fmt.Fprintf(&s, "| %s | %s | %.0f | %.0f | %s | %s | %s | %.1f | %.1f |\n", r.workload, r.client,
			float64(r.bytes)/1e6/m.seconds, float64(r.files)/m.seconds, vsBare, vsPython, rss, m.cpu, m.cpu/(float64(r.bytes)/(1<<30)))
	}
	if len(latency) > 0 {
		fmt.Fprintf(&s, "\nLast chunk delivered to file published, 16 MiB file, program caught up: median %.0f ms (min %.0f, max %.0f, %d samples).\n",
			1000*latency[len(latency)/2], 1000*latency[0], 1000*latency[len(latency)-1], len(latency))
	}
	s.WriteString("\nRatios are throughput ratios (higher is better for this program). The bare consumer's CPU is that of the bench process while it reads.\n")
	return s.String()
}
