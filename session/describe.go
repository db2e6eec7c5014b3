package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/options"
)

// DescribeVerb is the hidden verb with which the program describes its
// consumer group in a child process (download.DescribeGroup says why):
// the request (client settings, secrets included, and the group) comes on
// stdin, never on the command line, and the answer goes to stdout.
const DescribeVerb = "__describe_consumer_group"

// describeChildTimeout bounds a child; the description inside ends by its own
// timeout before that.
const describeChildTimeout = 30 * time.Second

type describeRequest struct {
	Kafka map[string]string `json:"kafka"`
	Group string            `json:"group"`
}

type describeMember struct {
	ClientID        string `json:"client_id"`
	GroupInstanceID string `json:"group_instance_id"`
	ConsumerID      string `json:"consumer_id"`
	Host            string `json:"host"`
}

type describeAnswer struct {
	State   int              `json:"state"`
	Members []describeMember `json:"members"`
	Error   string           `json:"error,omitempty"`
}

// RunDescribe is the child's side: it reads the request from stdin and
// answers on stdout.
func RunDescribe(ctx context.Context, stdin io.Reader, stdout io.Writer) int {
	var req describeRequest
	var ans describeAnswer
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		ans.Error = fmt.Sprintf("read the request: %v", err)
	} else if desc, err := download.DescribeGroup(ctx, req.Kafka, req.Group); err != nil {
		ans.Error = err.Error()
	} else {
		ans.State = int(desc.State)
		for _, m := range desc.Members {
			ans.Members = append(ans.Members, describeMember{m.ClientID, m.GroupInstanceID, m.ConsumerID, m.Host})
		}
	}
	if err := json.NewEncoder(stdout).Encode(ans); err != nil || ans.Error != "" {
		return options.ExitFailure
	}
	return options.ExitOK
}

// childDescriber describes the group by running exe's describe verb.
func childDescriber(exe string) download.GroupDescriber {
	return func(ctx context.Context, settings map[string]string, group string) (*kafka.ConsumerGroupDescription, error) {
		req, err := json.Marshal(describeRequest{Kafka: settings, Group: group})
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), describeChildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, DescribeVerb)
		cmd.Stdin = bytes.NewReader(req)
		var out bytes.Buffer
		cmd.Stdout = &out
		runErr := cmd.Run()
		var ans describeAnswer
		if err := json.Unmarshal(out.Bytes(), &ans); err != nil {
			return nil, fmt.Errorf("describe the group in a child process: %w", errors.Join(runErr, err))
		}
		if ans.Error != "" {
			return nil, errors.New(ans.Error)
		}
		desc := &kafka.ConsumerGroupDescription{GroupID: group, State: kafka.ConsumerGroupState(ans.State)}
		for _, m := range ans.Members {
			desc.Members = append(desc.Members, kafka.MemberDescription{
				ClientID: m.ClientID, GroupInstanceID: m.GroupInstanceID, ConsumerID: m.ConsumerID, Host: m.Host,
			})
		}
		return desc, nil
	}
}

// selfDescriber is childDescriber for this program, or nil (describe in
// this process) when its path cannot be found.
func selfDescriber() download.GroupDescriber {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return childDescriber(exe)
}
