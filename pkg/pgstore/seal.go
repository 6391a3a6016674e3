package pgstore

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"
)

// The sealing scheme: one 32-byte key, derived once at start by scrypt
// from the vault passphrase and the database's salt (anchored_meta), seals
// every secret with XChaCha20-Poly1305 under a random 24-byte nonce. The
// associated data is the record's identity (table and key), so a sealed
// value copied into another row does not open there. Sealing costs a
// microsecond; only the derivation is slow, and it runs once per process.

// DefaultLogN is scrypt's cost (N = 2^15, r = 8, p = 1) for a new database.
const DefaultLogN = 15

// verifierPlain is sealed into anchored_meta at creation: a replica that
// cannot open it has the wrong passphrase.
const verifierPlain = "anchored pgstore sealing key check v1"

var errOpen = errors.New("sealed value does not open (wrong key, or moved between records)")

type sealer struct{ aead cipher.AEAD }

func newSealer(passphrase string, salt []byte, logN int) (*sealer, error) {
	if logN < 1 || logN > 30 {
		return nil, fmt.Errorf("scrypt cost 2^%d out of range", logN)
	}
	key, err := scrypt.Key([]byte(passphrase), salt, 1<<logN, 8, 1, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal returns nonce || ciphertext of plain, bound to ad.
func (s *sealer) seal(plain []byte, ad string) []byte {
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(ad))
}

func (s *sealer) open(sealed []byte, ad string) ([]byte, error) {
	if len(sealed) < chacha20poly1305.NonceSizeX+s.aead.Overhead() {
		return nil, errOpen
	}
	n := chacha20poly1305.NonceSizeX
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(ad))
	if err != nil {
		return nil, errOpen
	}
	return out, nil
}

func (s *sealer) sealString(v, ad string) []byte { return s.seal([]byte(v), ad) }

func (s *sealer) openString(sealed []byte, ad string) (string, error) {
	b, err := s.open(sealed, ad)
	return string(b), err
}

// Associated data: the record each sealed value belongs to. NUL cannot
// occur in PostgreSQL text, so the joins are unambiguous.
func adRegistry(account, key string) string { return "registry\x00" + account + "\x00" + key }
func adUserPassword(username string) string { return "user-password\x00" + username }
func adSigningKey(kid string) string        { return "signing-key\x00" + kid }

const adVerifier = "verifier"
