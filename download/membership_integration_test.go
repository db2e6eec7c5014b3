package download_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// logCapture keeps a downloader's log lines for the test to search, and
// shows them with t.Log.
type logCapture struct {
	t *testing.T
	testkit.LockedBuffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return l.LockedBuffer.Write(p)
}

// startMember runs a downloader of a group with its own settings and a log
// the test can read, at debug level.
func startMember(t *testing.T, cfg download.Config) (*running, *logCapture) {
	t.Helper()
	logs := &logCapture{t: t}
	logger := logrus.New()
	logger.SetLevel(logrus.DebugLevel)
	logger.SetOutput(logs)
	// Unquoted, so that tests search for the message as the program words it.
	logger.SetFormatter(&logrus.TextFormatter{DisableQuote: true})
	kafka := map[string]string{"bootstrap.servers": kafkatest.Bootstrap(), "auto.offset.reset": "earliest"}
	for k, v := range cfg.Kafka {
		kafka[k] = v
	}
	cfg.Kafka = kafka
	cfg.CommitInterval = 200 * time.Millisecond
	d, err := download.New(cfg, logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r, logs
}

const sharedWarning = "is shared with"

// One downloader with several consumers, static membership or not, is
// alone in its group: its own consumers are never "others".
func TestGroupOfOneDownloaderHasNoWarning(t *testing.T) {
	for _, static := range []bool{true, false} {
		name := "dynamic"
		if static {
			name = "static"
		}
		t.Run(name, func(t *testing.T) {
			topic := newTopic(t)
			group := "alone-" + topic
			data := sampleFiles(31, 6)
			produce(t, topic, chunksOf(data, 1024, uploadtest.Options{}))
			out := t.TempDir()
			kcfg := map[string]string{}
			if static {
				kcfg["group.instance.id"] = "auto"
			}
			_, logs := startMember(t, download.Config{OutputDir: out, Topic: topic, Consumers: 3, GroupID: group, StaticMembership: true, Kafka: kcfg})
			waitFor(t, "a check of the group with our 3 consumers", time.Minute, func() bool {
				return strings.Contains(logs.String(), `consumer group "`+group+`" is Stable with 3 members`)
			})
			waitFor(t, "the files", time.Minute, func() bool { return filesEqual(out, data) == nil })
			if strings.Contains(logs.String(), sharedWarning) {
				t.Fatal("warned about its own consumers")
			}
			if static && !strings.Contains(logs.String(), "group.instance.id") {
				t.Fatal("no static membership")
			}
		})
	}
}

// Two downloaders in one group, as two lab PCs with the same config would
// be: each warns, naming the group and the other's client id and host, and
// says when the other has left.
func TestSplitGroupIsReported(t *testing.T) {
	topic := newTopic(t)
	group := "split-" + topic
	_, first := startMember(t, download.Config{OutputDir: t.TempDir(), Topic: topic, Consumers: 2, GroupID: group})
	waitFor(t, "the first downloader's check", time.Minute, func() bool {
		return strings.Contains(first.String(), `consumer group "`+group+`" is Stable with 2 members`)
	})
	second, secondLogs := startMember(t, download.Config{
		OutputDir: t.TempDir(), Topic: topic, Consumers: 1, GroupID: group,
		Kafka: map[string]string{"client.id": "other-lab-pc"},
	})
	want := `consumer group "` + group + `" is shared with 1 consumer outside this program: client id "other-lab-pc" on host 127.0.0.1`
	waitFor(t, "the first downloader's warning", time.Minute, func() bool { return strings.Contains(first.String(), want) })
	waitFor(t, "the second downloader's warning", time.Minute, func() bool {
		return strings.Contains(secondLogs.String(), `consumer group "`+group+`" is shared with 2 consumers outside this program: client id "DataFileDownloadDirectory-`)
	})
	if n := strings.Count(first.String(), sharedWarning); n != 1 {
		t.Errorf("the first downloader warned %d times, want once", n)
	}
	second.stop(t)
	waitFor(t, "the all-clear", time.Minute, func() bool {
		return strings.Contains(first.String(), `consumer group "`+group+`" now has only this program's consumers`)
	})
}
