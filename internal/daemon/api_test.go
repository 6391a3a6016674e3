package daemon

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anchored/anchored/pkg/passhash"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
)

// newAPI is the real API over a test vault (work factor 10).
func newAPI(t *testing.T) *tokenserver.Server {
	t.Helper()
	ctx := context.Background()
	v, err := vault.Create(ctx, filepath.Join(t.TempDir(), "state", "vault"), "pw", nil, vault.WithWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	s, err := tokenserver.New(ctx, tokenserver.Config{Hasher: passhash.New(passhash.WithLogN(4)), Logger: quiet}, tokenserver.NewVaultStore(v))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
