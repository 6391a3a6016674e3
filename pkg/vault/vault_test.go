package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	want := fullDocument()
	mustCreate(t, path, want)

	v, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, _ := v.Document().Marshal()
	wantb, _ := want.Marshal()
	if !bytes.Equal(got, wantb) {
		t.Fatalf("document after round trip:\n got %s\nwant %s", got, wantb)
	}
	if got, want := v.WorkFactor(), testFactor; got != want {
		t.Errorf("WorkFactor() = %d, want %d (the file's own)", got, want)
	}

	if err := v.Update(ctx, func(d *Document) error {
		d.AccountRegistries("admin")["ghcr.io"] = &Registry{Registry: "ghcr.io", Name: "ghcr.io", Type: "docker_v2", User: "bob", Pass: "pw"}
		return nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	v2, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatalf("Open after Update: %v", err)
	}
	if got := v2.Document().Registries["admin"]["ghcr.io"]; got == nil || got.User != "bob" {
		t.Errorf("after Update, ghcr.io entry = %+v, want user bob", got)
	}
	if got, want := len(v2.Document().Registries["admin"]), 2; got != want {
		t.Errorf("after Update, %d registries, want %d", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("vault mode = %v (err %v), want 0600", fi.Mode().Perm(), err)
	}
}

// vaultLines splits a test vault into its age header lines and payload, so
// tests can damage one part on purpose.
type vaultParts struct {
	file                          []byte
	stanza, body, mac, payloadOff int // offsets of the stanza line, body line, MAC line, payload
}

func splitVault(t *testing.T, file []byte) vaultParts {
	t.Helper()
	p := vaultParts{file: file}
	p.stanza = bytes.Index(file, []byte("\n-> scrypt ")) + 1
	p.body = p.stanza + bytes.IndexByte(file[p.stanza:], '\n') + 1
	p.mac = bytes.Index(file, []byte("\n--- ")) + 1
	p.payloadOff = p.mac + bytes.IndexByte(file[p.mac:], '\n') + 1
	if p.stanza <= 0 || p.mac <= p.body || p.payloadOff >= len(file) {
		t.Fatalf("unexpected vault layout:\n%q", file[:min(len(file), 200)])
	}
	return p
}

// edit returns a copy of b with f applied.
func edit(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }

func replaceAt(i int, c byte) func([]byte) []byte {
	return func(b []byte) []byte {
		if b[i] == c {
			c++
		}
		b[i] = c
		return b
	}
}

func flipAt(i int) func([]byte) []byte {
	return func(b []byte) []byte { b[i] ^= 0x01; return b }
}

// swapB64 replaces a base64 character with another valid one.
func swapB64(i int) func([]byte) []byte {
	return func(b []byte) []byte {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return b
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	mustCreate(t, path, fullDocument())
	good := readFile(t, path)
	p := splitVault(t, good)
	salt := p.stanza + len("-> scrypt ")
	factor := bytes.LastIndexByte(good[:p.body-1], ' ') + 1

	x25519, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var forX25519 bytes.Buffer
	w, _ := age.Encrypt(&forX25519, x25519.Recipient())
	w.Write([]byte(`{"version":1}`))
	w.Close()

	tests := []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"wrong passphrase", good, "Tr0ub4dor&3", ErrWrongPassphrase},
		{"MAC line, first character", edit(good, swapB64(p.mac+4)), testPass, ErrDamaged},
		{"MAC line, bit flipped", edit(good, flipAt(p.mac+10)), testPass, ErrDamaged},
		{"payload nonce byte flipped", edit(good, flipAt(p.payloadOff)), testPass, ErrDamaged},
		{"payload middle byte flipped", edit(good, flipAt((p.payloadOff+len(good))/2)), testPass, ErrDamaged},
		{"payload last byte flipped", edit(good, flipAt(len(good)-1)), testPass, ErrDamaged},
		{"truncated in the payload", good[:len(good)-1], testPass, ErrDamaged},
		{"truncated after the header", good[:p.payloadOff], testPass, ErrDamaged},
		{"truncated inside the nonce", good[:p.payloadOff+5], testPass, ErrDamaged},
		{"truncated in the MAC line", good[:p.mac+8], testPass, ErrDamaged},
		{"truncated in the stanza", good[:p.stanza+5], testPass, ErrDamaged},
		{"truncated inside the intro line", good[:7], testPass, ErrDamaged},
		{"empty file", []byte{}, testPass, ErrDamaged},
		// A changed salt, body or work factor derives another key: it reads
		// as a wrong passphrase, and the docs say so.
		{"scrypt salt character changed", edit(good, swapB64(salt)), testPass, ErrWrongPassphrase},
		{"scrypt salt made non-base64", edit(good, replaceAt(salt, '!')), testPass, ErrWrongPassphrase},
		{"scrypt body character changed", edit(good, swapB64(p.body)), testPass, ErrWrongPassphrase},
		{"scrypt work factor changed", edit(good, replaceAt(factor+1, '1')), testPass, ErrWrongPassphrase},
		{"scrypt body made non-base64", edit(good, replaceAt(p.body, '!')), testPass, ErrDamaged},
		{"stanza type changed", edit(good, replaceAt(p.stanza+3, 't')), testPass, ErrNotVault},
		{"intro changed", edit(good, replaceAt(0, 'b')), testPass, ErrNotVault},
		{"not an age file", []byte(`{"version":1}`), testPass, ErrNotVault},
		{"age file for an X25519 recipient", forX25519.Bytes(), testPass, ErrNotVault},
		{"age file holding something else", sealRaw(t, filepath.Join(t.TempDir(), "x"), []byte("hello"), testPass, testFactor), testPass, ErrDamaged},
		{"age file holding JSON without version", sealRaw(t, filepath.Join(t.TempDir(), "x"), []byte(`{"accounts":{}}`), testPass, testFactor), testPass, ErrNotVault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, path, tt.file)
			v, err := Open(ctx, path, tt.pass)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: err = %v, want %v", err, tt.want)
			}
			if v != nil {
				t.Errorf("Open returned a Vault with error %v", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error %q: want one line starting with the path", msg)
			}
			if got := readFile(t, path); !bytes.Equal(got, tt.file) {
				t.Errorf("Open changed the file")
			}
		})
	}
}

