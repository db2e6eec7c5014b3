package download

// Unit tests of the consumer logic (consumer.go, retry.go, rebalance.go,
// health.go) with a scripted Kafka client and a fake host: no broker, no
// disk. The real-broker tests of the same behaviour are in
// integration_test.go, rebalance_pause_test.go and the end-to-end tests.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/internal/ratelimit"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// fakeClient is a Kafka client that hands out scripted events and records
// what the consumer asks of it.
type fakeClient struct {
	events    []kafka.Event // returned by Poll in order, then nil
	cancel    func()        // called when the script is used up
	rebalance func(kafka.Event) error
	lost      bool // AssignmentLost

	subscribed string
	paused     []kafka.TopicPartition
	resumed    []kafka.TopicPartition
	seeks      []kafka.TopicPartition
	commits    [][]kafka.TopicPartition
	commitErr  error
}

func (f *fakeClient) Subscribe(topic string, rebalance func(kafka.Event) error) error {
	f.subscribed, f.rebalance = topic, rebalance
	return nil
}

func (f *fakeClient) Poll(int) kafka.Event {
	if len(f.events) == 0 {
		if f.cancel != nil {
			f.cancel()
		}
		return nil
	}
	ev := f.events[0]
	f.events = f.events[1:]
	switch ev.(type) {
	case kafka.AssignedPartitions, kafka.RevokedPartitions:
		// librdkafka runs the rebalance callback inside Poll.
		_ = f.rebalance(ev)
		return nil
	}
	return ev
}

func (f *fakeClient) Pause(p []kafka.TopicPartition) error {
	f.paused = append(f.paused, p...)
	return nil
}

func (f *fakeClient) Resume(p []kafka.TopicPartition) error {
	f.resumed = append(f.resumed, p...)
	return nil
}

func (f *fakeClient) Seek(p kafka.TopicPartition, _ int) error {
	f.seeks = append(f.seeks, p)
	return nil
}

func (f *fakeClient) CommitOffsets(o []kafka.TopicPartition) ([]kafka.TopicPartition, error) {
	if f.commitErr != nil {
		return nil, f.commitErr
	}
	f.commits = append(f.commits, slices.Clone(o))
	return o, nil
}

func (f *fakeClient) AssignmentLost() bool { return f.lost }

func (f *fakeClient) GetMetadata(*string, bool, int) (*kafka.Metadata, error) {
	return &kafka.Metadata{}, nil
}

func (f *fakeClient) Close() error { return nil }

// fakeHost stands for the Downloader: process answers from a table keyed
// by partition and offset, makeDurable from a field.
type fakeHost struct {
	mu         sync.Mutex
	answers    map[[2]int64]error // {partition, offset} -> process's answer
	processed  []kafka.TopicPartition
	durableErr error
	limiter    ratelimit.Limiter
	outage     outage
	assignedTo []int
	failedWith kafka.Error
}

func newFakeHost() *fakeHost {
	return &fakeHost{answers: map[[2]int64]error{}, limiter: ratelimit.Limiter{Every: time.Minute}}
}

func (h *fakeHost) process(m *kafka.Message, _ *logrus.Entry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.processed = append(h.processed, m.TopicPartition)
	key := [2]int64{int64(m.TopicPartition.Partition), int64(m.TopicPartition.Offset)}
	err := h.answers[key]
	delete(h.answers, key) // the next delivery succeeds unless told otherwise
	if storage.IsDurability(err) {
		h.durableErr = err // as the storage engine: no barrier succeeds after it
	}
	return err
}

func (h *fakeHost) makeDurable() error                               { return h.durableErr }
func (h *fakeHost) report(kind string) (int, bool)                   { return h.limiter.Allow(kind) }
func (h *fakeHost) forget(kind string)                               { h.limiter.Forget(kind) }
func (h *fakeHost) outages() *outage                                 { return &h.outage }
func (h *fakeHost) credentialsError(kafka.Error, *logrus.Entry) bool { return false }
func (h *fakeHost) assigned(index int)                               { h.assignedTo = append(h.assignedTo, index) }
func (h *fakeHost) clientFailed(_ int, e kafka.Error) error {
	h.failedWith = e
	return errors.New("fatal: " + e.Error())
}

