package daemonclient

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The hand-written HTTP/1.0 exchange held to the standard library's
// answers: net/http's server reads every request it writes as written, and
// every answer net/http's server gives it (sized, unsized, flushed, empty,
// any status) it reads as net/http's own client does (http.ReadResponse).
func TestExchangeMatchesNetHTTP(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 4<<10) // 64 KiB, written in pieces
	answers := map[string]func(w http.ResponseWriter){
		"/sized":    func(w http.ResponseWriter) { w.Header().Set("Content-Length", "2"); w.Write([]byte("{}")) },
		"/unsized":  func(w http.ResponseWriter) { w.Write([]byte(`{"a":"b"}`)) },
		"/empty":    func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"/notfound": func(w http.ResponseWriter) { http.Error(w, `{"message":"gone"}`, http.StatusNotFound) },
		"/flushed": func(w http.ResponseWriter) {
			for i := 0; i < len(big); i += 4096 {
				w.Write([]byte(big[i : i+4096]))
				w.(http.Flusher).Flush()
			}
		},
	}
	type seen struct{ method, path, ctype, body string }
	requests := make(chan seen, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		requests <- seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b)}
		answers[r.URL.Path](w)
	})}
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for path := range answers {
		t.Run(path, func(t *testing.T) {
			body := []byte("reg.example.com\n" + path)
			req := request("POST", path, "text/plain", body)
			raw := rawExchange(t, sock, req)
			if got := <-requests; got.method != "POST" || got.path != path || got.ctype != "text/plain" || got.body != string(body) {
				t.Errorf("net/http read the request as %+v", got)
			}
			want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
			if err != nil {
				t.Fatal(err)
			}
			wantBody, err := io.ReadAll(want.Body)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReaderSize(bytes.NewReader(raw), maxHeadLine)
			code, length, err := readHead(br)
			if err != nil {
				t.Fatalf("readHead: %v", err)
			}
			b, err := readBody(br, length)
			if err != nil {
				t.Fatalf("readBody: %v", err)
			}
			if code != want.StatusCode || length != want.ContentLength || !bytes.Equal(b, wantBody) {
				t.Errorf("read %d, length %d, %d bytes; net/http: %d, length %d, %d bytes",
					code, length, len(b), want.StatusCode, want.ContentLength, len(wantBody))
			}
		})
	}
	// And through the Client itself, end to end.
	c := &Client{Socket: sock}
	b, err := c.do(context.Background(), "POST", "/flushed", "text/plain", nil)
	<-requests
	if err != nil || string(b) != big {
		t.Errorf("Client: %d bytes, %v", len(b), err)
	}
}

// rawExchange sends req on the socket and returns every byte of the
// answer, up to the server's close.
func rawExchange(t *testing.T, sock string, req []byte) []byte {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
