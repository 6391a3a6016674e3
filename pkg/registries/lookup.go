package registries

import (
	"sort"
	"strings"

	"github.com/anchored/anchored/pkg/helper"
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
func Lookup(entries []Entry, k helper.Key) (Entry, bool) {
	if k.Scheme && k.Path != "" {
		for _, e := range entries {
			if e.Registry == k.Key {
				return e, true
			}
		}
		return Entry{}, false
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := entries[order[i]].Registry, entries[order[j]].Registry
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	for _, i := range order {
		if matches(entries[i].Registry, k) {
			return entries[i], true
		}
	}
	return Entry{}, false
}

func matches(entry string, k helper.Key) bool {
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