// TestHeaderBitFlips flips the low bit of every byte of the age header. Whatever the
// flip, the vault must refuse with one of the documented errors and never
// open; inside the MAC line it is always "damaged".
func TestHeaderBitFlips(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	mustCreate(t, path, NewDocument())
	good := readFile(t, path)
	p := splitVault(t, good)
	for i := 0; i < p.payloadOff; i++ {
		for _, bit := range []byte{0x01} {
			bad := bytes.Clone(good)
			bad[i] ^= bit
			writeFile(t, path, bad)
			_, err := Open(ctx, path, testPass)
			switch {
			case err == nil:
				t.Fatalf("byte %d ^ %#x: Open succeeded", i, bit)
			case i >= p.mac && !errors.Is(err, ErrDamaged):
				t.Errorf("byte %d ^ %#x in the MAC line: err = %v, want %v", i, bit, err, ErrDamaged)
			case !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrNotVault) && !errors.Is(err, ErrWorkFactor):
				t.Errorf("byte %d ^ %#x: err = %v, want one of the documented errors", i, bit, err)
			}
		}
	}
}

func TestHostileWorkFactorRefusedBeforeScrypt(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	mustCreate(t, path, NewDocument())
	good := readFile(t, path)
	var kdf kdfCounter

	if _, err := Open(ctx, path, testPass, kdf.option()); err != nil {
		t.Fatalf("Open of the good vault: %v", err)
	}
	if got, want := kdf.take(), int64(1); got != want {
		t.Fatalf("opening a vault ran %d scrypt derivations, want %d", got, want)
	}

	for _, logN := range []string{"23", "30", "64", "99999999999999999999"} {
		t.Run("2^"+logN, func(t *testing.T) {
			hostile := bytes.Replace(good, []byte(" 10\n"), []byte(" "+logN+"\n"), 1)
			writeFile(t, path, hostile)
			_, err := Open(ctx, path, testPass, kdf.option())
			if logN == "99999999999999999999" {
				// Not a number age accepts: a damaged stanza.
				if !errors.Is(err, ErrWrongPassphrase) {
					t.Fatalf("Open: err = %v, want %v", err, ErrWrongPassphrase)
				}
			} else if !errors.Is(err, ErrWorkFactor) {
				t.Fatalf("Open: err = %v, want %v", err, ErrWorkFactor)
			}
			if got := kdf.take(); got != 0 {
				t.Errorf("%d scrypt derivations ran, want 0: the header must be refused first", got)
			}
			if _, err := Inspect(path); !errors.Is(err, ErrWorkFactor) && logN != "99999999999999999999" {
				t.Errorf("Inspect: err = %v, want %v", err, ErrWorkFactor)
			}
		})
	}
}

func TestPermissionsTooOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("file 0644", func(t *testing.T) {
		path := newVaultPath(t)
		mustCreate(t, path, nil)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		before := readFile(t, path)
		_, err := Open(ctx, path, testPass)
		if !errors.Is(err, ErrPermissions) {
			t.Fatalf("Open: err = %v, want %v", err, ErrPermissions)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("error %q does not say what to do", err)
		}
		if got := readFile(t, path); !bytes.Equal(got, before) {
			t.Errorf("the file changed")
		}
	})
	t.Run("directory 0755", func(t *testing.T) {
		path := newVaultPath(t)
		mustCreate(t, path, nil)
		if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, path, testPass)
		if !errors.Is(err, ErrPermissions) {
			t.Fatalf("Open: err = %v, want %v", err, ErrPermissions)
		}
	})
	t.Run("create in a 0755 directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "open")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Create(ctx, filepath.Join(dir, "vault"), testPass, nil, WithWorkFactor(testFactor))
		if !errors.Is(err, ErrPermissions) {
			t.Fatalf("Create: err = %v, want %v", err, ErrPermissions)
		}
		if Exists(filepath.Join(dir, "vault")) {
			t.Errorf("Create left a vault behind")
		}
	})
	t.Run("update after the file became 0644", func(t *testing.T) {
		path := newVaultPath(t)
		v := mustCreate(t, path, nil)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		before := readFile(t, path)
		err := v.Update(ctx, func(*Document) error { return nil })
		if !errors.Is(err, ErrPermissions) {
			t.Fatalf("Update: err = %v, want %v", err, ErrPermissions)
		}
		if got := readFile(t, path); !bytes.Equal(got, before) {
			t.Errorf("the file changed")
		}
	})
}

func TestMissing(t *testing.T) {
	path := newVaultPath(t)
	_, err := Open(context.Background(), path, testPass)
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Open: err = %v, want %v", err, ErrMissing)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "vault init") {
		t.Errorf("error %q: want the path and 'vault init'", err)
	}
}

func TestCreateNeverReplaces(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	mustCreate(t, path, fullDocument())
	before := readFile(t, path)
	_, err := Create(ctx, path, "another passphrase", nil, WithWorkFactor(testFactor))
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: err = %v, want %v", err, ErrExists)
	}
	if got := readFile(t, path); !bytes.Equal(got, before) {
		t.Errorf("second Create changed the vault")
	}
}

func TestConcurrentCreateOneWins(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	passes := []string{"first passphrase", "second passphrase", "third passphrase", "fourth passphrase"}
	errs := make([]error, len(passes))
	var wg sync.WaitGroup
	for i, p := range passes {
		wg.Go(func() {
			_, errs[i] = Create(ctx, path, p, nil, WithWorkFactor(testFactor))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Creates %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ErrExists):
			t.Errorf("Create %d: err = %v, want nil or %v", i, err, ErrExists)
		}
	}
	if winner < 0 {
		t.Fatalf("no Create succeeded: %v", errs)
	}
	if _, err := Open(ctx, path, passes[winner]); err != nil {
		t.Errorf("Open with the winner's passphrase: %v", err)
	}
}

