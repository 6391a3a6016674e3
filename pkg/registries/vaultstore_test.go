package registries_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/registries/storetest"
	"github.com/anchored/anchored/pkg/vault"
)

func TestVaultStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		path := filepath.Join(t.TempDir(), "state", "vault")
		if _, err := vault.Create(context.Background(), path, "pass", nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
			t.Fatal(err)
		}
		return func() registries.Store {
			v, err := vault.Open(context.Background(), path, "pass")
			if err != nil {
				t.Fatal(err)
			}
			return &registries.VaultStore{V: v}
		}
	})
}
