//go:build cgo && !dynamic

package sha512x

// linksBundle: confluent-kafka-go links its static librdkafka bundle.
const linksBundle = true
