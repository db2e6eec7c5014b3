package kafkacrypto

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// Every case was judged by kafkacrypto's process_chain (kc_vectors.py): a
// consumer's request checked by a producer, with the right and a wrong root,
// a denylisted consumer, a chain limited to another topic, a short-lived
// chain before and after it expires, and a producer's answer.
func TestProcessChainAgainstKafkaCrypto(t *testing.T) {
	v := loadVectors(t)
	if len(v.Chains) < 10 {
		t.Fatalf("only %d chain cases", len(v.Chains))
	}
	for _, c := range v.Chains {
		var topic, usage string
		if c.Topic != nil {
			topic = *c.Topic
		}
		if c.Usage != nil {
			usage = *c.Usage
		}
		lists := trustLists{allow: unhexAll(t, c.Allowlist), deny: unhexAll(t, c.Denylist)}
		got, err := processChain(unhex(t, c.Chain), topic, usage, lists, c.Now)
		if (err == nil) != c.OK {
			t.Errorf("%s: kafkacrypto says ok=%v, got %v", c.Name, c.OK, err)
			continue
		}
		if err == nil && got.MaxAge != c.Maxage {
			t.Errorf("%s: max age %v, kafkacrypto %v", c.Name, got.MaxAge, c.Maxage)
		}
	}
}

// The reasons a chain is refused are named, so that a log line can say
// what is wrong with a node's provisioning.
func TestProcessChainReasons(t *testing.T) {
	v := loadVectors(t)
	want := map[string]string{
		"consumer request, wrong root":            "invalid signing",
		"consumer request, denylisted":            "denylisted",
		"short chain, expired":                    "expired",
		"consumer chain limited to another topic": "topic",
		"consumer request used as a key answer":   "usage",
	}
	for _, c := range v.Chains {
		w, ok := want[c.Name]
		if !ok {
			continue
		}
		delete(want, c.Name)
		lists := trustLists{allow: unhexAll(t, c.Allowlist), deny: unhexAll(t, c.Denylist)}
		_, err := processChain(unhex(t, c.Chain), *c.Topic, *c.Usage, lists, c.Now)
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %v, want a reason with %q", c.Name, err, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("cases missing from the vectors: %v", want)
	}
}

// Hand-made chains for the rules the vectors do not reach.
func TestProcessChainRules(t *testing.T) {
	rootPub, rootKey, _ := ed25519.GenerateKey(nil)
	nodePub, nodeKey, _ := ed25519.GenerateKey(nil)
	rot := pack([]any{int64(0), pack([]any{}), []byte(rootPub)})
	sign := func(k ed25519.PrivateKey, c []any) []byte {
		msg := pack(c)
		return append(ed25519.Sign(k, msg), msg...)
	}
	poisonOf := func(items ...[]any) []byte {
		list := make([]any, len(items))
		for i, it := range items {
			list[i] = it
		}
		return pack(list)
	}
	usages := func(u ...string) []any { return []any{"usages", u} }
	topics := func(tp ...string) []any { return []any{"topics", tp} }
	nodeCert := func(p []byte, maxAge float64) []byte {
		return sign(rootKey, []any{maxAge, p, []byte(nodePub)})
	}
	leaf := func(p []byte) []byte {
		return sign(nodeKey, []any{2000.0, p, []any{make([]byte, 32)}, []byte("r0")})
	}
	lists := trustLists{allow: [][]byte{rot}}
	check := func(name string, chain []any, topic, usage string, l trustLists, ok bool) {
		t.Helper()
		_, err := processChain(pack(chain), topic, usage, l, 1000)
		if (err == nil) != ok {
			t.Errorf("%s: ok=%v expected, got %v", name, ok, err)
		}
	}
	good := nodeCert(poisonOf(usages("key-encrypt"), topics("^lab.*$"), []any{"pathlen", int64(1)}), 0)
	answer := leaf(poisonOf(topics("labA"), usages("key-encrypt")))
	check("regex topic allows a literal", []any{good, answer}, "labA", "key-encrypt", lists, true)
	check("regex topic does not allow another", []any{good, answer}, "other", "key-encrypt", lists, false)
	check("no usage asked", []any{good, answer}, "labA", "", lists, true)
	check("pathlen 0 forbids a further certificate",
		[]any{nodeCert(poisonOf(usages("key-encrypt"), topics("^.*$"), []any{"pathlen", int64(0)}), 0), answer},
		"labA", "key-encrypt", lists, false)
	check("allowlist usage implies pathlen 0",
		[]any{nodeCert(poisonOf(usages("key-encrypt", "key-allowlist"), topics("^.*$")), 0), answer},
		"labA", "key-encrypt", lists, false)
	check("no topics restriction means no topic allowed",
		[]any{nodeCert(poisonOf(usages("key-encrypt")), 0), leaf(poisonOf(usages("key-encrypt")))},
		"labA", "key-encrypt", lists, false)
	check("unknown poison", []any{nodeCert(poisonOf([]any{"colour", "red"}), 0), answer}, "labA", "key-encrypt", lists, false)
	check("expired middle certificate", []any{nodeCert(poisonOf(usages("key-encrypt"), topics("^.*$")), 999), answer},
		"labA", "key-encrypt", lists, false)
	deny := pack([]any{int64(0), pack([]any{}), []byte(nodePub)})
	check("denylisted signer", []any{good, answer}, "labA", "key-encrypt", trustLists{allow: lists.allow, deny: [][]byte{deny}}, false)
	check("a key both allowlisted and denylisted is denied", []any{good, answer}, "labA", "key-encrypt",
		trustLists{allow: [][]byte{rot, pack([]any{int64(0), poisonOf(usages("key-encrypt"), topics("^.*$")), []byte(nodePub)})}, deny: [][]byte{deny}}, false)
	rootDeny := pack([]any{int64(0), pack([]any{}), []byte(rootPub)})
	check("an allowlisted key below a denylisted one clears the denial", []any{good, answer}, "labA", "key-encrypt",
		trustLists{allow: [][]byte{rot, pack([]any{int64(0), poisonOf(usages("key-encrypt"), topics("^lab.*$")), []byte(nodePub)})}, deny: [][]byte{rootDeny}}, true)
	check("a denylisted root", []any{good, answer}, "labA", "key-encrypt", trustLists{allow: lists.allow, deny: [][]byte{rootDeny}}, false)
	tampered := append([]byte{}, answer...)
	tampered[len(tampered)-1] ^= 1
	check("tampered leaf", []any{good, tampered}, "labA", "key-encrypt", lists, false)
	check("empty chain", []any{}, "labA", "key-encrypt", lists, false)
	check("no roots", []any{good, answer}, "labA", "key-encrypt", trustLists{}, false)
}
