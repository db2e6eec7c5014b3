package kafkacrypto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"
)

// Request pacing: a key index still missing is asked for again after
// these delays, then every maxAskInterval (kafkacrypto's consumers ask
// every 60 s). The first retries are quick because a producer that only
// just started may not read its requests topic yet.
var askDelays = []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second}

const (
	maxAskInterval = 60 * time.Second
	// maxPending bounds the requests kept for their answers.
	maxPending = 64
	// unansweredWarn: how long a key index may stay unanswered before the
	// log says what could be wrong.
	unansweredWarn = 60 * time.Second
	metadataEvery  = 5 * time.Second
)

// Client is a consumer node's key exchange for the root of one topic: it
// asks the root's producer nodes for the key indices it is told to want, on
// <root>.subs and (when its chain allows asking directly) <root>.reqs,
// partition 0, where kafkacrypto's producers and controllers read, and
// takes their answers from every partition of <root>.keys.
type Client struct {
	node *Node
	root string
	log  *logrus.Entry
	now  func() time.Time

	producer *kafka.Producer
	consumer *kafka.Consumer
	logs     chan kafka.LogEvent

	keys *keyring
	// OnKeys, when set before Run, is called (from Run's goroutine) with
	// the key indices of newly received secrets.
	OnKeys func([]KeyIndex)

	mu      sync.Mutex
	wanted  map[string]*wanted
	pending []*request
	wake    chan struct{}

	// Counters for status lines.
	requestsSent, answersTaken, answersRefused atomic.Int64
}

type wanted struct {
	index   KeyIndex
	since   time.Time
	nextAsk time.Time
	asked   int
	warned  bool
}

// NewClient makes the Kafka clients of the key exchange for topic's root
// with the given librdkafka settings (the config file's [broker] section).
// Run starts it.
func NewClient(node *Node, topic string, kafkaSettings map[string]string, log *logrus.Entry) (*Client, error) {
	c := &Client{
		node:   node,
		root:   node.Root(topic),
		log:    log,
		now:    time.Now,
		keys:   newKeyring(),
		wanted: map[string]*wanted{},
		wake:   make(chan struct{}, 1),
		logs:   make(chan kafka.LogEvent, 100),
	}
	base := kafka.ConfigMap{}
	for k, v := range kafkaSettings {
		base[k] = v
	}
	base["go.logs.channel.enable"] = true
	base["go.logs.channel"] = c.logs
	pc := kafka.ConfigMap{}
	for k, v := range base {
		pc[k] = v
	}
	pc["linger.ms"] = 0
	var err error
	if c.producer, err = kafka.NewProducer(&pc); err != nil {
		return nil, fmt.Errorf("KafkaCrypto key exchange: create producer: %w", err)
	}
	cc := kafka.ConfigMap{}
	for k, v := range base {
		cc[k] = v
	}
	// Only assigned partitions are read; the group is never joined and
	// nothing is committed. The name is kafkacrypto's for a node's
	// key-exchange consumer.
	cc["group.id"] = node.ID + ".kafkacrypto"
	cc["enable.auto.commit"] = false
	cc["enable.auto.offset.store"] = false
	cc["auto.offset.reset"] = "earliest"
	if c.consumer, err = kafka.NewConsumer(&cc); err != nil {
		c.producer.Close()
		return nil, fmt.Errorf("KafkaCrypto key exchange: create consumer: %w", err)
	}
	return c, nil
}

// Root is the root topic whose keys this client exchanges.
func (c *Client) Root() string { return c.root }

// Secret returns the topic secret of a key index, if received.
func (c *Client) Secret(ki KeyIndex) ([]byte, bool) { return c.keys.get(ki) }

// Want asks for the secret of a key index from now on, until it arrives.
func (c *Client) Want(ki KeyIndex) {
	if _, ok := c.keys.get(ki); ok {
		return
	}
	c.mu.Lock()
	if _, ok := c.wanted[ki.id]; !ok {
		now := c.now()
		c.wanted[ki.id] = &wanted{index: ki, since: now, nextAsk: now}
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Wait waits for the secret of a key index until the deadline or the end of
// ctx; Want must have been called.
func (c *Client) Wait(ctx context.Context, ki KeyIndex, deadline time.Time) ([]byte, bool) {
	return c.keys.wait(ctx, ki, deadline)
}

// Stats returns how many requests were sent and answers taken or refused.
func (c *Client) Stats() (sent, taken, refused int64) {
	return c.requestsSent.Load(), c.answersTaken.Load(), c.answersRefused.Load()
}

// Run exchanges keys until ctx ends, then closes the Kafka clients.
func (c *Client) Run(ctx context.Context) error {
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		for ev := range c.logs {
			c.log.WithField("client", ev.Name).Debugf("librdkafka (key exchange): %s", ev.Message)
		}
	}()
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		for ev := range c.producer.Events() {
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
				c.log.Warnf("KafkaCrypto key request to %s not delivered: %v", *m.TopicPartition.Topic, m.TopicPartition.Error)
			}
		}
	}()
	defer func() {
		c.consumer.Close()
		c.producer.Flush(2000)
		c.producer.Close()
		<-eventsDone
		close(c.logs)
		<-logsDone
	}()

	keysTopic := c.root + c.node.suffixKeys
	assigned := map[int32]bool{}
	first := true
	var nextMetadata time.Time
	for ctx.Err() == nil {
		if now := c.now(); !now.Before(nextMetadata) {
			c.assignNew(keysTopic, assigned, first)
			first = false
			nextMetadata = now.Add(metadataEvery)
		}
		c.askDue(ctx)
		switch e := c.consumer.Poll(100).(type) {
		case *kafka.Message:
			c.onAnswer(e)
		case kafka.Error:
			c.log.Debugf("KafkaCrypto key exchange: %v", e)
		case nil:
			select {
			case <-c.wake:
			default:
			}
		}
	}
	return nil
}

