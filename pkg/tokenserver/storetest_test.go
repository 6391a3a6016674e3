package tokenserver_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/tokenserver/storetest"
	"github.com/anchored/anchored/pkg/vault"
)

// The vault store passes the store body, registries included.
func TestVaultStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		path := filepath.Join(t.TempDir(), "state", "vault")
		if _, err := vault.Create(context.Background(), path, "pass", nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
			t.Fatal(err)
		}
		return func() tokenserver.Store {
			v, err := vault.Open(context.Background(), path, "pass")
			if err != nil {
				t.Fatal(err)
			}
			return tokenserver.NewVaultStore(v)
		}
	})
}
