package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"

	"filippo.io/age"
)

// Test vectors in the style of age's testkit: one scenario per file under
// testdata/vectors, a few header lines ("expect:" first), a blank line, and
// the vault file's bytes. They are generated deterministically (crypto/rand
// seeded with testing/cryptotest) by
//
//	go test ./pkg/vault -run TestVectors -update-vectors
//
// and TestVectorsDeterministic checks that the generator still writes them
// byte for byte, so a change to the format cannot slip in unnoticed.

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors")

const vectorDir = "testdata/vectors"

// expectations name the outcome of opening a vector.
var expectations = map[string]error{
	"success":          nil,
	"wrong passphrase": ErrWrongPassphrase,
	"damaged":          ErrDamaged,
	"not a vault":      ErrNotVault,
	"work factor":      ErrWorkFactor,
	"newer version":    ErrNewerVersion,
}

type vector struct {
	name, expect, comment, passphrase string
	file                              []byte
}

// sealSeeded encrypts plain for pass at the test work factor with crypto/rand
// seeded, so the bytes are the same on every run.
func sealSeeded(t *testing.T, seed uint64, plain []byte, pass string) []byte {
	t.Helper()
	cryptotest.SetGlobalRandom(t, seed)
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(testFactor)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func generateVectors(t *testing.T) []vector {
	full, err := fullDocument().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	good := sealSeeded(t, 1, full, testPass)
	p := splitVault(t, good)
	cryptotest.SetGlobalRandom(t, 2)
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var forX25519 bytes.Buffer
	w, _ := age.Encrypt(&forX25519, x.Recipient())
	w.Write(full)
	w.Close()

	unknown := []byte(`{"version":1,"accounts":{"admin":{"name":"admin","type":"admin","state":"enabled","created_at":"2026-11-23T13:00:00Z","last_updated":"2026-11-23T13:00:00Z","future":true}},"users":{},"registries":{},"ecr_tokens":{},"future":{"a":[1,2]}}` + "\n")
	return []vector{
		{"good", "success", "one record of every kind", testPass, good},
		{"good_unknown_members", "success", "members this build does not know, at the top level and in a record", testPass, sealSeeded(t, 3, unknown, testPass)},
		{"wrong_passphrase", "wrong passphrase", "the good file, another passphrase", "Tr0ub4dor&3", good},
		{"scrypt_salt_changed", "wrong passphrase", "one base64 character of the salt changed: reads as a wrong passphrase", testPass, edit(good, swapB64(p.stanza+len("-> scrypt ")))},
		{"scrypt_body_changed", "wrong passphrase", "one base64 character of the wrapped key changed: reads as a wrong passphrase", testPass, edit(good, swapB64(p.body))},
		{"scrypt_work_factor_30", "work factor", "the stanza asks for 2^30: refused before any scrypt", testPass, bytes.Replace(good, []byte(" 10\n"), []byte(" 30\n"), 1)},
		{"header_mac_changed", "damaged", "one character of the MAC line changed", testPass, edit(good, swapB64(p.mac+4))},
		{"payload_bit_flipped", "damaged", "the last byte of the payload flipped", testPass, edit(good, flipAt(len(good)-1))},
		{"truncated", "damaged", "the last byte cut off", testPass, good[:len(good)-1]},
		{"truncated_header", "damaged", "cut inside the scrypt stanza", testPass, good[:p.stanza+10]},
		{"empty", "damaged", "an empty file", testPass, []byte{}},
		{"not_age", "not a vault", "JSON in clear", testPass, full},
		{"x25519_recipient", "not a vault", "an age file for an X25519 recipient", testPass, forX25519.Bytes()},
		{"newer_version", "newer version", "a document of format version 3", testPass, sealSeeded(t, 4, []byte(`{"version":3,"accounts":[]}`), testPass)},
		{"no_version", "not a vault", "JSON without a version", testPass, sealSeeded(t, 5, []byte(`{"accounts":{}}`), testPass)},
		{"not_json", "damaged", "an age passphrase file holding text", testPass, sealSeeded(t, 6, []byte("hello\n"), testPass)},
		{"null_record", "damaged", "a null account", testPass, sealSeeded(t, 7, []byte(`{"version":1,"accounts":{"admin":null}}`), testPass)},
		{"miskeyed_record", "damaged", "a registry entry filed under another key", testPass, sealSeeded(t, 8, []byte(`{"version":1,"registries":{"admin":{"quay.io":{"registry":"ghcr.io"}}}}`), testPass)},
		{"duplicate_member", "damaged", "a member named twice in one object", testPass, sealSeeded(t, 9, []byte(`{"version":1,"signing_secret":"a","signing_secret":"b"}`), testPass)},
	}
}

func (v vector) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "expect: %s\npassphrase: %s\ncomment: %s\n\n", v.expect, v.passphrase, v.comment)
	b.Write(v.file)
	return b.Bytes()
}

func parseVector(name string, b []byte) (vector, error) {
	head, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return vector{}, errors.New("no blank line after the header")
	}
	v := vector{name: name, file: body}
	for line := range strings.Lines(string(head) + "\n") {
		k, val, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		switch k {
		case "expect":
			v.expect = val
		case "passphrase":
			v.passphrase = val
		case "comment":
			v.comment = val
		default:
			return vector{}, fmt.Errorf("unknown header %q", k)
		}
	}
	if _, ok := expectations[v.expect]; !ok {
		return vector{}, fmt.Errorf("unknown expectation %q", v.expect)
	}
	return v, nil
}

func TestVectors(t *testing.T) {
	if *updateVectors {
		if err := os.MkdirAll(vectorDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, v := range generateVectors(t) {
			if err := os.WriteFile(filepath.Join(vectorDir, v.name), v.encode(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no vectors")
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(vectorDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			v, err := parseVector(e.Name(), b)
			if err != nil {
				t.Fatalf("vector: %v", err)
			}
			path := newVaultPath(t)
			writeFile(t, path, v.file)
			vt, err := Open(context.Background(), path, v.passphrase)
			want := expectations[v.expect]
			if want == nil {
				if err != nil {
					t.Fatalf("Open: %v, want success", err)
				}
				m, err := vt.Document().Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if plain := decryptRaw(t, path, v.passphrase); !bytes.Equal(m, plain) {
					t.Errorf("document re-marshalled differs from the plaintext:\n got %s\nwant %s", m, plain)
				}
				return
			}
			if !errors.Is(err, want) {
				t.Errorf("Open: err = %v, want %v (%s)", err, want, v.comment)
			}
		})
	}
}

func TestVectorsDeterministic(t *testing.T) {
	vs := generateVectors(t)
	var names []string
	for _, v := range vs {
		names = append(names, v.name)
		got, err := os.ReadFile(filepath.Join(vectorDir, v.name))
		if err != nil {
			t.Fatalf("%v (run: go test ./pkg/vault -run TestVectors -update-vectors)", err)
		}
		if !bytes.Equal(got, v.encode()) {
			t.Errorf("%s: the generator no longer writes this vector (sha256 on disk %x); if the change is intended, run: go test ./pkg/vault -run TestVectors -update-vectors", v.name, sha256.Sum256(got))
		}
	}
	entries, _ := os.ReadDir(vectorDir)
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("%s: a vector the generator does not make", e.Name())
		}
	}
}