func TestUpdateCostsOneScrypt(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	var kdf kdfCounter
	v := mustCreate(t, path, nil, kdf.option())
	if got, want := kdf.take(), int64(1); got != want {
		t.Errorf("Create ran %d derivations, want %d", got, want)
	}
	add := func(key string) func(*Document) error {
		return func(d *Document) error {
			d.AccountRegistries("admin")[key] = &Registry{Registry: key, Name: key, Type: "docker_v2"}
			return nil
		}
	}
	if err := v.Update(ctx, add("a.example")); err != nil {
		t.Fatal(err)
	}
	if got, want := kdf.take(), int64(1); got != want {
		t.Errorf("Update of an unchanged file ran %d derivations, want %d (the write; no re-decrypt)", got, want)
	}

	other, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Update(ctx, add("b.example")); err != nil {
		t.Fatal(err)
	}
	if err := v.Update(ctx, add("c.example")); err != nil {
		t.Fatal(err)
	}
	if got, want := kdf.take(), int64(2); got != want {
		t.Errorf("Update after another writer ran %d derivations, want %d (re-read and write)", got, want)
	}
	if got, want := len(v.Document().Registries["admin"]), 3; got != want {
		t.Errorf("%d entries after updates from two Vaults, want %d", got, want)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	v := mustCreate(t, path, fullDocument())
	before := readFile(t, path)
	errStop := errors.New("stop")
	err := v.Update(ctx, func(d *Document) error {
		d.Accounts = nil
		d.SigningSecret = "changed"
		return errStop
	})
	if err != errStop {
		t.Fatalf("Update: err = %v, want the updater's own error", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, before) {
		t.Errorf("a failed Update changed the file")
	}
	if got := v.Document().SigningSecret; got == "changed" {
		t.Errorf("a failed Update changed the shared document")
	}

	// An updater that breaks the format's rules is refused too.
	err = v.Update(ctx, func(d *Document) error {
		d.AccountRegistries("admin")["quay.io"] = &Registry{Registry: "ghcr.io"}
		return nil
	})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Update with a mis-keyed record: err = %v, want %v", err, ErrDamaged)
	}
	if got := readFile(t, path); !bytes.Equal(got, before) {
		t.Errorf("a refused Update changed the file")
	}
}

func TestRekey(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	v := mustCreate(t, path, fullDocument())
	if err := v.Rekey(ctx, "new passphrase", 11); err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	if _, err := Open(ctx, path, testPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Open with the old passphrase: err = %v, want %v", err, ErrWrongPassphrase)
	}
	nv, err := Open(ctx, path, "new passphrase")
	if err != nil {
		t.Fatalf("Open with the new passphrase: %v", err)
	}
	if got, want := nv.WorkFactor(), 11; got != want {
		t.Errorf("work factor after Rekey = %d, want %d", got, want)
	}
	if got := nv.Document().Registries["admin"]["docker.io"]; got == nil || got.Pass != "hunter2" {
		t.Errorf("records lost in Rekey: %+v", got)
	}
	if err := v.Rekey(ctx, "x", 23); !errors.Is(err, ErrWorkFactor) {
		t.Errorf("Rekey to 2^23: err = %v, want %v", err, ErrWorkFactor)
	}
	// The re-keyed Vault keeps working with its new passphrase.
	if err := v.Update(ctx, func(d *Document) error { d.SigningSecret = "s"; return nil }); err != nil {
		t.Errorf("Update after Rekey: %v", err)
	}
}

func TestRefresh(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	reader := mustCreate(t, path, nil)
	if changed, err := reader.Refresh(ctx); err != nil || changed {
		t.Fatalf("Refresh of an unchanged file = %v, %v; want false, nil", changed, err)
	}
	writer, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Update(ctx, func(d *Document) error { d.SigningSecret = "new"; return nil }); err != nil {
		t.Fatal(err)
	}
	changed, err := reader.Refresh(ctx)
	if err != nil || !changed {
		t.Fatalf("Refresh after another writer = %v, %v; want true, nil", changed, err)
	}
	if got, want := reader.Document().SigningSecret, "new"; got != want {
		t.Errorf("after Refresh, signing secret = %q, want %q", got, want)
	}
}

func TestCanaryNotInFile(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	const canary = "CANARY-7f3a9c1e-secret-must-not-leak"
	doc := fullDocument()
	doc.AccountRegistries("admin")["docker.io"].Pass = canary
	doc.Users["admin"].Password = canary
	doc.SigningSecret = canary
	v := mustCreate(t, path, doc)
	if err := v.Update(ctx, func(d *Document) error {
		for k, tok := range d.ECRTokens {
			tok.Password = canary
			d.ECRTokens[k] = tok
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	file := readFile(t, path)
	for _, form := range []string{canary, strings.ToLower(canary), "7f3a9c1e"} {
		if bytes.Contains(file, []byte(form)) {
			t.Errorf("the vault file contains %q in clear", form)
		}
	}
	// The canary is there, encrypted.
	if plain := decryptRaw(t, path, testPass); bytes.Count(plain, []byte(canary)) != 4 {
		t.Errorf("decrypted document holds the canary %d times, want 4", bytes.Count(plain, []byte(canary)))
	}
	// No temp file is left beside the vault.
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "vault" && e.Name() != "vault.lock" {
			t.Errorf("unexpected file %q beside the vault", e.Name())
		}
	}
}

func TestUnknownFieldsSurviveRewrite(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	plain := []byte(`{
	  "version": 1,
	  "future_top": {"nested": [1, 2, 3]},
	  "accounts": {"admin": {"name": "admin", "type": "admin", "state": "enabled",
	    "created_at": "2026-11-23T13:00:00Z", "last_updated": "2026-11-23T13:00:00Z", "future_account": "a"}},
	  "users": {"admin": {"username": "admin", "account": "admin", "uuid": "u", "type": "native", "generation": 1,
	    "created_at": "2026-11-23T13:00:00Z", "last_updated": "2026-11-23T13:00:00Z", "future_user": true}},
	  "registries": {"admin": {"docker.io": {"registry": "docker.io", "registry_name": "docker.io",
	    "registry_type": "docker_v2", "registry_user": "u", "registry_pass": "p", "registry_verify": true,
	    "created_at": "2026-11-23T13:00:00Z", "last_updated": "2026-11-23T13:00:00Z", "future_registry": {"x": null}}}},
	  "ecr_tokens": {"k": {"key": "k", "username": "AWS", "password": "t",
	    "requested_at": "2026-11-23T13:00:00Z", "expires_at": "2026-11-23T13:00:00Z", "future_token": 1.5}}
	}`)
	sealRaw(t, path, plain, testPass, testFactor)
	v, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := v.Update(ctx, func(d *Document) error {
		d.Registries["admin"]["docker.io"].User = "changed"
		d.Accounts["admin"].Email = "new@example.com"
		return nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	out := decryptRaw(t, path, testPass)
	for _, member := range []string{
		`"future_top":{"nested":[1,2,3]}`, `"future_account":"a"`, `"future_user":true`,
		`"future_registry":{"x":null}`, `"future_token":1.5`, `"registry_user":"changed"`, `"email":"new@example.com"`,
	} {
		if !bytes.Contains(out, []byte(member)) {
			t.Errorf("rewritten document lacks %s:\n%s", member, out)
		}
	}
}

func TestNewerVersionNeverRewritten(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	v := mustCreate(t, path, fullDocument())
	// A newer build replaces the file while v has it open.
	newer := sealRaw(t, path, []byte(`{"version":3,"accounts":"a different shape"}`), testPass, testFactor)

	err := v.Update(ctx, func(d *Document) error { d.SigningSecret = "x"; return nil })
	if !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("Update: err = %v, want %v", err, ErrNewerVersion)
	}
	if err := v.Rekey(ctx, "other", testFactor); !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("Rekey: err = %v, want %v", err, ErrNewerVersion)
	}
	if got := readFile(t, path); !bytes.Equal(got, newer) {
		t.Errorf("the newer vault was rewritten")
	}
	if _, err := Open(ctx, path, testPass); !errors.Is(err, ErrNewerVersion) {
		t.Errorf("Open: err = %v, want %v", err, ErrNewerVersion)
	}
	if got := v.Document().SigningSecret; got != fullDocument().SigningSecret {
		t.Errorf("the failed Update replaced the Vault's document")
	}
	if _, err := ParseDocument([]byte(`{"version":3}`)); !errors.Is(err, ErrNewerVersion) {
		t.Errorf("ParseDocument: err = %v, want %v", err, ErrNewerVersion)
	}
	if _, err := (&Document{Version: 3}).Marshal(); !errors.Is(err, ErrNewerVersion) {
		t.Errorf("Marshal of version 2: err = %v, want %v", err, ErrNewerVersion)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	path := newVaultPath(t)
	mustCreate(t, path, nil)
	cases := map[string]error{}
	_, cases["wrong"] = Open(context.Background(), path, "nope")
	_, cases["missing"] = Open(context.Background(), path+".none", testPass)
	_, cases["parse"] = ParseDocument([]byte(`{"version":1,"registries":{"a":{"b":{"registry_pass":12345}}}}`))
	for name, err := range cases {
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want one line", name, err)
		}
	}
	// A parse error names where, never the value (it may be a secret).
	if msg := cases["parse"].Error(); strings.Contains(msg, "12345") || !strings.Contains(msg, "/registries/a/b/registry_pass") {
		t.Errorf("parse error %q: want the JSON pointer and not the value", msg)
	}
	if got := fmt.Sprint(cases["wrong"]); !strings.Contains(got, "wrong passphrase") {
		t.Errorf("wrong passphrase error reads %q", got)
	}
}

func TestWriterRemovesStaleTempFiles(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	v := mustCreate(t, path, nil)
	stale := filepath.Join(filepath.Dir(path), ".vault.tmp-123456")
	other := filepath.Join(filepath.Dir(path), ".other.tmp-1")
	writeFile(t, stale, []byte("half a vault"))
	writeFile(t, other, []byte("not ours"))
	if err := v.Update(ctx, func(d *Document) error { d.SigningSecret = "s"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there after a write (stat: %v)", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file that is not the vault's temp file was removed: %v", err)
	}
}

func FuzzReadHeader(f *testing.F) {
	path := newVaultPath(f)
	mustCreate(f, path, fullDocument())
	good := readFile(f, path)
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte("age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 30\nAAAA\n--- AAAA\n"))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := readHeader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNotVault) && !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrWorkFactor) {
				t.Fatalf("readHeader: undocumented error %v", err)
			}
			return
		}
		if info.WorkFactor < 1 || info.WorkFactor > MaxWorkFactor {
			t.Fatalf("accepted work factor %d", info.WorkFactor)
		}
	})
}

