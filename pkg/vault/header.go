package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"filippo.io/age"
)

// Work factor bounds (log2 of scrypt's N).
const (
	MinWorkFactor     = 10
	MaxWorkFactor     = 22
	DefaultWorkFactor = 15
)

// HeaderInfo is what the age header says, learned without any scrypt.
type HeaderInfo struct {
	WorkFactor int
	Header     []byte // the raw header bytes, MAC line included
}

// stanzaInspector is an age.Identity that records the stanzas age parsed and
// then declines, so age's own header parser does the parsing and no
// cryptography runs.
type stanzaInspector struct{ stanzas []*age.Stanza }

var errInspected = errors.New("inspected")

func (s *stanzaInspector) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	s.stanzas = stanzas
	return nil, errInspected
}

// readHeader extracts and checks the age header of src: it must be exactly
// one scrypt stanza with a work factor inside the bounds.
func readHeader(src io.Reader) (HeaderInfo, error) {
	hdr, err := age.ExtractHeader(src)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A file that starts like age but ends inside the header was cut short.
			return HeaderInfo{}, fmt.Errorf("%w: truncated header", ErrDamaged)
		}
		return HeaderInfo{}, fmt.Errorf("%w: no age header", ErrNotVault)
	}
	insp := &stanzaInspector{}
	if _, err := age.DecryptHeader(hdr, insp); !errors.Is(err, errInspected) {
		return HeaderInfo{}, fmt.Errorf("%w: unreadable age header", ErrNotVault)
	}
	if len(insp.stanzas) != 1 || insp.stanzas[0].Type != "scrypt" {
		return HeaderInfo{}, fmt.Errorf("%w: an age file for other recipients, not a passphrase", ErrNotVault)
	}
	st := insp.stanzas[0]
	if len(st.Args) != 2 {
		return HeaderInfo{}, fmt.Errorf("%w: malformed scrypt stanza", ErrWrongPassphrase)
	}
	logN, err := strconv.Atoi(st.Args[1])
	if err != nil || st.Args[1] != strconv.Itoa(logN) {
		return HeaderInfo{}, fmt.Errorf("%w: malformed scrypt stanza", ErrWrongPassphrase)
	}
	if logN > MaxWorkFactor || logN < 1 {
		return HeaderInfo{}, fmt.Errorf("%w: file asks for 2^%d, the limit is 2^%d", ErrWorkFactor, logN, MaxWorkFactor)
	}
	return HeaderInfo{WorkFactor: logN, Header: hdr}, nil
}

// Inspect reads the header of the vault at path without a passphrase and
// without any scrypt, for "vault status".
func Inspect(path string) (HeaderInfo, error) {
	b, err := readFileChecked(path)
	if err != nil {
		return HeaderInfo{}, err
	}
	info, err := readHeader(bytes.NewReader(b))
	if err != nil {
		return HeaderInfo{}, pathErr(path, err, "")
	}
	return info, nil
}

// capturingRecipient wraps age's scrypt recipient and remembers the file key
// it wrapped, so the writer can later decrypt its own file without another
// scrypt (age.NewInjectedFileKeyIdentity).
type capturingRecipient struct {
	inner   *age.ScryptRecipient
	fileKey []byte
}

func (c *capturingRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, _, err := c.WrapWithLabels(fileKey)
	return s, err
}

func (c *capturingRecipient) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	c.fileKey = bytes.Clone(fileKey)
	return c.inner.WrapWithLabels(fileKey)
}
