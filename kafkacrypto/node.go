package kafkacrypto

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Node is a provisioned KafkaCrypto consumer node: its signing key, its
// chain of trust and its roots of trust, from the files that kafkacrypto's
// provisioning wrote (<node_id>.config, <node_id>.crypto).
type Node struct {
	ID         string
	ConfigPath string
	CryptoPath string

	signKey    ed25519.PrivateKey
	chainItems []any // the node's chain: signed certificates, root first
	chainMax   float64
	lists      trustLists
	maxAge     float64 // how long requests are valid, seconds

	separator                          string
	suffixReqs, suffixSubs, suffixKeys string
	// direct: the chain allows asking producers directly on <root>.reqs
	// (key-encrypt-request), not only through a controller on .subs.
	direct bool
}

// FindNodeConfig finds a node's .config file as OpenMSIStream 1.8 does from
// its config file's [kafkacrypto] section: configFile (the section's
// config_file, "file#" prefix allowed) when given, relative to the current
// folder and then to the folder of the OpenMSIStream config; else
// <dir>/<node_id>/<node_id>.config for dir = defaultDir (OpenMSIStream's
// config folder), the OpenMSIStream config's folder, the current folder.
// The error names every place looked at.
func FindNodeConfig(nodeID, configFile, openMSIConfig, defaultDir string) (string, error) {
	var candidates []string
	if configFile != "" {
		p := strings.TrimPrefix(configFile, "file#")
		candidates = append(candidates, p)
		if !filepath.IsAbs(p) {
			candidates = append(candidates, filepath.Join(filepath.Dir(openMSIConfig), p))
		}
	} else {
		if nodeID == "" || strings.ContainsAny(nodeID, `/\`) || nodeID == "." || nodeID == ".." {
			return "", fmt.Errorf("[kafkacrypto] node_id %q is not a node name", nodeID)
		}
		for _, dir := range []string{defaultDir, filepath.Dir(openMSIConfig), "."} {
			if dir != "" {
				candidates = append(candidates, filepath.Join(dir, nodeID, nodeID+".config"))
			}
		}
	}
	var looked []string
	for _, c := range candidates {
		abs, err := filepath.Abs(c)
		if err != nil {
			abs = c
		}
		if info, err := os.Stat(abs); err == nil && !info.IsDir() {
			return abs, nil
		}
		looked = append(looked, abs)
	}
	what := "the KafkaCrypto node config file " + configFile
	if configFile == "" {
		what = fmt.Sprintf("no KafkaCrypto node %q", nodeID)
		return "", fmt.Errorf("%s: looked for %s; provision the node (see docs/kafkacrypto.md) and put its folder %s beside the config file",
			what, strings.Join(looked, ", "), nodeID)
	}
	return "", fmt.Errorf("%s was not found: looked for %s", what, strings.Join(looked, ", "))
}

// LoadNode reads a node from its .config file and the .crypto file that it
// names. Every problem is an error that names the file and what to do.
func LoadNode(configPath string, now time.Time) (*Node, error) {
	data, err := os.ReadFile(configPath)
	if err != nil {
		return nil, fileError("KafkaCrypto node config file", configPath, err)
	}
	cfg, err := parseNodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("KafkaCrypto node config file %s: %v", configPath, err)
	}
	n := &Node{ConfigPath: configPath}
	n.ID, _ = cfg.value("DEFAULT", "node_id")
	if n.ID == "" {
		return nil, fmt.Errorf("KafkaCrypto node config file %s: no node_id in [DEFAULT]; is this a file made by kafkacrypto's provisioning?", configPath)
	}
	sec := func(s string) string { return n.ID + "-" + s }
	opt := func(name, def string) string {
		if v, ok := cfg.value(n.ID, name); ok && v != "" {
			return v
		}
		return def
	}
	n.separator = opt("topic_separator", ".")
	n.suffixReqs = opt("topic_suffix_reqs", ".reqs")
	n.suffixSubs = opt("topic_suffix_subs", ".subs")
	n.suffixKeys = opt("topic_suffix_keys", ".keys")
	n.maxAge = 86400
	if v, ok := cfg.value(sec("crypto"), "maxage"); ok {
		if f, ok := decodeNumber(v); ok && f > 0 {
			n.maxAge = f
		}
	}
	for _, v := range cfg.values(sec("allowlist")) {
		if b, ok := decodeBytes(v); ok {
			n.lists.allow = append(n.lists.allow, b)
		}
	}
	for _, v := range cfg.values(sec("denylist")) {
		if b, ok := decodeBytes(v); ok {
			n.lists.deny = append(n.lists.deny, b)
		}
	}
	if len(n.lists.allow) == 0 {
		return nil, fmt.Errorf("KafkaCrypto node %s (%s): no root of trust in [%s]; the node is not provisioned", n.ID, configPath, sec("allowlist"))
	}

	cryptoName := strings.TrimPrefix(opt("cryptokey", n.ID+".crypto"), "file#")
	n.CryptoPath = cryptoName
	if !filepath.IsAbs(cryptoName) {
		// OpenMSIStream starts kafkacrypto in the node config's folder.
		n.CryptoPath = filepath.Join(filepath.Dir(configPath), cryptoName)
	}
	if err := n.loadCryptoKey(cfg); err != nil {
		return nil, err
	}
	if err := n.pickChain(cfg.values(sec("chains")), float64(now.UnixNano())/1e9); err != nil {
		return nil, err
	}
	return n, nil
}

func fileError(what, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s does not exist", what, path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s %s cannot be read (permission denied): the user running this program must be allowed to read it", what, path)
	}
	return fmt.Errorf("%s %s cannot be read: %v", what, path, err)
}

// loadCryptoKey reads the node's private keys: kafkacrypto's .crypto file
// is one MessagePack array, [2, [signing secret keys], wrapping key,
// legacy flag, [exchange key types]] (older files: [signing key, wrapping
// key] or version 1 with a single signing key). Only the Ed25519 signing
// key (64 bytes, libsodium's seed-then-public layout) is used.
func (n *Node) loadCryptoKey(cfg *nodeConfig) error {
	data, err := os.ReadFile(n.CryptoPath)
	if err != nil {
		return fileError("KafkaCrypto node key file", n.CryptoPath, err)
	}
	bad := func(why string) error {
		return fmt.Errorf("KafkaCrypto node key file %s: %s", n.CryptoPath, why)
	}
	// kafkacrypto tolerates trailing bytes after the array.
	v, _, err := unpackOne(data, 0)
	if err != nil {
		return bad("not a kafkacrypto key file (" + err.Error() + ")")
	}
	arr, ok := v.([]any)
	if !ok {
		return bad("not a kafkacrypto key file")
	}
	var signing []any
	exchangeTypes := []any{int64(1)}
	switch {
	case len(arr) == 2:
		signing = []any{arr[0]}
	case len(arr) >= 5 && (arr[0] == int64(1) || arr[0] == int64(2)):
		if arr[0] == int64(1) {
			signing = []any{arr[1]}
		} else if signing, ok = arr[1].([]any); !ok {
			return bad("its signing keys are not a list")
		}
		if exchangeTypes, ok = arr[4].([]any); !ok {
			return bad("its key exchange types are not a list")
		}
	default:
		return bad("unknown key file layout")
	}
	if kt, ok := cfg.value(n.ID, "keytypes"); ok && kt != "" && !listHasOne(kt) {
		return fmt.Errorf("KafkaCrypto node %s limits its keys to types %s; this program signs only with Ed25519 (type 1)", n.ID, kt)
	}
	for _, s := range signing {
		if b, ok := s.([]byte); ok && len(b) == ed25519.PrivateKeySize {
			n.signKey = ed25519.PrivateKey(b)
			break
		}
	}
	if n.signKey == nil {
		return bad("no Ed25519 signing key (this program does not support post-quantum signing keys)")
	}
	hasX25519 := false
	for _, t := range exchangeTypes {
		if t == int64(1) {
			hasX25519 = true
		}
	}
	if !hasX25519 {
		return bad("the node does not allow X25519 key exchange (type 1), the only one this program supports")
	}
	return nil
}

func listHasOne(s string) bool {
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "1" {
			return true
		}
	}
	return false
}

// pickChain takes the chain in [<node>-chains] that ends in the node's
// signing key and that its roots of trust accept, as kafkacrypto does
// when it loads a node.
func (n *Node) pickChain(chains []string, now float64) error {
	pub := publicKey{version: 1, key: []byte(n.signKey.Public().(ed25519.PublicKey))}
	var reasons []string
	for _, c := range chains {
		raw, ok := decodeBytes(c)
		if !ok {
			continue
		}
		v, err := processChain(raw, "", "", n.lists, now)
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		if len(v.Keys) != 1 || !v.Keys[0].equal(pub) {
			reasons = append(reasons, "a chain for another key")
			continue
		}
		items, _ := unpack(raw)
		n.chainItems = items.([]any)
		n.chainMax = v.MaxAge
		_, err = processChain(raw, "", usageRequest, n.lists, now)
		n.direct = err == nil
		return nil
	}
	if len(reasons) == 0 {
		reasons = []string{"there is none"}
	}
	return fmt.Errorf("KafkaCrypto node %s (%s) has no valid chain of trust for its signing key (%s): provision the node again",
		n.ID, n.ConfigPath, strings.Join(reasons, "; "))
}

// Root is the root of a topic: its name up to the first separator, whose
// side topics carry its keys.
func (n *Node) Root(topic string) string {
	if i := strings.Index(topic, n.separator); i >= 0 && n.separator != "" {
		return topic[:i]
	}
	return topic
}

// ChainExpires is when the node's own chain of trust expires (zero: never).
func (n *Node) ChainExpires() time.Time {
	if n.chainMax == 0 {
		return time.Time{}
	}
	return time.Unix(int64(n.chainMax), 0)
}

// PublicKey is the node's signing public key, hex, for provisioning and
// denylists.
func (n *Node) PublicKey() string {
	return fmt.Sprintf("%x", []byte(n.signKey.Public().(ed25519.PublicKey)))
}
