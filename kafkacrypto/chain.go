package kafkacrypto

import (
	"errors"
	"fmt"
	"strings"
)

// cert is one certificate of a chain: [max_age, poison, public key(s),
// extra items...]. max_age is a Unix time in seconds, 0 meaning never.
type cert struct {
	maxAge float64
	poison [][2]any
	keys   keySet
	extra  []any
}

func parseCert(raw []byte) (cert, error) {
	v, err := unpack(raw)
	if err != nil {
		return cert{}, fmt.Errorf("certificate: %v", err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 3 {
		return cert{}, errors.New("certificate: not an array of at least 3 items")
	}
	var c cert
	if c.maxAge, err = asNumber(arr[0], "certificate max age"); err != nil {
		return cert{}, err
	}
	poisonRaw, err := asBytes(arr[1], "certificate poison")
	if err != nil {
		return cert{}, err
	}
	if c.poison, err = parsePoison(poisonRaw); err != nil {
		return cert{}, err
	}
	if c.keys, err = parseKeys(arr[2]); err != nil {
		return cert{}, err
	}
	c.extra = arr[3:]
	return c, nil
}

// Validated is what a chain proves about its last certificate.
type Validated struct {
	MaxAge float64 // the earliest expiry along the chain; 0: never
	Topics []string
	Usages []string
	// Keys are the leaf's public keys (a request's or answer's exchange
	// keys); Extra its items after the keys.
	Keys  []publicKey
	Extra []any
}

// ChainError says why a chain was refused, with one line per root tried.
type ChainError struct{ Reasons []string }

func (e *ChainError) Error() string {
	if len(e.Reasons) == 0 {
		return "no root of trust to check the chain against"
	}
	return "chain of trust refused: " + strings.Join(e.Reasons, "; ")
}

// trustLists are a node's roots of trust (allowlist) and refused keys
// (denylist), each entry a packed certificate [max_age, poison, key].
type trustLists struct {
	allow, deny [][]byte
}

func (t trustLists) find(k publicKey, list [][]byte) ([]byte, bool) {
	for _, entry := range list {
		c, err := parseCert(entry)
		if err != nil || c.keys.one == nil {
			continue
		}
		if c.keys.one.equal(k) {
			return entry, true
		}
	}
	return nil, false
}

// processChain checks a chain as kafkacrypto's process_chain does: chain
// is a packed array of signed certificates; the first must be signed by a
// root of trust from the allowlist, each next one by the key of the one
// before it. Restrictions narrow along the way; keys on the denylist break
// the chain unless a later key is itself on the allowlist. The result must
// not be expired at now, must allow topic and usage (when not empty), and
// must respect every pathlen.
func processChain(chainRaw []byte, topic, usage string, lists trustLists, now float64) (*Validated, error) {
	if len(lists.allow) == 0 {
		return nil, &ChainError{}
	}
	v, err := unpack(chainRaw)
	if err != nil {
		return nil, &ChainError{Reasons: []string{"not a chain: " + err.Error()}}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &ChainError{Reasons: []string{"not a chain: expected an array"}}
	}
	signed := make([][]byte, len(items))
	for i, item := range items {
		if signed[i], ok = item.([]byte); !ok {
			return nil, &ChainError{Reasons: []string{"not a chain: an item is not bytes"}}
		}
	}
	cerr := &ChainError{}
	for _, rot := range lists.allow {
		res, err := chainFrom(rot, signed, topic, usage, lists, now)
		if err == nil {
			return res, nil
		}
		cerr.Reasons = append(cerr.Reasons, err.Error())
	}
	return nil, cerr
}

func chainFrom(rot []byte, signed [][]byte, topic, usage string, lists trustLists, now float64) (*Validated, error) {
	if len(signed) < 1 {
		return nil, errors.New("chain too short")
	}
	pk, err := parseCert(rot)
	if err != nil {
		return nil, fmt.Errorf("root: %v", err)
	}
	if pk.keys.one == nil {
		return nil, errors.New("root is not a single key")
	}
	var acc poison
	denylisted := false
	for i, item := range signed {
		if pk.keys.one == nil {
			return nil, fmt.Errorf("certificate %d: signed by a key list", i+1)
		}
		signer := *pk.keys.one
		if _, ok := lists.find(signer, lists.deny); ok {
			denylisted = true
		} else if entry, ok := lists.find(signer, lists.allow); ok {
			denylisted = false
			allowed, _ := parseCert(entry)
			if pk, acc, err = intersect(pk, allowed, true); err != nil {
				return nil, err
			}
		}
		msg, err := signer.open(item)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: invalid signing (%v)", i+1, err)
		}
		next, err := parseCert(msg)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", i+1, err)
		}
		if pk, acc, err = intersect(pk, next, false); err != nil {
			return nil, err
		}
	}
	// The leaf key(s): allowlisted ones clear the parents' denial,
	// denylisted ones are dropped (a single one breaks the chain).
	var leaf []publicKey
	if pk.keys.one != nil {
		if _, ok := lists.find(*pk.keys.one, lists.allow); ok {
			denylisted = false
		}
		if _, ok := lists.find(*pk.keys.one, lists.deny); ok {
			denylisted = true
		}
		leaf = []publicKey{*pk.keys.one}
	} else {
		for _, k := range pk.keys.list {
			if _, ok := lists.find(k, lists.allow); ok && !k.kem {
				denylisted = false
			}
			if _, ok := lists.find(k, lists.deny); ok && !k.kem {
				continue
			}
			leaf = append(leaf, k)
		}
		if len(leaf) < 1 {
			denylisted = true
		}
	}
	switch {
	case denylisted:
		return nil, errors.New("chain uses a denylisted public key")
	case pk.maxAge != 0 && pk.maxAge < now:
		return nil, errors.New("expired chain")
	case topic != "" && !acc.allows("topics", topic):
		return nil, fmt.Errorf("topic %q is not allowed by the chain", topic)
	case usage != "" && !acc.allows("usages", usage):
		return nil, fmt.Errorf("usage %q is not allowed by the chain", usage)
	case !acc.pathOK():
		return nil, errors.New("exceeded allowed pathlen")
	}
	return &Validated{MaxAge: pk.maxAge, Topics: acc.topics, Usages: acc.usages, Keys: leaf, Extra: pk.extra}, nil
}

// intersect is kafkacrypto's intersect_certs: the earliest non-zero expiry,
// the narrowed poison, and the child's keys and extra items.
func intersect(parent, child cert, sameKey bool) (cert, poison, error) {
	out := cert{maxAge: parent.maxAge, keys: child.keys, extra: child.extra}
	if child.maxAge > 0 && (child.maxAge < parent.maxAge || parent.maxAge == 0) {
		out.maxAge = child.maxAge
	}
	p, err := intersectPoisons(parent.poison, child.poison, sameKey)
	if err != nil {
		return cert{}, poison{}, err
	}
	out.poison = p.items()
	return out, p, nil
}
