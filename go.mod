module github.com/openmsi/datafiledownloaddirectory

go 1.26.8

require (
	github.com/confluentinc/confluent-kafka-go/v2 v2.11.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/kardianos/service v1.3.0 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/sirupsen/logrus v1.10.2 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	github.com/tinylib/msgp v1.6.5 // indirect
	golang.org/x/mod v0.18.0 // indirect
	golang.org/x/sys v0.34.0 // indirect
	golang.org/x/tools v0.22.0 // indirect
	gopkg.in/ini.v1 v1.68.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