const testTopic = "t"

func msg(p int32, off int64) *kafka.Message {
	topic := testTopic
	return &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.Offset(off)}}
}

func tp(p int32, off int64) kafka.TopicPartition {
	topic := testTopic
	return kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.Offset(off)}
}

// newTestConsumer is a consumer on a fake client and host, logging into
// the returned buffer.
func newTestConsumer(t *testing.T, h host) (*consumer, *fakeClient, *testkit.LockedBuffer) {
	t.Helper()
	logs := &testkit.LockedBuffer{}
	l := logrus.New()
	l.Out = logs
	l.Level = logrus.DebugLevel
	l.Formatter = &logrus.TextFormatter{DisableTimestamp: true}
	f := &fakeClient{}
	c := makeConsumer(h, 3, testTopic, time.Hour, f, logrus.NewEntry(l))
	f.rebalance = c.rebalance
	return c, f, logs
}

// sameTPs compares partition lists by value (Topic is a pointer).
func sameTPs(a, b []kafka.TopicPartition) bool {
	return slices.EqualFunc(a, b, func(x, y kafka.TopicPartition) bool {
		return topicName(x) == topicName(y) && x.Partition == y.Partition && x.Offset == y.Offset
	})
}

// committed flattens the commits into partition -> last offset committed.
func committed(f *fakeClient) map[int32]kafka.Offset {
	out := map[int32]kafka.Offset{}
	for _, c := range f.commits {
		for _, tp := range c {
			out[tp.Partition] = tp.Offset
		}
	}
	return out
}

func TestBarrierCommitsWhatIsHandled(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, logs := newTestConsumer(t, h)
	for _, m := range []*kafka.Message{msg(0, 5), msg(0, 6), msg(1, 3)} {
		c.onMessage(m)
	}
	c.barrier(nil)
	// Kafka's committed offset is the next one to read.
	if got := committed(f); got[0] != 7 || got[1] != 4 || len(got) != 2 {
		t.Fatalf("committed %v, want partition 0 at 7 and 1 at 4", got)
	}
	c.barrier(nil)
	if len(f.commits) != 1 {
		t.Errorf("a barrier with nothing new committed again: %v", f.commits)
	}

	// Data that cannot be made durable is not committed, and says so once.
	c.onMessage(msg(0, 7))
	h.durableErr = errors.New("sync: input/output error")
	c.barrier(nil)
	c.barrier(nil)
	if len(f.commits) != 1 {
		t.Fatalf("committed although the barrier failed: %v", f.commits)
	}
	if n := strings.Count(logs.String(), "cannot make received data durable"); n != 1 {
		t.Errorf("%d reports of the failing barrier, want 1:\n%s", n, logs)
	}
	h.durableErr = nil
	c.barrier(nil)
	if got := committed(f); got[0] != 8 {
		t.Errorf("after the barrier works again partition 0 is committed at %d, want 8", got[0])
	}
	if !strings.Contains(logs.String(), "received data is durable again") {
		t.Errorf("the recovery is not reported:\n%s", logs)
	}
}

