package helper

import (
	"errors"
	"time"

	"github.com/anchored/anchored/pkg/vault"
)

// StoreCredentials is the protocol's "store" on a document held by its
// caller (anchored's helper endpoint), with the vault backend's own rule,
// so both backends store alike. It reports whether d changed; storing what
// is already there changes nothing and needs no write.
func StoreCredentials(d *vault.Document, account string, k Key, c Credentials, now time.Time) (changed bool, err error) {
	err = storeEntry(d, account, k, c, now)
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	return err == nil, err
}

// EraseCredentials is the protocol's "erase" on a document held by its
// caller: exactly k's key, never an entry the lookup rule would find. It
// reports whether d changed.
func EraseCredentials(d *vault.Document, account string, k Key) bool {
	if _, ok := d.Registries[account][k.Key]; !ok {
		return false
	}
	delete(d.Registries[account], k.Key)
	return true
}
