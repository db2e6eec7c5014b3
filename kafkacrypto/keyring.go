package kafkacrypto

import (
	"context"
	"sync"
	"time"
)

// keyring holds the topic secrets this node has received, by key index, and
// wakes whoever waits for one. Secrets stay in memory only.
type keyring struct {
	mu      sync.Mutex
	secrets map[string][]byte
	changed chan struct{} // closed and replaced whenever a secret arrives
}

func newKeyring() *keyring {
	return &keyring{secrets: map[string][]byte{}, changed: make(chan struct{})}
}

func (k *keyring) get(ki KeyIndex) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.secrets[ki.id]
	return s, ok
}

// add stores secrets; it returns the key indices that are new.
func (k *keyring) add(secrets map[string]keySecret) []KeyIndex {
	k.mu.Lock()
	defer k.mu.Unlock()
	var added []KeyIndex
	for id, ks := range secrets {
		if _, ok := k.secrets[id]; ok {
			continue
		}
		k.secrets[id] = ks.secret
		added = append(added, ks.index)
	}
	if len(added) > 0 {
		close(k.changed)
		k.changed = make(chan struct{})
	}
	return added
}

// wait returns the secret of ki as soon as it is there, or false at the
// deadline or when ctx ends.
func (k *keyring) wait(ctx context.Context, ki KeyIndex, deadline time.Time) ([]byte, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		k.mu.Lock()
		s, ok := k.secrets[ki.id]
		changed := k.changed
		k.mu.Unlock()
		if ok {
			return s, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-timer.C:
			return nil, false
		case <-changed:
		}
	}
}
