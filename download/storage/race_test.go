//go:build race

package storage_test

// The race detector slows the power-cut test about fivefold: under it the
// workload is smaller, and `make crashtest` runs the full one without it.
const raceEnabled = true
