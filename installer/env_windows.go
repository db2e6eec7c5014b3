//go:build windows

package installer

import (
	"strings"

	"golang.org/x/sys/windows/registry"
)

// readServiceEnvironment reads the REG_MULTI_SZ Environment value that
// kardianos/service writes under the service's key.
func readServiceEnvironment(name string) (map[string]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\`+name, registry.QUERY_VALUE)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	vals, _, err := k.GetStringsValue("Environment")
	if err == registry.ErrNotExist {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range vals {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env, nil
}
