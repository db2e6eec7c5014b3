module github.com/openmsi/datafiledownloaddirectory

go 1.26.8

require (
	github.com/confluentinc/confluent-kafka-go/v2 v2.11.1
	github.com/google/uuid v1.6.0
	github.com/kardianos/service v1.3.0
	github.com/sirupsen/logrus v1.10.2
	github.com/spf13/pflag v1.1.0
	github.com/tinylib/msgp v1.6.5
	golang.org/x/sys v0.34.0
	gopkg.in/natefinch/lumberjack.v2 v2.2.1
)

require github.com/philhofer/fwd v1.2.0 // indirect
