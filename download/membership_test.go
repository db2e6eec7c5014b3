package download

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"
)

func TestInstanceID(t *testing.T) {
	legal := regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	long := strings.Repeat("g", 300)
	tests := []struct {
		base  string
		index int
		want  string // "" when only legality and uniqueness are checked
	}{
		{"DataFileDownloadDirectory-labpc-xrd_group", 0, "DataFileDownloadDirectory-labpc-xrd_group-0"},
		{"DataFileDownloadDirectory-labpc-xrd_group", 3, "DataFileDownloadDirectory-labpc-xrd_group-3"},
		{"DataFileDownloadDirectory-labpc-xrd group", 0, ""},
		{"DataFileDownloadDirectory-labpc-xrd/group", 0, ""},
		{"DataFileDownloadDirectory-labpc-xrd_group_ü", 0, ""},
		{long, 12, ""},
		{long + "x", 12, ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := instanceID(tt.base, tt.index)
		if !legal.MatchString(got) {
			t.Errorf("instanceID(%q, %d) = %q: not a legal group.instance.id", tt.base, tt.index, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("instanceID(%q, %d) = %q, want %q", tt.base, tt.index, got, tt.want)
		}
		if !strings.HasSuffix(got, fmt.Sprintf("-%d", tt.index)) {
			t.Errorf("instanceID(%q, %d) = %q lacks the consumer number", tt.base, tt.index, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q both give %q", other, tt.base, got)
		}
		seen[got] = tt.base
	}
}

func TestStaticBase(t *testing.T) {
	tests := []struct {
		name   string
		static bool
		kafka  map[string]string
		want   string
		on     bool
	}{
		{"fresh group", false, nil, "", false},
		{"fresh group, set in file", false, map[string]string{"group.instance.id": "lab"}, "", false},
		{"fixed group", true, nil, "DataFileDownloadDirectory-pc1-g", true},
		{"auto", true, map[string]string{"group.instance.id": "auto"}, "DataFileDownloadDirectory-pc1-g", true},
		{"set in file", true, map[string]string{"group.instance.id": "lab"}, "lab", true},
		{"empty in file", true, map[string]string{"group.instance.id": " "}, "DataFileDownloadDirectory-pc1-g", true},
		{"turned off", true, map[string]string{"group.instance.id": "None"}, "", false},
	}
	for _, tt := range tests {
		base, on := staticBase(Config{GroupID: "g", StaticMembership: tt.static, Kafka: tt.kafka}, "pc1")
		if base != tt.want || on != tt.on {
			t.Errorf("%s: %q, %v; want %q, %v", tt.name, base, on, tt.want, tt.on)
		}
	}
}

func TestOtherMembers(t *testing.T) {
	member := func(client, instance string) kafka.MemberDescription {
		return kafka.MemberDescription{ClientID: client, GroupInstanceID: instance, Host: "/10.0.0.9"}
	}
	dynamic := newMembership(Config{GroupID: "g", Consumers: 2, Kafka: map[string]string{}}, nil)
	static := newMembership(Config{GroupID: "g", Consumers: 2, Kafka: map[string]string{"group.instance.id": "auto"}, StaticMembership: true}, nil)
	shared := newMembership(Config{GroupID: "g", Consumers: 2, Kafka: map[string]string{"client.id": "lab"}}, nil)
	tests := []struct {
		name          string
		m             *membership
		members       []kafka.MemberDescription
		others, extra int
	}{
		{"only ours, dynamic", dynamic, []kafka.MemberDescription{member(dynamic.clientIDs[0], ""), member(dynamic.clientIDs[1], "")}, 0, 0},
		{"another host, dynamic", dynamic, []kafka.MemberDescription{member(dynamic.clientIDs[0], ""), member("other", "")}, 1, 0},
		{"only ours, static", static, []kafka.MemberDescription{member(static.clientIDs[0], static.instanceIDs[0]), member(static.clientIDs[1], static.instanceIDs[1])}, 0, 0},
		{"our instance ids, left by a killed run", static, []kafka.MemberDescription{member("DataFileDownloadDirectory-old", static.instanceIDs[0])}, 0, 0},
		{"another host, static", static, []kafka.MemberDescription{member(static.clientIDs[0], static.instanceIDs[0]), member("x", "DataFileDownloadDirectory-pc2-g-0")}, 1, 0},
		{"a dynamic member in a static group", static, []kafka.MemberDescription{member(static.clientIDs[0], static.instanceIDs[0]), member(static.clientIDs[1], "")}, 0, 1},
		{"shared client.id, ours only", shared, []kafka.MemberDescription{member("lab", ""), member("lab", "")}, 0, 0},
		{"shared client.id, one more", shared, []kafka.MemberDescription{member("lab", ""), member("lab", ""), member("lab", "")}, 0, 1},
	}
	for _, tt := range tests {
		others, _, extra := tt.m.others(tt.members)
		if len(others) != tt.others || extra != tt.extra {
			t.Errorf("%s: %d others and %d extra, want %d and %d", tt.name, len(others), extra, tt.others, tt.extra)
		}
	}
}

// A fenced consumer is replaced only after trouble with the group (its own
// earlier membership fenced it), and only a few times within the window.
func TestMayReplaceFenced(t *testing.T) {
	m := newMembership(Config{GroupID: "g", Consumers: 2, Kafka: map[string]string{}, StaticMembership: true}, logrus.NewEntry(logrus.New()))
	if m.mayReplaceFenced(1, false) {
		t.Error("replaced a consumer that another process fenced")
	}
	for i := range maxRejoins {
		if !m.mayReplaceFenced(1, true) {
			t.Fatalf("replacement %d after trouble refused", i+1)
		}
	}
	if m.mayReplaceFenced(1, true) {
		t.Errorf("replaced a consumer more than %d times within %v", maxRejoins, rejoinWindow)
	}
	if !m.mayReplaceFenced(0, true) {
		t.Error("another consumer's replacements counted against this one")
	}
	m.rejoins[1][0] = time.Now().Add(-rejoinWindow - time.Second)
	if !m.mayReplaceFenced(1, true) {
		t.Error("a replacement older than the window still counted")
	}
}
