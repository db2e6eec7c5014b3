package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/internal/plural"
)

// The chunks of one file are spread over every partition of the topic, and
// a consumer group gives each partition to one member. When another process
// (another host, or a second instance on this one) is a member of the same
// group, each process gets some chunks of every file and neither can
// complete it. Kafka has no way to forbid that, so this file detects it and
// says so: it lists the group's members through the admin API at start and
// after every rebalance, and warns about the ones that are not this
// process's own consumers.

const (
	// membershipSettle is the wait after a rebalance before the group is
	// described: the n consumers of this process are assigned one after
	// the other, and one description after the last suffices.
	membershipSettle = time.Second
	// membershipTries bounds the descriptions of a group that is still
	// rebalancing; the next rebalance starts a new check anyway.
	membershipTries = 10
	describeTimeout = 5 * time.Second
	// instanceIDMax is Kafka's limit for group.instance.id, which must also
	// be made of [a-zA-Z0-9._-], like a topic name.
	instanceIDMax = 249
	// maxRejoins bounds how often a fenced consumer is replaced within
	// rejoinWindow, in case another process was taken for the consumer
	// itself: the two would fence each other forever.
	maxRejoins   = 3
	rejoinWindow = 10 * time.Minute
)

// membership knows which group members are this Downloader's own and
// watches the group for others.
type membership struct {
	group     string
	consumers int
	// instanceIDs are our consumers' group.instance.id (static
	// membership), nil without it; clientIDs their client.id.
	instanceIDs []string
	clientIDs   []string
	// kafka is the consumers' configuration, for the admin client.
	kafka map[string]string
	log   *logrus.Entry
	// describe lists the group's members; see Config.DescribeGroup.
	describeGroup GroupDescriber

	rebalanced chan struct{}
	// reported is the last warning's list of other members, "" when the
	// group had none; a warning is repeated only when the list changes.
	reported     string
	describeFail bool

	mu      sync.Mutex
	rejoins map[int][]time.Time // when each fenced consumer was replaced; guarded by mu
}

func newMembership(cfg Config, log *logrus.Entry) *membership {
	host, _ := os.Hostname()
	m := &membership{
		group:      cfg.GroupID,
		consumers:  cfg.Consumers,
		kafka:      cfg.Kafka,
		log:        log,
		rebalanced: make(chan struct{}, 1),
		rejoins:    make(map[int][]time.Time),
	}
	m.describeGroup = cfg.DescribeGroup
	if m.describeGroup == nil {
		m.describeGroup = DescribeGroup
	}
	base, static := staticBase(cfg, host)
	for i := range cfg.Consumers {
		if static {
			m.instanceIDs = append(m.instanceIDs, instanceID(base, i))
		}
		id := cfg.Kafka["client.id"]
		if id == "" {
			// The process id tells two instances on one host apart in
			// the broker's view and in the warnings below.
			id = fmt.Sprintf("DataFileDownloadDirectory-%s-%d-%d", host, os.Getpid(), i)
		}
		m.clientIDs = append(m.clientIDs, id)
	}
	return m
}

// staticBase is the stem of the consumers' group.instance.id and whether
// static membership is on: with a group that outlives the run (not
// create_new), unless the config file's group.instance.id is "none". The
// stem is derived from the host and the group, or is the config file's
// group.instance.id when it is not "auto". The consumer's number is always
// appended, since two members with one instance id fence each other.
func staticBase(cfg Config, host string) (string, bool) {
	given := strings.TrimSpace(cfg.Kafka["group.instance.id"])
	switch {
	case !cfg.StaticMembership, strings.EqualFold(given, "none"):
		return "", false
	case given == "", strings.EqualFold(given, "auto"):
		return "DataFileDownloadDirectory-" + host + "-" + cfg.GroupID, true
	}
	return given, true
}

// instanceID makes a legal group.instance.id of base and the consumer's
// number. Characters Kafka refuses become "_", and then a hash of the
// original keeps two groups that differ only there apart.
func instanceID(base string, index int) string {
	clean := strings.Map(func(r rune) rune {
		if r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '_'
	}, base)
	suffix := fmt.Sprintf("-%d", index)
	if clean != base || len(clean)+len(suffix) > instanceIDMax {
		sum := sha256.Sum256([]byte(base))
		tag := "-" + hex.EncodeToString(sum[:6])
		clean = clean[:min(len(clean), instanceIDMax-len(tag)-len(suffix))] + tag
	}
	return clean + suffix
}

