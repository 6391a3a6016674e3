package vault

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/scrypt"
)

// The benchmarks run at the default work factor, next to a bare scrypt.Key
// of the same cost, so BENCHMARKS.md can give each figure as a ratio to it.

var benchSizes = []int{1, 1000, 10000}

// benchVault creates a vault with n registry entries at the default work
// factor.
func benchVault(b *testing.B, n int) string {
	b.Helper()
	doc := NewDocument()
	regs := doc.AccountRegistries("admin")
	for i := range n {
		key := fmt.Sprintf("registry-%05d.example.com:5000", i)
		regs[key] = &Registry{Registry: key, Name: key, Type: "docker_v2", User: fmt.Sprintf("user%05d", i),
			Pass: "s3cr3t-password-0123456789abcdef", Verify: true, CreatedAt: testTime, LastUpdated: testTime}
	}
	path := newVaultPath(b)
	if _, err := Create(context.Background(), path, testPass, doc, WithWorkFactor(DefaultWorkFactor)); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkScryptKey(b *testing.B) {
	salt := make([]byte, 16+len("age-encryption.org/v1/scrypt"))
	for b.Loop() {
		if _, err := scrypt.Key([]byte(testPass), salt, 1<<DefaultWorkFactor, 8, 1, 32); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path := benchVault(b, n)
			for b.Loop() {
				if _, err := Open(context.Background(), path, testPass); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead is a lookup in an open vault, as the daemon answers a get:
// a Refresh (a stat) and a map lookup.
func BenchmarkRead(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ctx := context.Background()
			v, err := Open(ctx, benchVault(b, n), testPass)
			if err != nil {
				b.Fatal(err)
			}
			key := fmt.Sprintf("registry-%05d.example.com:5000", n/2)
			for b.Loop() {
				if _, err := v.Refresh(ctx); err != nil {
					b.Fatal(err)
				}
				if v.Document().Registries["admin"][key] == nil {
					b.Fatal("entry missing")
				}
			}
		})
	}
}

// BenchmarkUpdate changes one entry of an open vault: lock, re-read (no
// scrypt: the header is unchanged), copy, encrypt (one scrypt), write,
// fsync, rename, fsync the directory.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ctx := context.Background()
			v, err := Open(ctx, benchVault(b, n), testPass)
			if err != nil {
				b.Fatal(err)
			}
			key := fmt.Sprintf("registry-%05d.example.com:5000", n/2)
			i := 0
			for b.Loop() {
				i++
				if err := v.Update(ctx, func(d *Document) error {
					d.Registries["admin"][key].User = fmt.Sprint("user-", i)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRatio interleaves a bare scrypt.Key with each operation and
// reports the operation's time as a multiple of the scrypt's ("x-scrypt").
// Interleaving keeps the ratio honest on a machine whose load changes
// during the run. Each case holds only what its operation needs, so the
// garbage collector sees the heap a real process would have.
func BenchmarkRatio(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("open/entries=%d", n), func(b *testing.B) {
			path := benchVault(b, n)
			ratioLoop(b, func(int) {
				if _, err := Open(context.Background(), path, testPass); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("update/entries=%d", n), func(b *testing.B) {
			ctx := context.Background()
			v, err := Open(ctx, benchVault(b, n), testPass)
			if err != nil {
				b.Fatal(err)
			}
			key := fmt.Sprintf("registry-%05d.example.com:5000", n/2)
			ratioLoop(b, func(i int) {
				if err := v.Update(ctx, func(d *Document) error {
					d.Registries["admin"][key].User = fmt.Sprint("user-", i)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func ratioLoop(b *testing.B, op func(i int)) {
	salt := make([]byte, 16+len("age-encryption.org/v1/scrypt"))
	var opTime, kdfTime time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		if _, err := scrypt.Key([]byte(testPass), salt, 1<<DefaultWorkFactor, 8, 1, 32); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		op(i)
		opTime += time.Since(t1)
		kdfTime += t1.Sub(t0)
	}
	b.ReportMetric(float64(opTime)/float64(kdfTime), "x-scrypt")
}
