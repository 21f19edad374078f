package fsm

import (
	"encoding/json"
	"sort"
)

var jsonUnmarshal = json.Unmarshal

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
