// Package passhash hashes user passwords with scrypt into PHC-style strings
//
//	$scrypt$ln=15,r=8,p=1$<salt, base64 raw std>$<hash, base64 raw std>
//
// with the cost parameters in the string, so they can be raised later
// without breaking stored hashes. It promises to keep reading every string it
// ever wrote. Hashing runs behind a semaphore as wide as the CPU count:
// unbounded concurrent scrypt on a small machine costs gigabytes of memory
// and doubles the tail latency for no extra throughput.
package passhash

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/scrypt"
)

// Errors a caller branches on.
var (
	// ErrMalformed: the stored string is not a hash this package reads.
	ErrMalformed = errors.New("malformed password hash")
	// ErrCost: the stored string asks for a cost outside the accepted
	// bounds; refused before any work is done, so a tampered record cannot
	// make us burn CPU and memory.
	ErrCost = errors.New("password hash cost out of bounds")
)

// Hasher hashes and verifies passwords. It is an interface so that tests
// can count hashes and so that a cache can sit in front of Verify.
type Hasher interface {
	// Hash returns a PHC-style string for password.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded.
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Bounds on the parameters read from a stored string.
const (
	DefaultLogN = 15
	MinLogN     = 1
	MaxLogN     = 20
	maxR        = 32
	maxP        = 16
	saltLen     = 16
	keyLen      = 32
)

// Scrypt is the production Hasher.
type Scrypt struct {
	logN, r, p int
	sem        chan struct{}
}

// Option configures New.
type Option func(*Scrypt)

// WithLogN sets log2 of scrypt's N for new hashes. Tests use a low value
// (a test option: the race detector makes scrypt about 7x slower).
func WithLogN(n int) Option { return func(s *Scrypt) { s.logN = n } }

// WithConcurrency sets how many hashes may run at once (default: CPU count).
func WithConcurrency(n int) Option {
	return func(s *Scrypt) {
		if n > 0 {
			s.sem = make(chan struct{}, n)
		}
	}
}

// New returns a scrypt Hasher with r=8, p=1 and N=2^15 unless told otherwise.
func New(opts ...Option) *Scrypt {
	s := &Scrypt{logN: DefaultLogN, r: 8, p: 1}
	for _, o := range opts {
		o(s)
	}
	if s.sem == nil {
		s.sem = make(chan struct{}, runtime.NumCPU())
	}
	return s
}

func (s *Scrypt) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Scrypt) release() { <-s.sem }

// Hash implements Hasher.
func (s *Scrypt) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passhash: salt: %w", err)
	}
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	key, err := scrypt.Key([]byte(password), salt, 1<<s.logN, s.r, s.p, keyLen)
	if err != nil {
		return "", fmt.Errorf("passhash: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", s.logN, s.r, s.p, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify implements Hasher.
func (s *Scrypt) Verify(ctx context.Context, encoded, password string) (bool, error) {
	ph, err := Parse(encoded)
	if err != nil {
		return false, err
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	key, err := scrypt.Key([]byte(password), ph.Salt, 1<<ph.LogN, ph.R, ph.P, len(ph.Key))
	if err != nil {
		return false, fmt.Errorf("passhash: %w", err)
	}
	return subtle.ConstantTimeCompare(key, ph.Key) == 1, nil
}

// Params is a parsed hash string.
type Params struct {
	LogN, R, P int
	Salt, Key  []byte
}

// Parse reads a "$scrypt$ln=..,r=..,p=..$salt$hash" string and checks its
// bounds. It does no hashing.
func Parse(encoded string) (Params, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return Params{}, ErrMalformed
	}
	var ph Params
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[2], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return Params{}, ErrMalformed
		}
		seen[k] = true
		n, err := strconv.Atoi(v)
		if err != nil {
			return Params{}, ErrMalformed
		}
		switch k {
		case "ln":
			ph.LogN = n
		case "r":
			ph.R = n
		case "p":
			ph.P = n
		default:
			return Params{}, ErrMalformed
		}
	}
	if len(seen) != 3 {
		return Params{}, ErrMalformed
	}
	if ph.LogN < MinLogN || ph.LogN > MaxLogN || ph.R < 1 || ph.R > maxR || ph.P < 1 || ph.P > maxP {
		return Params{}, fmt.Errorf("%w: ln=%d r=%d p=%d", ErrCost, ph.LogN, ph.R, ph.P)
	}
	var err error
	if ph.Salt, err = base64.RawStdEncoding.DecodeString(parts[3]); err != nil || len(ph.Salt) < 8 {
		return Params{}, ErrMalformed
	}
	if ph.Key, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(ph.Key) < 16 || len(ph.Key) > 64 {
		return Params{}, ErrMalformed
	}
	return ph, nil
}

// Counting wraps a Hasher and counts the hashes it runs (Hash and Verify
// both cost one scrypt). Tests assert mechanisms with it.
type Counting struct {
	Hasher
	hashes, verifies atomic.Int64
}

// NewCounting wraps h.
func NewCounting(h Hasher) *Counting { return &Counting{Hasher: h} }

// Hash implements Hasher.
func (c *Counting) Hash(ctx context.Context, pw string) (string, error) {
	c.hashes.Add(1)
	return c.Hasher.Hash(ctx, pw)
}

// Verify implements Hasher.
func (c *Counting) Verify(ctx context.Context, enc, pw string) (bool, error) {
	c.verifies.Add(1)
	return c.Hasher.Verify(ctx, enc, pw)
}

// Hashes is how many times Hash ran.
func (c *Counting) Hashes() int { return int(c.hashes.Load()) }

// Verifies is how many times Verify ran.
func (c *Counting) Verifies() int { return int(c.verifies.Load()) }
