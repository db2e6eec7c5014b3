//go:build !cgo || dynamic

package sha512x

const linksBundle = false
