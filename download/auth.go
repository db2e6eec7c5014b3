package download

import (
	"fmt"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/internal/ratelimit"
)

// A wrong password or an untrusted broker certificate does not fix itself:
// librdkafka retries every few seconds, and each retry brings an error
// event, an "all brokers are down" event and a log line of its own. The
// user gets one error that says what to change, repeated at most once per
// credentialsRepeatInterval while it goes on, and none of the follow-ups.
const credentialsRepeatInterval = time.Hour

// credentialsLimiter is shared by every Downloader: one program, one
// config file.
var credentialsLimiter = &ratelimit.Limiter{Every: credentialsRepeatInterval}

// credentialsError reports an authentication or TLS failure and reports
// whether e was one (or one of its follow-ups), which the caller then
// leaves alone.
func (d *Downloader) credentialsError(e kafka.Error, log *logrus.Entry) bool {
	var kind, msg string
	switch {
	case isTLSFailure(e) && (e.Code() == kafka.ErrSsl || e.Code() == kafka.ErrAuthentication || e.Code() == kafka.ErrTransport):
		kind = "tls"
		msg = fmt.Sprintf("cannot open a TLS connection to the Kafka broker (%v). If its certificate is signed by your "+
			"organisation's own CA, set ssl.ca.location in the config file to that CA's PEM file; check also "+
			"security.protocol and that bootstrap.servers names the broker as its certificate does. Retrying in the "+
			"background; this is reported again at most once an hour while it goes on", e)
	case e.Code() == kafka.ErrAuthentication:
		kind = "auth"
		msg = fmt.Sprintf("the Kafka broker refused this program's credentials (%v). Check sasl.username (%q), "+
			"sasl.password and sasl.mechanism in the config file, and the environment variables they are taken from; "+
			"the user must exist on the broker with that password. Retrying in the background; this is reported "+
			"again at most once an hour while it goes on", e, d.cfg.Kafka["sasl.username"])
	case e.Code() == kafka.ErrAllBrokersDown:
		// The brokers count as down because they refused us.
		return d.credentialsFailed.Load()
	default:
		return false
	}
	d.credentialsFailed.Store(true)
	if held, ok := credentialsLimiter.Allow("credentials " + kind); ok {
		if held > 0 {
			msg += fmt.Sprintf(" (%d more failures since the last report)", held)
		}
		log.Error(msg)
	} else {
		log.Debug(e.Error())
	}
	return true
}

// isTLSFailure: librdkafka reports a certificate it cannot verify as an
// SSL error, or as a transport error while the connection is set up.
func isTLSFailure(e kafka.Error) bool {
	s := strings.ToLower(e.Error())
	return e.Code() == kafka.ErrSsl || strings.Contains(s, "ssl handshake") || strings.Contains(s, "certificate") ||
		strings.Contains(s, "ssl routines")
}

// assigned is called by consumer index after each rebalance: the broker
// took our credentials, its group session is alive, and the group may
// have changed.
func (d *Downloader) assigned(index int) {
	d.credentialsFailed.Store(false)
	d.sessionLost[index].Store(false)
	d.members.assigned()
}