// configure sets a consumer's client.id and group.instance.id.
func (m *membership) configure(cm kafka.ConfigMap, index int) {
	cm["client.id"] = m.clientIDs[index]
	delete(cm, "group.instance.id")
	if m.instanceIDs != nil {
		cm["group.instance.id"] = m.instanceIDs[index]
	}
}

// assigned is called by a consumer after each rebalance. It never blocks:
// the rebalance callback runs inside Poll.
func (m *membership) assigned() {
	select {
	case m.rebalanced <- struct{}{}:
	default:
	}
}

// fatal explains a consumer's fatal error.
func (m *membership) fatal(e kafka.Error) error {
	if e.Code() == kafka.ErrFencedInstanceID {
		return fmt.Errorf("another consumer took this program's place in consumer group %q: it uses the same "+
			"group.instance.id, so it is a second instance of this program on this host with the same group "+
			"(or a copy of a config file that sets group.instance.id). One consumer group per output folder: "+
			"stop the other instance, or give each its own --consumer_group_id (%w)", m.group, e)
	}
	return fmt.Errorf("Kafka consumer failed: %w", e)
}

// mayReplaceFenced decides whether consumer index, fenced out of the
// group, may be replaced by a new client. Only after trouble with the
// group (troubled: its session expired, or the broker could not be
// reached lately): librdkafka then forgets the consumer's member id, and a
// heartbeat or commit it sends before it has rejoined is fenced by its own
// earlier membership, which still holds the group.instance.id. A consumer
// fenced without such trouble was replaced by another process that uses
// the same group.instance.id, and one of the two must stop.
func (m *membership) mayReplaceFenced(index int, troubled bool) bool {
	if !troubled {
		return false
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	recent := slices.DeleteFunc(m.rejoins[index], func(t time.Time) bool { return now.Sub(t) > rejoinWindow })
	if len(recent) >= maxRejoins {
		m.log.Debugf("consumer %d fenced again after %d replacements within %v", index, maxRejoins, rejoinWindow)
		return false
	}
	m.rejoins[index] = append(recent, now)
	m.log.Warnf("consumer %d was fenced out of consumer group %q by its own earlier membership after trouble "+
		"reaching the broker; it rejoins with a new client", index, m.group)
	return true
}

// watch checks the group after the consumers' first assignment (the
// moment they have joined, so also not before the broker can be reached)
// and after every rebalance, until ctx is cancelled.
func (m *membership) watch(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-m.rebalanced:
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(membershipSettle):
		}
		m.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.rebalanced:
		}
	}
}

// check describes the group until it is stable (or a few times) and
// reports members that are not ours.
func (m *membership) check(ctx context.Context) {
	for try := 0; try < membershipTries && ctx.Err() == nil; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(membershipSettle):
			}
		}
		desc, err := m.describe(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.describeFailed(err)
			}
			continue
		}
		switch desc.State {
		case kafka.ConsumerGroupStateStable, kafka.ConsumerGroupStateEmpty, kafka.ConsumerGroupStateDead:
			m.log.Debugf("consumer group %q is %s with %d members: %s", m.group, desc.State, len(desc.Members), describeMembers(desc.Members))
			m.report(m.others(desc.Members))
			return
		}
	}
}

func (m *membership) describe(ctx context.Context) (*kafka.ConsumerGroupDescription, error) {
	cfg := map[string]string{}
	for k, v := range m.kafka {
		cfg[k] = v
	}
	delete(cfg, "group.instance.id")
	cfg["client.id"] = m.clientIDs[0] + "-admin"
	return m.describeGroup(ctx, cfg, m.group)
}

// GroupDescriber describes consumer group group with the client settings
// kafka (the consumers' own, secrets included).
type GroupDescriber func(ctx context.Context, kafka map[string]string, group string) (*kafka.ConsumerGroupDescription, error)

