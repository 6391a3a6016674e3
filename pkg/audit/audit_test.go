package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnabled: changes are recorded while auditing is on, reads only with
// reads on; nil, zero and switched-off loggers record nothing.
func TestEnabled(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var nilLogger *Logger
	off := New(nil, true)
	tests := []struct {
		name         string
		l            *Logger
		change, read bool
	}{
		{"nil", nilLogger, false, false},
		{"zero", &Logger{}, false, false},
		{"off", off, false, false},
		{"changes", New(log, false), true, false},
		{"changes and reads", New(log, true), true, true},
	}
	for _, tt := range tests {
		if got := tt.l.Enabled(Change); got != tt.change {
			t.Errorf("%s: Enabled(Change) = %v", tt.name, got)
		}
		if got := tt.l.Enabled(Read); got != tt.read {
			t.Errorf("%s: Enabled(Read) = %v", tt.name, got)
		}
		if tt.l.Enabled(None) {
			t.Errorf("%s: Enabled(None)", tt.name)
		}
		tt.l.Log(context.Background(), Event{Action: "x", Kind: Change}) // must not panic
	}
}

// TestLogShape: one JSON record per event, with the actor's fields as the
// transport has them; Set switches reads and handlers while in use.
func TestLogShape(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewJSONHandler(&buf, nil)), false)
	l.Log(context.Background(), Event{Action: "helper.get", Kind: Read, Code: 200})
	if buf.Len() != 0 {
		t.Fatalf("a read was recorded with reads off: %s", buf.String())
	}
	l.Set(slog.New(slog.NewJSONHandler(&buf, nil)), true)
	l.Log(context.Background(), Event{Action: "helper.get", Kind: Read, Code: 200, Target: "https://r.example",
		Actor: Actor{Transport: "unix", PeerUID: 1000, PeerPID: 42, Method: "socket"}})
	l.Log(context.Background(), Event{Action: "account.create", Kind: Change, Code: 400, Target: "team1", Namespace: "admin",
		Actor: Actor{Transport: "tcp", User: "admin", Account: "admin", Method: "basic", Client: "127.0.0.1", PeerUID: -1, PeerPID: -1}})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var a, b map[string]any
	json.Unmarshal([]byte(lines[0]), &a)
	json.Unmarshal([]byte(lines[1]), &b)
	actA, _ := a["actor"].(map[string]any)
	actB, _ := b["actor"].(map[string]any)
	if a["msg"] != "audit" || a["outcome"] != "success" || a["target"] != "https://r.example" || actA["peer_uid"] != 1000.0 || actA["peer_pid"] != 42.0 || actA["client"] != nil {
		t.Errorf("socket read event: %s", lines[0])
	}
	if b["outcome"] != "failure" || b["namespace"] != "admin" || actB["user"] != "admin" || actB["client"] != "127.0.0.1" || actB["peer_uid"] != nil {
		t.Errorf("tcp change event: %s", lines[1])
	}
}

// TestFileReopen: after the file is moved away (logrotate), Reopen makes
// writes go to a new file at the path; the moved file keeps what it had.
func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	f, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("one\n"))
	os.Rename(p, p+".1")
	f.Write([]byte("two\n"))
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("three\n"))
	old, _ := os.ReadFile(p + ".1")
	cur, _ := os.ReadFile(p)
	if string(old) != "one\ntwo\n" || string(cur) != "three\n" {
		t.Errorf("rotated %q, current %q", old, cur)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, want 0600", fi.Mode().Perm())
	}
}
