package helper

import (
	"sort"
	"strings"

	"github.com/anchored/anchored/pkg/vault"
)

// Lookup finds the entry that answers k among one account's entries, by
// Anchore's rule (SPEC section 3): entries longest first (ties in text
// order, so the answer never depends on map order), the first that
//
//   - equals the key; or
//   - ends in "*" and, without it, is a prefix of key+"/"; or
//   - for a key sent without a scheme and with a repository path (crane's
//     "host/repo"), equals its host.
//
// A key sent with a scheme and a path (Docker Hub's ".../access-token")
// matches only itself: a wildcard or host entry must never hand a Hub
// password to a client asking for its OAuth token.
func Lookup(entries map[string]*vault.Registry, k Key) (*vault.Registry, bool) {
	if r, ok := entries[k.Key]; ok {
		if k.Scheme && k.Path != "" {
			return r, true
		}
	} else if k.Scheme && k.Path != "" {
		return nil, false
	}
	keys := make([]string, 0, len(entries))
	for e := range entries {
		keys = append(keys, e)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	for _, e := range keys {
		if matches(e, k) {
			return entries[e], true
		}
	}
	return nil, false
}

func matches(entry string, k Key) bool {
	switch {
	case entry == k.Key:
		return true
	case strings.HasSuffix(entry, "*"):
		return strings.HasPrefix(k.Key+"/", strings.TrimSuffix(entry, "*"))
	case k.HasRepoPath():
		return entry == k.Host
	}
	return false
}