// DescribeGroup describes a consumer group through the admin API of a
// client of its own, which never subscribes and so is no member of the
// group.
//
// Its caller should run it in a separate process (see
// Config.DescribeGroup): when the broker goes away during a description,
// librdkafka 2.11 can abort the whole process once it is back
// (rd_kafka_enq_once_del_source_return: "eonce->refcnt > 0"), which the
// broker restart test hit repeatedly. The request is never abandoned, for
// the same reason: it ends by its own timeout.
func DescribeGroup(ctx context.Context, settings map[string]string, group string) (*kafka.ConsumerGroupDescription, error) {
	cm := kafka.ConfigMap{}
	for k, v := range settings {
		cm[k] = v
	}
	cm["group.id"] = group
	// librdkafka's own log lines would go to stderr.
	cm["log_level"] = 0
	kc, err := kafka.NewConsumer(&cm)
	if err != nil {
		return nil, err
	}
	defer kc.Close()
	admin, err := kafka.NewAdminClientFromConsumer(kc)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), describeTimeout+5*time.Second)
	defer cancel()
	res, err := admin.DescribeConsumerGroups(ctx, []string{group}, kafka.SetAdminRequestTimeout(describeTimeout))
	if err != nil {
		return nil, err
	}
	if len(res.ConsumerGroupDescriptions) != 1 {
		return nil, fmt.Errorf("the broker described %d groups instead of 1", len(res.ConsumerGroupDescriptions))
	}
	desc := res.ConsumerGroupDescriptions[0]
	if desc.Error.Code() != kafka.ErrNoError {
		return nil, desc.Error
	}
	return &desc, nil
}

// describeFailed reports a failed check once. A broker that is down or
// refuses the credentials is reported by the consumers already, so only a
// missing permission gets a line of its own.
func (m *membership) describeFailed(err error) {
	if kerr, ok := err.(kafka.Error); ok && kerr.Code() == kafka.ErrGroupAuthorizationFailed && !m.describeFail {
		m.log.Infof("cannot check whether other programs share consumer group %q: the broker does not allow "+
			"this user to describe the group (%v); make sure no other program uses it", m.group, err)
	} else {
		m.log.Debugf("describe consumer group %q: %v", m.group, err)
	}
	m.describeFail = true
}

// others are the members that are not this Downloader's consumers. Ours
// carry our group.instance.id (static membership) or our client.id. When
// more members carry our client id than we run consumers, another process
// uses the same client.id (a copied config file that sets it): surplus is
// how many of those are not ours, and sharing lists them all, since which
// ones are ours cannot be told.
func (m *membership) others(members []kafka.MemberDescription) (others, sharing []kafka.MemberDescription, surplus int) {
	for _, mb := range members {
		switch {
		case m.instanceIDs != nil && mb.GroupInstanceID != "":
			if !slices.Contains(m.instanceIDs, mb.GroupInstanceID) {
				others = append(others, mb)
			}
		case slices.Contains(m.clientIDs, mb.ClientID):
			sharing = append(sharing, mb)
		default:
			others = append(others, mb)
		}
	}
	ours := m.consumers
	if m.instanceIDs != nil {
		ours = 0 // each of ours has its instance id
	}
	if len(sharing) <= ours {
		return others, nil, 0
	}
	return others, sharing, len(sharing) - ours
}

func describeMembers(members []kafka.MemberDescription) string {
	names := make([]string, len(members))
	for i, mb := range members {
		s := fmt.Sprintf("client id %q on host %s", mb.ClientID, strings.TrimPrefix(mb.Host, "/"))
		if mb.GroupInstanceID != "" {
			s += fmt.Sprintf(" (group.instance.id %q)", mb.GroupInstanceID)
		}
		names[i] = s
	}
	slices.Sort(names)
	return strings.Join(names, "; ")
}

// report warns about other members when their list changed since the last
// report, and says when they are gone.
func (m *membership) report(others, sharing []kafka.MemberDescription, surplus int) {
	n := len(others) + surplus
	if n == 0 {
		if m.reported != "" {
			m.log.Infof("consumer group %q now has only this program's consumers", m.group)
		}
		m.reported = ""
		return
	}
	var list string
	if len(others) > 0 {
		list = describeMembers(others)
	}
	if surplus > 0 {
		if list != "" {
			list += "; and "
		}
		list += fmt.Sprintf("%d of the %d members that use this program's client id: %s", surplus, len(sharing), describeMembers(sharing))
	}
	if list == m.reported {
		return
	}
	m.reported = list
	m.log.Warnf("consumer group %q is shared with %s outside this program: %s. "+
		"Each member gets some of the topic's partitions and the chunks of every file are spread over all of them, "+
		"so files are split between the programs and may complete nowhere. Use one consumer group per output folder: "+
		"stop the other program or give each its own --consumer_group_id (a group of its own for each folder or site "+
		"that needs a copy). Members that a killed instance of this program left behind go away after session.timeout.ms.",
		m.group, plural.Count(n, "consumer", "consumers"), list)
}