// A chunk that cannot be stored pauses its partition at that message: no
// later offset of the partition is committed, messages fetched before the
// pause are ignored, and the partition resumes at the same offset.
func TestStorageTroublePausesThePartition(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, logs := newTestConsumer(t, h)
	c.onMessage(msg(2, 9))
	h.answers[[2]int64{2, 10}] = &storage.TroubleError{Err: errors.New("no space left on device")}
	c.onMessage(msg(2, 10))
	if !sameTPs(f.paused, []kafka.TopicPartition{tp(2, 10)}) || !sameTPs(f.seeks, []kafka.TopicPartition{tp(2, 10)}) {
		t.Fatalf("paused %v, sought %v; want partition 2 at offset 10", f.paused, f.seeks)
	}
	c.onMessage(msg(2, 11)) // prefetched before the pause
	if n := len(h.processed); n != 2 {
		t.Errorf("%d messages handed over, want 2: a message after the paused one went through", n)
	}
	c.barrier(nil)
	if got := committed(f)[2]; got != 10 {
		t.Errorf("partition 2 committed at %d, want 10 (past the stored message, not past the failed one)", got)
	}
	if !strings.Contains(logs.String(), "Consumption of partition 2 is paused and retried in 1s; nothing is skipped") {
		t.Errorf("the pause is not explained:\n%s", logs)
	}

	// Not yet due: nothing resumes.
	c.resumeDue()
	if len(f.resumed) != 0 {
		t.Fatalf("resumed before the retry was due: %v", f.resumed)
	}
	c.retries[2].at = time.Now().Add(-time.Millisecond)
	c.resumeDue()
	if !sameTPs(f.resumed, []kafka.TopicPartition{tp(2, 10)}) {
		t.Fatalf("resumed %v, want partition 2 at offset 10", f.resumed)
	}
	c.onMessage(msg(2, 10)) // read again, stored this time
	c.barrier(nil)
	if got := committed(f)[2]; got != 11 {
		t.Errorf("partition 2 committed at %d after the retry, want 11", got)
	}
	if len(c.retries) != 0 || !strings.Contains(logs.String(), "stored after 1 retry; consumption continues") {
		t.Errorf("retry not cleared (%v) or not reported:\n%s", c.retries, logs)
	}
}

