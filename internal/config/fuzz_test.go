package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse: whatever a config file holds, Parse returns (no panic from
// the YAML parser reaches the binaries, which would print a stack instead
// of one line), and a failure is ErrInvalid on one line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "# only a comment\n", "vault: /v\nsocket: /s\n", "listen:\n  socket: /s\n  htps: x\n",
		"allow_awsecr_iam_auto: maybe\n", "vault: [\n", "listen: 3\n", "vault: &a /v\nsocket: *a\n",
		"x: *nope\n", "- a\n", "vault: /a\nvault: /b\n", "listen: {socket: /s, htps: x}\n",
		"user_authentication:\n  oauth:\n    default_token_expiration_seconds: soon\n", "\tvault: x\n",
		"<<: {vault: /v}\n", "keys: !!map {secret: x}\n", "vault: !!binary aGk=\n", "---\nvault: /v\n---\nsocket: /s\n",
	} {
		f.Add([]byte(seed))
	}
	shipped, err := os.ReadFile("../../packaging/etc/config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := Defaults()
		err := Parse(b, &cfg)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse error %v is not ErrInvalid", err)
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Parse error is not one line: %q", err.Error())
		}
	})
}
