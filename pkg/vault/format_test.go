package vault

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const formatDoc = "../../docs/vault-format.md"

// exampleFromDoc returns the JSON example of docs/vault-format.md.
func exampleFromDoc(t testing.TB) []byte {
	t.Helper()
	md, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(md, []byte("### Example"))
	if !ok {
		t.Fatalf("%s has no \"### Example\" section", formatDoc)
	}
	_, rest, ok = bytes.Cut(rest, []byte("```json\n"))
	block, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatalf("%s: no json block in the example section", formatDoc)
	}
	return block
}

// membersInDoc returns the member names listed in the table under each
// heading of docs/vault-format.md that names a record kind.
func membersInDoc(t *testing.T) map[string][]string {
	t.Helper()
	md, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\|")
	out := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(md)) {
		switch {
		case strings.HasPrefix(line, "## The document"):
			section = "document"
		case strings.HasPrefix(line, "### Account"):
			section = "account"
		case strings.HasPrefix(line, "### User"):
			section = "user"
		case strings.HasPrefix(line, "### Registry entry"):
			section = "registry"
		case strings.HasPrefix(line, "### ECR token"):
			section = "ecr_token"
		case strings.HasPrefix(line, "### Signing key"):
			section = "signing_key"
		case strings.HasPrefix(line, "#"):
			section = ""
		}
		if m := row.FindStringSubmatch(line); m != nil && section != "" {
			out[section] = append(out[section], m[1])
		}
	}
	return out
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	return slices.Sorted(maps.Keys(m))
}

// firstRecord returns the one record of a collection in a generic document.
func firstRecord(v any) any {
	for _, r := range v.(map[string]any) {
		return r
	}
	return nil
}

// TestFileMatchesFormatDoc decrypts a vault with the age library and the
// passphrase alone, and checks the document inside against
// docs/vault-format.md: its example (same records, same members, same
// values) and its member tables.
func TestFileMatchesFormatDoc(t *testing.T) {
	path := newVaultPath(t)
	mustCreate(t, path, fullDocument())
	plain := decryptRaw(t, path, testPass)

	var got, example map[string]any
	if err := json.Unmarshal(plain, &got); err != nil {
		t.Fatalf("the decrypted vault is not JSON: %v", err)
	}
	if err := json.Unmarshal(exampleFromDoc(t), &example); err != nil {
		t.Fatalf("the example in %s is not JSON: %v", formatDoc, err)
	}
	if !reflect.DeepEqual(got, example) {
		t.Errorf("decrypted document differs from the example in %s:\n got %s", formatDoc, plain)
	}

	records := map[string]any{
		"document":    got,
		"account":     firstRecord(got["accounts"]),
		"user":        firstRecord(got["users"]),
		"registry":    firstRecord(firstRecord(got["registries"])),
		"ecr_token":   firstRecord(got["ecr_tokens"]),
		"signing_key": firstRecord(got["signing_keys"]),
	}
	tables := membersInDoc(t)
	for kind, rec := range records {
		t.Run(kind, func(t *testing.T) {
			want := slices.Sorted(slices.Values(tables[kind]))
			if got := keys(rec); !slices.Equal(got, want) {
				t.Errorf("members written: %q\nmembers in %s: %q", got, formatDoc, want)
			}
		})
	}

	// And the example itself parses into the same document.
	d, err := ParseDocument(exampleFromDoc(t))
	if err != nil {
		t.Fatalf("ParseDocument(example): %v", err)
	}
	m, _ := d.Marshal()
	if !bytes.Equal(m, plain) {
		t.Errorf("example re-marshalled:\n got %s\nwant %s", m, plain)
	}
	if len(d.Accounts["admin"].Extra)+len(d.Extra) != 0 {
		t.Errorf("the example has members the code does not know: %v %v", d.Extra, d.Accounts["admin"].Extra)
	}
}

func FuzzParseDocument(f *testing.F) {
	// Small seeds, one record kind each: the fuzzer minimizes every new
	// input it finds, and that costs time in the square of the input's size.
	f.Add([]byte(`{"version":1,"accounts":{"a":{"name":"a","type":"admin","state":"enabled","created_at":"2026-11-23T13:00:00Z"}}}`))
	f.Add([]byte(`{"version":1,"users":{"u":{"username":"u","uuid":"x","password_hash":"$s$","generation":2}}}`))
	f.Add([]byte(`{"version":1,"registries":{"a":{"h:5000/r*":{"registry":"h:5000/r*","registry_verify":true}}}}`))
	f.Add([]byte(`{"version":1,"ecr_tokens":{"k":{"key":"k","expires_at":"2026-11-23T13:00:00Z"}},"signing_secret":"c2VjcmV0"}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"accounts":{},"users":{},"registries":{},"ecr_tokens":{}}`))
	f.Add([]byte(`{"version":1,"x":[1,{"y":null}],"registries":{"a":{"r":{"registry":"r","z":"\u00e9"}}}}`))
	f.Add([]byte(`{"version":1,"users":{"u":{"username":"u","generation":-9223372036854775808,"created_at":"2026-01-02T03:04:05.123456789+05:30"}}}`))
	f.Add([]byte(`{"version":3,"accounts":[]}`))
	f.Add([]byte(`{"version":1,"accounts":{"a":null}}`))
	f.Add([]byte(`{"version":1,"Version":3,"version_":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDocument(b)
		if err != nil {
			if d != nil {
				t.Fatalf("ParseDocument returned a document with error %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not one line", err)
			}
			return
		}
		m1, err := d.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed document: %v", err)
		}
		d2, err := ParseDocument(m1)
		if err != nil {
			t.Fatalf("ParseDocument of Marshal output: %v\n%s", err, m1)
		}
		m2, err := d2.Marshal()
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(m1, m2) {
			t.Fatalf("Marshal is not stable:\n%s\n%s", m1, m2)
		}
		if m3, _ := d.Clone().Marshal(); !bytes.Equal(m3, m1) {
			t.Fatalf("Clone differs:\n%s\n%s", m3, m1)
		}
	})
}
