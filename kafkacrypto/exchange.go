package kafkacrypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/secretbox"
)

// Usages a chain must allow, as kafkacrypto names them.
const (
	usageKeyEncrypt = "key-encrypt"         // producers answering with keys
	usageRequest    = "key-encrypt-request" // consumers asking producers directly
	usageSubscribe  = "key-encrypt-subscribe"
)

// request is one key request this node sent: the ephemeral X25519 key the
// answer is encrypted to, found again by the request's random value.
type request struct {
	random0 []byte
	esk     [32]byte
	expires float64
}

// newRequest makes a request for the given key indices of root, as
// kafkacrypto's signed_epks does for one Ed25519 signing key: the message
// key is the packed list of key indices; the value is the node's chain with
// one more certificate, signed by the node: [expiry, poison (this root;
// request and subscribe usages), [ephemeral X25519 public key], random0].
func (n *Node) newRequest(root string, kis []KeyIndex, now float64) (key, value []byte, req *request, err error) {
	req = &request{random0: make([]byte, 32), expires: now + n.maxAge}
	if _, err := rand.Read(req.random0); err != nil {
		return nil, nil, nil, err
	}
	if _, err := rand.Read(req.esk[:]); err != nil {
		return nil, nil, nil, err
	}
	epk, err := curve25519.X25519(req.esk[:], curve25519.Basepoint)
	if err != nil {
		return nil, nil, nil, err
	}
	poison := pack([]any{
		[]any{"topics", []string{root}},
		[]any{"usages", []string{usageRequest, usageSubscribe}},
	})
	msg := pack([]any{req.expires, poison, []any{epk}, req.random0})
	items := append(append([]any{}, n.chainItems...), append(ed25519.Sign(n.signKey, msg), msg...))
	list := make([]any, len(kis))
	for i, ki := range kis {
		list[i] = ki.raw
	}
	return pack(list), pack(items), req, nil
}

// errNotOurs: an answer to another node's request (every consumer of the
// root reads the same .keys topic).
var errNotOurs = errors.New("answer to a request this node did not send")

// openAnswer checks and opens a producer's answer from <root>.keys: its
// chain must lead to one of the node's roots of trust and allow usage
// key-encrypt for root; its random0 must be one of this node's pending
// requests. The secrets are encrypted with sha256(root || random0 ||
// random1 || X25519(our ephemeral key, theirs)) as the secretbox key, the
// nonce in front. Returns the topic secrets by key index.
func (n *Node) openAnswer(root string, value []byte, pending func(random0 []byte) *request, now float64) (map[string]keySecret, error) {
	v, err := processChain(value, root, usageKeyEncrypt, n.lists, now)
	if err != nil {
		return nil, err
	}
	if len(v.Extra) < 2 {
		return nil, errors.New("answer has no key material")
	}
	randoms, err := asArray(v.Extra[0], "answer randoms")
	if err != nil || len(randoms) < 2 {
		return nil, errors.New("answer randoms: expected [random0, random1]")
	}
	random0, err0 := asBytes(randoms[0], "random0")
	random1, err1 := asBytes(randoms[1], "random1")
	boxed, err2 := asBytes(v.Extra[1], "answer ciphertext")
	if err := errors.Join(err0, err1, err2); err != nil {
		return nil, err
	}
	req := pending(random0)
	if req == nil {
		return nil, errNotOurs
	}
	if len(boxed) < nonceSize+secretbox.Overhead {
		return nil, errors.New("answer ciphertext too short")
	}
	var nonce [nonceSize]byte
	copy(nonce[:], boxed[:nonceSize])
	for _, k := range v.Keys {
		if k.kem || k.version != 1 || len(k.key) != 32 {
			continue // a post-quantum exchange key: not for this node
		}
		shared, err := curve25519.X25519(req.esk[:], k.key)
		if err != nil {
			continue
		}
		h := sha256.New()
		h.Write([]byte(root))
		h.Write(random0)
		h.Write(random1)
		h.Write(shared)
		var ss [32]byte
		copy(ss[:], h.Sum(nil))
		plain, ok := secretbox.Open(nil, boxed[nonceSize:], &nonce, &ss)
		if !ok {
			continue
		}
		return parseSecrets(plain)
	}
	return nil, errors.New("no exchange key of the answer opens it")
}

type keySecret struct {
	index  KeyIndex
	secret []byte
}

// parseSecrets reads the packed [key index, secret, key index, secret, ...].
func parseSecrets(plain []byte) (map[string]keySecret, error) {
	v, err := unpack(plain)
	if err != nil {
		return nil, fmt.Errorf("answer keys: %v", err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 || len(arr)%2 != 0 {
		return nil, errors.New("answer keys: expected pairs of key index and secret")
	}
	out := make(map[string]keySecret, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		ki, err := keyIndexOf(arr[i])
		if err != nil {
			return nil, fmt.Errorf("answer keys: %v", err)
		}
		secret, ok := arr[i+1].([]byte)
		if !ok || len(secret) != secretSize {
			return nil, errors.New("answer keys: a secret is not 32 bytes")
		}
		out[ki.id] = keySecret{index: ki, secret: secret}
	}
	return out, nil
}