// Each failed retry doubles the wait, up to maxRetryDelay.
func TestRetryBacksOff(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, _, _ := newTestConsumer(t, h)
	var delays []time.Duration
	for range 8 {
		h.answers[[2]int64{0, 4}] = &storage.TroubleError{Err: errors.New("read-only file system")}
		c.onMessage(msg(0, 4))
		delays = append(delays, c.retries[0].delay)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	if c.retries[0].attempts != 8 {
		t.Errorf("%d attempts counted, want 8", c.retries[0].attempts)
	}
}

// A revoke commits the revoked partitions only (the others go on), and
// forgets them; partitions already lost are not committed.
func TestRevokeCommitsTheRevokedPartitions(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, _ := newTestConsumer(t, h)
	c.onMessage(msg(0, 1))
	c.onMessage(msg(1, 2))
	h.answers[[2]int64{1, 3}] = &storage.TroubleError{Err: errors.New("disk full")}
	c.onMessage(msg(1, 3))
	_ = c.rebalance(kafka.RevokedPartitions{Partitions: []kafka.TopicPartition{tp(1, 0)}})
	if len(f.commits) != 1 || !sameTPs(f.commits[0], []kafka.TopicPartition{tp(1, 3)}) {
		t.Fatalf("commits %v, want only partition 1 at 3", f.commits)
	}
	if _, ok := c.handled[1]; ok {
		t.Error("partition 1 is still on record after the revoke")
	}
	if _, ok := c.retries[1]; ok {
		t.Error("partition 1's retry outlived the revoke")
	}
	if _, ok := c.handled[0]; !ok {
		t.Error("partition 0 was forgotten though not revoked")
	}

	f.lost = true
	_ = c.rebalance(kafka.RevokedPartitions{Partitions: []kafka.TopicPartition{tp(0, 0)}})
	if len(f.commits) != 1 {
		t.Errorf("committed partitions that were already lost: %v", f.commits)
	}
}

// An assignment resumes its partitions (a pause outlives a revoke in
// librdkafka) and tells the host.
func TestAssignResumes(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, _ := newTestConsumer(t, h)
	parts := []kafka.TopicPartition{tp(0, -1001), tp(1, -1001)}
	_ = c.rebalance(kafka.AssignedPartitions{Partitions: parts})
	if !sameTPs(f.resumed, parts) {
		t.Errorf("resumed %v, want %v", f.resumed, parts)
	}
	if !slices.Equal(h.assignedTo, []int{3}) {
		t.Errorf("host told of assignments %v, want consumer 3", h.assignedTo)
	}
}

// run subscribes, hands every message over, and commits at the end.
func TestRunCommitsAtTheEnd(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, _ := newTestConsumer(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.cancel = cancel
	f.events = []kafka.Event{
		kafka.AssignedPartitions{Partitions: []kafka.TopicPartition{tp(0, -1001)}},
		msg(0, 0), msg(0, 1), msg(0, 2),
	}
	if err := c.run(ctx); err != nil {
		t.Fatal(err)
	}
	if f.subscribed != testTopic || len(h.processed) != 3 {
		t.Errorf("subscribed to %q, %d messages handed over", f.subscribed, len(h.processed))
	}
	if got := committed(f)[0]; got != 3 {
		t.Errorf("partition 0 committed at %d at the end, want 3", got)
	}
}

// A failed fsync stops the consumer at once, and nothing is committed: the
// kernel may have dropped the data it could not write.
func TestDurabilityErrorStopsWithoutCommit(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, _ := newTestConsumer(t, h)
	durability := &storage.DurabilityError{Err: errors.New("fsync: input/output error")}
	h.answers[[2]int64{0, 1}] = durability
	f.events = []kafka.Event{msg(0, 0), msg(0, 1), msg(0, 2)}
	err := c.run(context.Background())
	if !errors.Is(err, durability) {
		t.Fatalf("run returned %v, want the durability error", err)
	}
	if len(h.processed) != 2 {
		t.Errorf("%d messages handed over; the consumer went on after the failed fsync", len(h.processed))
	}
	if len(f.commits) != 0 {
		t.Errorf("committed after a failed fsync: %v", f.commits)
	}
}

// A fatal client error ends the consumer with the host's explanation.
func TestFatalErrorEndsTheConsumer(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	c, f, _ := newTestConsumer(t, h)
	f.events = []kafka.Event{kafka.NewError(kafka.ErrFencedInstanceID, "fenced", true)}
	err := c.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fenced") || !c.failed {
		t.Fatalf("run returned %v, failed %v", err, c.failed)
	}
	if h.failedWith.Code() != kafka.ErrFencedInstanceID {
		t.Errorf("host told of %v", h.failedWith)
	}
}

// Every consumer sees one broker outage, in several of librdkafka's
// wordings: one warning for all of them, and one line when it ends.
func TestOneWarningPerOutage(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	var cs []*consumer
	var logs []*testkit.LockedBuffer
	for range 3 {
		c, _, l := newTestConsumer(t, h)
		cs = append(cs, c)
		logs = append(logs, l)
	}
	for _, c := range cs {
		for _, code := range []kafka.ErrorCode{kafka.ErrTransport, kafka.ErrAllBrokersDown, kafka.ErrTransport} {
			if err := c.onError(kafka.NewError(code, "127.0.0.1:9092: Connection refused", false)); err != nil {
				t.Fatal(err)
			}
		}
	}
	all := func() string {
		var b strings.Builder
		for _, l := range logs {
			b.WriteString(l.String())
		}
		return b.String()
	}
	if n := strings.Count(all(), "level=warning"); n != 1 {
		t.Fatalf("%d warnings for one outage, want 1:\n%s", n, all())
	}
	for _, c := range cs {
		c.checkReconnected() // the fake client always answers
	}
	if n := strings.Count(all(), "the Kafka broker can be reached again"); n != 1 {
		t.Errorf("the end of the outage is reported %d times, want 1:\n%s", n, all())
	}
}

// The Downloader is a host; this keeps the interface honest.
var _ host = (*Downloader)(nil)
