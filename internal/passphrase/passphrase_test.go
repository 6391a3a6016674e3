package passphrase

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindOrder(t *testing.T) {
	dir := t.TempDir()
	flagFile := writeFile(t, dir, "flag", "from-flag\n")
	envFile := writeFile(t, dir, "env", "from-env-file\n")
	creds := filepath.Join(dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, creds, CredentialName, "from-credential\n")
	prompt := func(string) (string, error) { return "from-prompt", nil }

	all := map[string]string{EnvFile: envFile, EnvPassphrase: "from-env", EnvCredsDir: creds}
	tests := []struct {
		name   string
		file   string
		env    []string // which of all are set
		prompt bool
		want   string
		where  Where
	}{
		{"flag first", flagFile, []string{EnvFile, EnvPassphrase, EnvCredsDir}, true, "from-flag", Where("passphrase file " + flagFile)},
		{"then the env file", "", []string{EnvFile, EnvPassphrase, EnvCredsDir}, true, "from-env-file", EnvFile},
		{"then the env passphrase", "", []string{EnvPassphrase, EnvCredsDir}, true, "from-env", EnvPassphrase},
		{"then the systemd credential", "", []string{EnvCredsDir}, true, "from-credential", "systemd credential " + CredentialName},
		{"then the prompt", "", nil, true, "from-prompt", "terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for _, k := range tt.env {
				env[k] = all[k]
			}
			src := Source{File: tt.file, Getenv: func(k string) string { return env[k] }}
			if tt.prompt {
				src.Prompt = prompt
			}
			got, where, err := Find(src)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if got != tt.want || where != tt.where {
				t.Errorf("Find = %q from %q, want %q from %q", got, where, tt.want, tt.where)
			}
		})
	}
}

func TestFindNone(t *testing.T) {
	dir := t.TempDir()
	// A credentials directory without the file is not a source.
	env := map[string]string{EnvCredsDir: dir}
	_, _, err := Find(Source{Getenv: func(k string) string { return env[k] }})
	if !errors.Is(err, ErrNone) {
		t.Fatalf("Find: err = %v, want %v", err, ErrNone)
	}
	if got, want := err.Error(), "vault is locked: no passphrase (start anchored, or set ANCHORE_VAULT_PASSPHRASE_FILE)"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	// No prompt for the protocol actions: a nil Prompt is never asked.
	if _, _, err := Find(Source{}); !errors.Is(err, ErrNone) {
		t.Errorf("zero Source: err = %v, want %v", err, ErrNone)
	}
	// A prompt that finds no terminal reports the same.
	noTTY := func(string) (string, error) { return "", ErrNone }
	if _, _, err := Find(Source{Prompt: noTTY}); !errors.Is(err, ErrNone) {
		t.Errorf("prompt without a terminal: err = %v, want %v", err, ErrNone)
	}
	empty := func(string) (string, error) { return "", nil }
	if _, _, err := Find(Source{Prompt: empty}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty answer: err = %v, want %v", err, ErrEmpty)
	}
}

func TestReadFileTrimsExactlyOneNewline(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		content, want string
	}{
		{"secret", "secret"},
		{"secret\n", "secret"},
		{"secret\r\n", "secret"},
		{"secret\n\n", "secret\n"},
		{"secret\r\n\r\n", "secret\r\n"},
		{"secret\n\r\n", "secret\n"},
		{"secret\r", "secret\r"},
		{" secret \t", " secret \t"},
		{"\nsecret\n", "\nsecret"},
	}
	for i, tt := range tests {
		t.Run(strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(tt.content), func(t *testing.T) {
			p := writeFile(t, dir, string(rune('a'+i)), tt.content)
			got, err := ReadFile(p)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if got != tt.want {
				t.Errorf("ReadFile = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		content string
		want    error
		text    string
	}{
		{"empty", "", ErrEmpty, "empty passphrase"},
		{"only a newline", "\n", ErrEmpty, ""},
		{"too large", strings.Repeat("x", MaxFileSize+1), nil, "larger than 64 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, tt.content)
			_, err := ReadFile(p)
			if err == nil {
				t.Fatal("ReadFile succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %q: want the path and %q", err, tt.text)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: err = %v", err)
	}
	// A named file that is missing is an error, not a fall-through to the
	// next source: the user asked for that file.
	env := map[string]string{EnvPassphrase: "would-be-used"}
	if _, _, err := Find(Source{File: filepath.Join(dir, "missing"), Getenv: func(k string) string { return env[k] }}); err == nil {
		t.Errorf("Find with a missing --passphrase-file fell through to the environment")
	}
}

// A passphrase file its group or others may read is refused as the vault
// is (same hint); a systemd credential, shown 0440 through its ACL, is not.
func TestFileModeRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o644, false}, {0o604, false}, {0o620, false}} {
		p := writeFile(t, dir, "pass-"+tc.mode.String(), "secret-passphrase\n")
		if err := os.Chmod(p, tc.mode); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		if tc.ok {
			if err != nil || got != "secret-passphrase" {
				t.Errorf("mode %04o: %q, %v; want the passphrase", tc.mode, got, err)
			}
			continue
		}
		if !errors.Is(err, ErrPermissions) || !strings.Contains(err.Error(), "(chmod 600 "+p+")") || strings.Contains(err.Error(), "secret-passphrase") {
			t.Errorf("mode %04o: %v; want ErrPermissions with the chmod 600 hint and no secret", tc.mode, err)
		}
		if _, _, err := Find(Source{Getenv: func(k string) string { return map[string]string{EnvFile: p}[k] }}); !errors.Is(err, ErrPermissions) {
			t.Errorf("mode %04o through %s: %v; want ErrPermissions", tc.mode, EnvFile, err)
		}
	}
	creds := filepath.Join(dir, "creds")
	os.Mkdir(creds, 0o700)
	c := writeFile(t, creds, CredentialName, "from-credential\n")
	os.Chmod(c, 0o440)
	if got, _, err := Find(Source{Getenv: func(k string) string { return map[string]string{EnvCredsDir: creds}[k] }}); err != nil || got != "from-credential" {
		t.Errorf("systemd credential 0440: %q, %v; want it read", got, err)
	}
}
