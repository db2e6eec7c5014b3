package kafkacrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"
)

// A real producer's answer (kafkacrypto's encrypt_keys) to a real
// consumer's request opens with that request's ephemeral key.
func TestOpenKafkaCryptoAnswer(t *testing.T) {
	v := loadVectors(t)
	ex := v.Exchange
	n, err := LoadNode("testdata/node/cons/cons.config", time.Unix(int64(ex.Now), 0))
	if err != nil {
		t.Fatal(err)
	}
	req := &request{random0: unhex(t, ex.Random0)}
	copy(req.esk[:], unhex(t, ex.ConsumerESK))
	pending := func(r0 []byte) *request {
		if bytes.Equal(r0, req.random0) {
			return req
		}
		return nil
	}
	got, err := n.openAnswer(ex.Root, unhex(t, ex.Answer), pending, ex.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ex.Keys) {
		t.Fatalf("%d keys, want %d", len(got), len(ex.Keys))
	}
	for ki, secret := range ex.Keys {
		ks, ok := got["b"+string(unhex(t, ki))]
		if !ok || hex.EncodeToString(ks.secret) != secret {
			t.Errorf("key index %s: got %x", ki, ks.secret)
		}
	}
	if _, err := n.openAnswer(ex.Root, unhex(t, ex.Answer), func([]byte) *request { return nil }, ex.Now); !errors.Is(err, errNotOurs) {
		t.Errorf("answer to someone else's request: %v", err)
	}
	if _, err := n.openAnswer("otherroot", unhex(t, ex.Answer), pending, ex.Now); err == nil {
		t.Error("an answer for another root was accepted")
	}
	if _, err := n.openAnswer(ex.Root, unhex(t, ex.Answer), pending, ex.Now+2*86400); err == nil {
		t.Error("an expired answer was accepted")
	}
	other := *req
	other.esk[1] ^= 1 // (bit 0 of byte 0 is cleared by X25519's clamping)
	if _, err := n.openAnswer(ex.Root, unhex(t, ex.Answer), func([]byte) *request { return &other }, ex.Now); err == nil {
		t.Error("opened with another ephemeral key")
	}
}

// A request is signed by the node and carries its chain, so a producer
// that trusts the same root accepts it for key-encrypt-request; its fields
// are where kafkacrypto's producers read them.
func TestRequestSigning(t *testing.T) {
	n, err := LoadNode("testdata/node/cons/cons.config", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ki, _ := keyIndexOf(bytes.Repeat([]byte{5}, 32))
	now := float64(time.Now().Unix())
	key, value, req, err := n.newRequest("lab", []KeyIndex{ki}, now)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := unpack(key); err != nil || len(k.([]any)) != 1 || !bytes.Equal(k.([]any)[0].([]byte), ki.raw.([]byte)) {
		t.Errorf("request key %x: %v", key, err)
	}
	for _, usage := range []string{usageRequest, usageSubscribe} {
		got, err := processChain(value, "lab", usage, n.lists, now)
		if err != nil {
			t.Fatalf("%s: %v", usage, err)
		}
		epk, _ := curve25519.X25519(req.esk[:], curve25519.Basepoint)
		if len(got.Keys) != 1 || !bytes.Equal(got.Keys[0].key, epk) || len(got.Extra) != 1 || !bytes.Equal(got.Extra[0].([]byte), req.random0) {
			t.Errorf("request fields: %+v", got)
		}
		if want := min(now+n.maxAge, n.chainMax); got.MaxAge != want {
			t.Errorf("request expires %v, want %v (the earlier of its own expiry and the chain's)", got.MaxAge, want)
		}
	}
	if _, err := processChain(value, "other", usageRequest, n.lists, now); err == nil {
		t.Error("a request for one root validated for another")
	}
	if _, err := processChain(value, "lab", usageKeyEncrypt, n.lists, now); err == nil {
		t.Error("a request validated as a key answer")
	}
	// Tampering with any byte of the signed part breaks it.
	bad := bytes.Clone(value)
	bad[len(bad)-5] ^= 1
	if _, err := processChain(bad, "lab", usageRequest, n.lists, now); err == nil {
		t.Error("a tampered request validated")
	}
}
