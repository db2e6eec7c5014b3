package kafkacrypto

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// nodeConfig is a node's .config file as kafkacrypto's CryptoStore reads
// it: Python configparser with ":" as the only delimiter, ";" comments and
// case-sensitive option names (kafkacrypto writes them in lower case), a
// [DEFAULT] section whose values every section inherits.
type nodeConfig struct {
	sections map[string]map[string]string
	order    map[string][]string // option names in file order, per section
}

func parseNodeConfig(data []byte) (*nodeConfig, error) {
	c := &nodeConfig{sections: map[string]map[string]string{}, order: map[string][]string{}}
	var section, last string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == ';' || trimmed[0] == '#':
			last = ""
			continue
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("line %d: indented line outside a value", n)
			}
			c.sections[section][last] += "\n" + trimmed
			continue
		case trimmed[0] == '[' && strings.HasSuffix(trimmed, "]"):
			section = trimmed[1 : len(trimmed)-1]
			if _, ok := c.sections[section]; !ok {
				c.sections[section] = map[string]string{}
			}
			last = ""
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: a setting before any [section]", n)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: expected \"name : value\"", n)
		}
		name = strings.TrimSpace(name)
		if _, dup := c.sections[section][name]; !dup {
			c.order[section] = append(c.order[section], name)
		}
		c.sections[section][name] = strings.TrimSpace(value)
		last = name
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// value is CryptoStore.load_value: the option of the section, else of
// [DEFAULT].
func (c *nodeConfig) value(section, name string) (string, bool) {
	if v, ok := c.sections[section][name]; ok {
		return v, true
	}
	v, ok := c.sections["DEFAULT"][name]
	return v, ok
}

// values are the section's own options (load_section with defaults=False),
// in file order.
func (c *nodeConfig) values(section string) []string {
	var out []string
	for _, name := range c.order[section] {
		v := c.sections[section][name]
		if d, ok := c.sections["DEFAULT"][name]; ok && d == v {
			continue
		}
		out = append(out, v)
	}
	return out
}

// decodeBytes is str_decode for values kafkacrypto stores as bytes:
// "base64#" then standard base64.
func decodeBytes(v string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(v, "base64#")
	if !ok {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	return b, err == nil
}

// decodeNumber is str_decode for numbers (int or float).
func decodeNumber(v string) (float64, bool) {
	if i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		return float64(i), true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil
}
