// Package download rebuilds files that OpenMSIStream uploaded as chunk
// messages to a Kafka topic. It decodes messages, checks paths, assembles
// files on disk under crash-safe rules and runs the consumer group that feeds
// them. It knows nothing of consoles or services: it runs until its context
// is cancelled and reports progress through Status.
package download
