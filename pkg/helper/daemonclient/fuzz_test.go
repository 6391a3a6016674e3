package daemonclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadAnswer: whatever comes back on the socket, reading it returns
// (no panic in the helper, which would print a stack instead of falling
// back or answering), a head is either refused as malformed or cut short,
// or gives a status in 100-999, and a body never exceeds its bound.
func FuzzReadAnswer(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{\"a\"",
		"HTTP/1.0 200 OK\r\n\r\nuntil the close",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"SSH-2.0-OpenSSH_9.6\r\n", "HTTP/1.1 2\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\nx", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), maxHeadLine)
		code, length, err := readHead(br)
		if err != nil {
			if !errors.Is(err, errMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("readHead error %v is neither malformed nor cut short", err)
			}
			return
		}
		if code < 100 || code > 999 {
			t.Errorf("readHead accepted status %d", code)
		}
		got, err := readBody(br, length)
		if err == nil && (len(got) > maxAnswer || len(got) > len(b) || (length >= 0 && int64(len(got)) != length)) {
			t.Errorf("readBody gave %d bytes from %d", len(got), len(b))
		}
	})
}