// assignNew reads every partition of <root>.keys: those there at start
// from their end, as answers to this run's requests come after it; those
// that appear later (the topic is made by the first answer) from their
// beginning.
func (c *Client) assignNew(topic string, assigned map[int32]bool, atStart bool) {
	md, err := c.consumer.GetMetadata(&topic, false, 5000)
	if err != nil {
		c.log.Debugf("KafkaCrypto key exchange: metadata of %s: %v", topic, err)
		return
	}
	t, ok := md.Topics[topic]
	if !ok || t.Error.Code() != kafka.ErrNoError {
		return
	}
	added := false
	for _, p := range t.Partitions {
		if assigned[p.ID] {
			continue
		}
		offset := kafka.OffsetBeginning
		if atStart {
			_, high, err := c.consumer.QueryWatermarkOffsets(topic, p.ID, 5000)
			if err != nil {
				c.log.Debugf("KafkaCrypto key exchange: end of %s partition %d: %v", topic, p.ID, err)
				continue
			}
			offset = kafka.Offset(high)
		}
		if err := c.consumer.IncrementalAssign([]kafka.TopicPartition{{Topic: &topic, Partition: p.ID, Offset: offset}}); err != nil {
			c.log.Debugf("KafkaCrypto key exchange: assign %s partition %d: %v", topic, p.ID, err)
			continue
		}
		assigned[p.ID] = true
		added = true
	}
	if added {
		c.log.Debugf("KafkaCrypto key exchange: reading answers from %d partitions of %s", len(assigned), topic)
	}
}

// askDue sends one request for all wanted key indices when one of them is
// due, and says once per key index when nobody answers.
func (c *Client) askDue(ctx context.Context) {
	now := c.now()
	c.mu.Lock()
	var kis []KeyIndex
	due := false
	for id, w := range c.wanted {
		if _, ok := c.keys.get(w.index); ok {
			delete(c.wanted, id)
			continue
		}
		kis = append(kis, w.index)
		if !now.Before(w.nextAsk) {
			due = true
		}
		if !w.warned && now.Sub(w.since) >= unansweredWarn {
			w.warned = true
			c.log.Warnf("KafkaCrypto: no producer of %q has sent key index %s in %s of asking. Keys come only from a producer node that "+
				"is running (an uploader of this topic) and trusts this node: node %q (signing key %s) must be provisioned under the "+
				"same root of trust as the producers and not be on their denylist. Asking again every %s",
				c.root, w.index, unansweredWarn, c.node.ID, c.node.PublicKey(), maxAskInterval)
		}
	}
	if !due {
		c.mu.Unlock()
		return
	}
	for _, w := range c.wanted {
		d := maxAskInterval
		if w.asked < len(askDelays) {
			d = askDelays[w.asked]
		}
		w.asked++
		w.nextAsk = now.Add(d)
	}
	c.mu.Unlock()

	key, value, req, err := c.node.newRequest(c.root, kis, float64(now.UnixNano())/1e9)
	if err != nil {
		c.log.Errorf("KafkaCrypto: cannot make a key request: %v", err)
		return
	}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	if len(c.pending) > maxPending {
		c.pending = c.pending[len(c.pending)-maxPending:]
	}
	c.mu.Unlock()
	topics := []string{c.root + c.node.suffixSubs}
	if c.node.direct {
		topics = append(topics, c.root+c.node.suffixReqs)
	}
	for _, topic := range topics {
		t := topic
		err := c.producer.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &t, Partition: 0},
			Key:            key,
			Value:          value,
		}, nil)
		if err != nil {
			c.log.Warnf("KafkaCrypto: cannot send a key request to %s: %v", t, err)
		}
	}
	c.requestsSent.Add(1)
	c.log.Infof("KafkaCrypto: asked the producers of %q for %d key index(es) (%s)", c.root, len(kis), keyList(kis))
}

func keyList(kis []KeyIndex) string {
	var b bytes.Buffer
	for i, ki := range kis {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 5 {
			fmt.Fprintf(&b, "%d more", len(kis)-5)
			break
		}
		b.WriteString(ki.String())
	}
	return b.String()
}

func (c *Client) pendingRequest(random0 []byte) *request {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.pending {
		if bytes.Equal(r.random0, random0) {
			return r
		}
	}
	return nil
}

func (c *Client) onAnswer(m *kafka.Message) {
	now := float64(c.now().UnixNano()) / 1e9
	secrets, err := c.node.openAnswer(c.root, m.Value, c.pendingRequest, now)
	if err != nil {
		if errors.Is(err, errNotOurs) {
			return
		}
		// A chain refused is worth a line: it says which producer the
		// node does not trust, or that the exchange is broken.
		c.answersRefused.Add(1)
		c.log.Warnf("KafkaCrypto: refused an answer on %s partition %d offset %d: %v",
			*m.TopicPartition.Topic, m.TopicPartition.Partition, m.TopicPartition.Offset, err)
		return
	}
	c.answersTaken.Add(1)
	added := c.keys.add(secrets)
	if len(added) == 0 {
		return
	}
	c.log.Infof("KafkaCrypto: received %d key(s) of %q (key index %s)", len(added), c.root, keyList(added))
	c.mu.Lock()
	for _, ki := range added {
		delete(c.wanted, ki.id)
	}
	c.mu.Unlock()
	if c.OnKeys != nil {
		c.OnKeys(added)
	}
}
