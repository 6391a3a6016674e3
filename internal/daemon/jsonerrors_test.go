package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestJSONErrorsRewrite: net/http's own error answers become Anchore's
// JSON; anything else passes unchanged.
func TestJSONErrorsRewrite(t *testing.T) {
	tests := []struct {
		in        string
		code      int
		msg       string
		rewritten bool
	}{
		{"HTTP/1.1 400 Bad Request" + goErrorHeaders + "400 Bad Request", 400, "Bad Request", true},
		{"HTTP/1.1 431 Request Header Fields Too Large" + goErrorHeaders + "431 Request Header Fields Too Large", 431, "Request Header Fields Too Large", true},
		{"HTTP/1.1 400 Bad Request: missing required Host header" + goErrorHeaders + "400 Bad Request: missing required Host header", 400, "Bad Request: missing required Host header", true},
		// A handler's answer: sorted headers, a Date; never rewritten.
		{"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nDate: x\r\n\r\n400 Bad Request", 0, "", false},
		{"HTTP/1.1 200 OK" + goErrorHeaders + "fine", 0, "", false},
		{"some body bytes" + goErrorHeaders, 0, "", false},
	}
	for _, tt := range tests {
		out, ok := jsonError([]byte(tt.in))
		if ok != tt.rewritten {
			t.Errorf("%q: rewritten %v, want %v", tt.in, ok, tt.rewritten)
			continue
		}
		if !ok {
			continue
		}
		res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), nil)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		b, _ := io.ReadAll(res.Body)
		var e struct {
			Detail struct {
				ErrorCodes []string `json:"error_codes"`
			} `json:"detail"`
			HTTPCode int    `json:"httpcode"`
			Message  string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != tt.code || e.HTTPCode != tt.code || e.Message != tt.msg ||
			e.Detail.ErrorCodes == nil || res.Header.Get("Content-Type") != "application/json" || !res.Close {
			t.Errorf("%q -> %d %q %+v (%v)", tt.in, res.StatusCode, b, e, err)
		}
	}
}

// TestJSONErrorsListener: through a real server, a malformed request line
// is answered in JSON and a handler's own plain-text 400 is left alone.
func TestJSONErrorsListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
	})}
	go srv.Serve(JSONErrors(l))
	defer srv.Close()
	send := func(line string) (*http.Response, string) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "%s\r\nHost: x\r\n\r\n", line)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := send("GET /v1/registries/%zz HTTP/1.1")
	if res.StatusCode != 400 || res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"httpcode": 400`) {
		t.Errorf("malformed escape: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body = send("GET /ok HTTP/1.1")
	if res.StatusCode != 400 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") || body != "400 Bad Request\n" {
		t.Errorf("handler's own 400 was changed: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}
