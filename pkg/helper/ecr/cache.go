package ecr

import (
	"context"
	"fmt"
	"sync"

	"github.com/anchored/anchored/pkg/vault"
)

// memoryCache is the daemon's cache: tokens live only in its memory.
type memoryCache struct {
	mu sync.Mutex
	m  map[string]Token
}

// NewMemoryCache returns a cache that keeps tokens in memory only.
func NewMemoryCache() Cache { return &memoryCache{m: map[string]Token{}} }

func (c *memoryCache) Load(_ context.Context, key string) (Token, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	return t, ok, nil
}

func (c *memoryCache) Store(_ context.Context, key string, t Token) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = t
	return nil
}

// vaultCache seals tokens in the vault document (ECRTokens), so that direct
// mode shares them between processes without ever writing one in clear.
type vaultCache struct{ v *vault.Vault }

// NewVaultCache returns a cache kept in v's document. Load re-reads the file
// when another process changed it; Store rewrites the vault under its lock.
func NewVaultCache(v *vault.Vault) Cache { return &vaultCache{v: v} }

func (c *vaultCache) Load(ctx context.Context, key string) (Token, bool, error) {
	if _, err := c.v.Refresh(ctx); err != nil {
		return Token{}, false, fmt.Errorf("read cached ecr token: %w", err)
	}
	rec := c.v.Document().ECRTokens[key]
	if rec == nil {
		return Token{}, false, nil
	}
	return Token{
		Username:      rec.Username,
		Password:      rec.Password,
		ProxyEndpoint: rec.ProxyEndpoint,
		RequestedAt:   rec.RequestedAt,
		ExpiresAt:     rec.ExpiresAt,
	}, true, nil
}

func (c *vaultCache) Store(ctx context.Context, key string, t Token) error {
	err := c.v.Update(ctx, func(d *vault.Document) error {
		// Drop tokens that had expired when this one was requested, so
		// that entries of deleted registries do not pile up.
		for k, old := range d.ECRTokens {
			if old == nil || !old.ExpiresAt.After(t.RequestedAt) {
				delete(d.ECRTokens, k)
			}
		}
		d.ECRTokens[key] = &vault.ECRToken{
			Key:           key,
			Username:      t.Username,
			Password:      t.Password,
			ProxyEndpoint: t.ProxyEndpoint,
			RequestedAt:   t.RequestedAt,
			ExpiresAt:     t.ExpiresAt,
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache ecr token in vault: %w", err)
	}
	return nil
}
