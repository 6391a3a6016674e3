package tokenserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// Key errors, reported by the daemon's configuration check.
var (
	ErrKeyMismatch    = errors.New("public key does not match private key")
	ErrKeyUnsupported = errors.New("unsupported key: want RSA (2048 bits or more) or EC P-256")
	// ErrKeyPermissions: a private key or secret file that its group or
	// others may read or write, refused as the vault is.
	ErrKeyPermissions = errors.New("key file permissions too open")
)

// ReadKeyFile reads a private key or HMAC secret file (keys.private_key_path,
// keys.secret_file), refusing one with any group or other permission bit,
// with the vault's hint: whoever reads it can sign tokens for any user.
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); fi.Mode().IsRegular() && perm&0o077 != 0 {
		return nil, fmt.Errorf("%s: %w: file mode %04o (chmod 600 %s)", path, ErrKeyPermissions, perm, path)
	}
	return io.ReadAll(io.LimitReader(f, maxKeyFile))
}

// maxKeyFile bounds a key file: a 16384-bit RSA key in PEM is under 13 KiB.
const maxKeyFile = 1 << 20

// SigningKey is how tokens are signed: exactly one of Secret (HS256) and
// Private (RS256 for RSA, ES256 for EC P-256) is set.
type SigningKey struct {
	Secret  []byte
	Private crypto.Signer
}

// Algorithm is the one JWS algorithm k signs and verifies.
func (k SigningKey) Algorithm() jose.SignatureAlgorithm {
	switch k.Private.(type) {
	case *rsa.PrivateKey:
		return jose.RS256
	case *ecdsa.PrivateKey:
		return jose.ES256
	}
	return jose.HS256
}

// LoadKeyPair parses a PEM public key and a PEM private key and checks that
// they belong together.
func LoadKeyPair(publicPEM, privatePEM []byte) (crypto.Signer, error) {
	priv, err := parsePrivate(privatePEM)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	pub, err := parsePublic(publicPEM)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := priv.Public().(equaler); !ok || !e.Equal(pub) {
		return nil, ErrKeyMismatch
	}
	return priv, nil
}

func parsePrivate(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch blk.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return checkKey(key)
}

func checkKey(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, ErrKeyUnsupported
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, ErrKeyUnsupported
		}
		return k, nil
	}
	return nil, ErrKeyUnsupported
}

func parsePublic(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	switch blk.Type {
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(blk.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return x509.ParsePKIXPublicKey(blk.Bytes)
}