func TestDirectoryIsNotAVault(t *testing.T) {
	path := newVaultPath(t)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), path, testPass); !errors.Is(err, ErrNotVault) {
		t.Errorf("Open of a directory: err = %v, want %v", err, ErrNotVault)
	}
}

func TestWithWorkFactorSurvivesReload(t *testing.T) {
	ctx := context.Background()
	path := newVaultPath(t)
	mustCreate(t, path, nil, WithWorkFactor(11))
	v, err := Open(ctx, path, testPass, WithWorkFactor(testFactor))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := other.WorkFactor(), 11; got != want {
		t.Fatalf("WorkFactor without the option = %d, want the file's %d", got, want)
	}
	// other writes at the file's factor; v re-reads under the lock and must
	// still write at its own.
	if err := other.Update(ctx, func(d *Document) error { d.SigningSecret = "a"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := v.Update(ctx, func(d *Document) error { d.SigningSecret = "b"; return nil }); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.WorkFactor, testFactor; got != want {
		t.Errorf("file written at 2^%d, want 2^%d (WithWorkFactor)", got, want)
	}
}

// TestSigningKeysVersion2: signing_keys need format 2; their unknown
// members survive a rewrite; a rewrite of a document without them keeps
// version 1; Clone copies the private bytes.
func TestSigningKeysVersion2(t *testing.T) {
	ctx := context.Background()
	const key = `"signing_keys": {"k1": {"kid": "k1", "alg": "HS256", "private": "AAEC/w==",
	    "created_at": "2026-11-23T13:00:00Z", "verify_until": "2026-11-23T14:00:00Z", "future_key": [true]}}`
	if _, err := ParseDocument([]byte(`{"version": 1, ` + key + `}`)); !errors.Is(err, ErrDamaged) {
		t.Errorf("signing_keys in a version 1 document: %v, want damaged", err)
	}
	path := newVaultPath(t)
	sealRaw(t, path, []byte(`{"version": 2, `+key+`}`), testPass, testFactor)
	v, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	k := v.Document().SigningKeys["k1"]
	if k == nil || !bytes.Equal(k.Private, []byte{0, 1, 2, 0xff}) || !k.VerifyUntil.Equal(testTime.Add(time.Hour)) {
		t.Fatalf("parsed key = %+v", k)
	}
	c := v.Document().Clone()
	c.SigningKeys["k1"].Private[0] = 9
	if k.Private[0] != 0 {
		t.Error("Clone shares the private key bytes")
	}
	if err := v.Update(ctx, func(d *Document) error { d.Accounts["a"] = &Account{Name: "a"}; return nil }); err != nil {
		t.Fatal(err)
	}
	out := decryptRaw(t, path, testPass)
	for _, member := range []string{`"version":2`, `"future_key":[true]`, `"private":"AAEC/w=="`, `"verify_until":"2026-11-23T14:00:00Z"`} {
		if !bytes.Contains(out, []byte(member)) {
			t.Errorf("rewritten document lacks %s:\n%s", member, out)
		}
	}

	path1 := newVaultPath(t)
	v1 := mustCreate(t, path1, nil)
	if err := v1.Update(ctx, func(d *Document) error { d.Accounts["a"] = &Account{Name: "a"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if out := decryptRaw(t, path1, testPass); !bytes.HasPrefix(out, []byte(`{"version":1,`)) || bytes.Contains(out, []byte("signing_keys")) {
		t.Errorf("a document without keys is written as %s", out)
	}
}
