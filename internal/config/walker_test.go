package config

import (
	"os"
	"reflect"
	"testing"

	"github.com/goccy/go-yaml"
)

// Parse walks the document key by key (to report every problem at once);
// held here to the YAML library's own strict decoding: every document both
// accept decodes to the same File, and a document the library refuses for
// an unknown key or a wrong value, Parse refuses too.
func TestParseMatchesLibraryDecode(t *testing.T) {
	shipped, err := os.ReadFile("../../packaging/etc/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		// Not "" or only comments: the library zeroes its target there,
		// where Parse keeps the defaults (on purpose: no file, no change).
		string(shipped),
		"vault: /v\nsocket: /s\npassphrase_file: /p\nhelper_account: ci\n",
		"listen:\n  socket: /s\n  https: 127.0.0.1:8443\n  tls_cert: /c\n  tls_key: /k\n  http: 127.0.0.1:8228\n",
		"allow_awsecr_iam_auto: true\ndefault_admin_password: pw\ndefault_admin_email: a@b\n",
		"user_authentication:\n  hashed_passwords: true\n  oauth:\n    enabled: true\n    default_token_expiration_seconds: 600\n    issuer: me\n",
		"keys:\n  secret: s3cr3t-s3cr3t-s3cr3t\n  public_key_path: /pub\n  private_key_path: /priv\n",
		"vault: &a /v\nsocket: *a\n", "listen: {socket: /s, http: 'localhost:1'}\n", "vault: \"/with space\"\n",
		"listen:\n  htps: x\n", "allow_awsecr_iam_auto: maybe\n", "user_authentication:\n  oauth:\n    default_token_expiration_seconds: soon\n",
		"nosuchkey: 1\n",
	} {
		walked := Defaults()
		werr := Parse([]byte(doc), &walked)
		decoded := Defaults()
		derr := yaml.UnmarshalWithOptions([]byte(doc), &decoded, yaml.DisallowUnknownField())
		switch {
		case werr == nil && derr == nil:
			if !reflect.DeepEqual(walked, decoded) {
				t.Errorf("%q:\n walked  %+v\n decoded %+v", doc, walked, decoded)
			}
		case (werr == nil) != (derr == nil):
			t.Errorf("%q: Parse error %v, library error %v", doc, werr, derr)
		}
	}
}
