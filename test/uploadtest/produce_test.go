package uploadtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
)

func TestMain(m *testing.M) {
	if os.Getenv("UPLOADTEST_HELPER") != "" {
		os.Exit(m.Run()) // a child of TestProduceIsQuiet: no broker needed
	}
	os.Exit(kafkatest.Shared(m))
}

// TestProduce sends a folder to a 4-partition topic and reads it back: every
// message arrives once, intact, and one file's chunks use several partitions.
func TestProduce(t *testing.T) {
	kafkatest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("uploadtest_%d", time.Now().UnixNano())
	if err := kafkatest.CreateTopic(ctx, kafkatest.Bootstrap(), topic, 4); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(filepath.Join(root, "sub", "big.dat"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "small.txt"), []byte("small"), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, err := DirChunks(root, 256, Options{DiskMtime: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Produce(ctx, kafkatest.Bootstrap(), topic, msgs); err != nil {
		t.Fatal(err)
	}

	want := map[string][]byte{}
	for _, m := range msgs {
		want[m.Key] = m.Value
	}
	got := kafkatest.ReadTopic(t, kafkatest.Bootstrap(), topic, time.Minute, func(m []*kafka.Message) bool { return len(m) >= len(msgs) })
	partitions := map[int32]bool{}
	for _, m := range got {
		v, ok := want[string(m.Key)]
		if !ok {
			t.Fatalf("unexpected or repeated key %q", m.Key)
		}
		if !bytes.Equal(v, m.Value) {
			t.Fatalf("value of %q changed on the way", m.Key)
		}
		delete(want, string(m.Key))
		if bytes.HasPrefix(m.Key, []byte("sub_big.dat")) {
			partitions[m.TopicPartition.Partition] = true
		}
	}
	// 40 chunks over 4 partitions by key hash: all in one would mean the
	// partitioner is not the default one.
	if len(partitions) < 2 {
		t.Errorf("the chunks of one file went to partitions %v only", partitions)
	}
}

// TestProduceIsQuiet runs Produce against a closed port in a child process
// and checks that librdkafka's connection errors do not reach stderr.
func TestProduceIsQuiet(t *testing.T) {
	if os.Getenv("UPLOADTEST_HELPER") == "produce-to-nowhere" {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		msgs := FileChunks([]byte("x"), "x", 16, Options{})
		err := Produce(ctx, "127.0.0.1:1", "nowhere", msgs)
		fmt.Fprintf(os.Stdout, "Produce: %v\n", err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProduceIsQuiet$", "-test.count=1")
	cmd.Env = append(os.Environ(), "UPLOADTEST_HELPER=produce-to-nowhere")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !bytes.Contains(stdout.Bytes(), []byte("Produce: context deadline exceeded")) {
		t.Errorf("Produce to a closed port did not end with the context:\n%s", stdout.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("Produce wrote to stderr:\n%s", stderr.String())
	}
}
