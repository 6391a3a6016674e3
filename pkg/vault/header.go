package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"filippo.io/age"
)

// Work factor bounds (log2 of scrypt's N). The reading side caps at
// MaxWorkFactor before any scrypt runs: a hostile or corrupted file must not
// make us spend minutes of CPU and gigabytes of memory. Files below
// MinWorkFactor still open (age itself writes such files only when asked);
// this package never writes one.
const (
	MinWorkFactor     = 10
	MaxWorkFactor     = 22
	DefaultWorkFactor = 15
)

// ageIntro is the first line of every age file.
const ageIntro = "age-encryption.org/v1\n"

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

// readHeader extracts and checks the age header at the start of src: it must
// be exactly one scrypt stanza with a work factor of at most MaxWorkFactor.
// It does no cryptography.
//
// Classification, documented in docs/vault-format.md: a file that does not
// start with age's intro line is not a vault; one that does but whose header
// does not parse (cut short, or a byte flipped in its syntax) is damaged; a
// well-formed header for other recipients is not a vault; a malformed scrypt
// stanza reads as a wrong passphrase, because a damaged stanza and a wrong
// passphrase cannot be told apart once the stanza parses.
func readHeader(src io.Reader) (HeaderInfo, error) {
	br := &prefixRecorder{r: src}
	hdr, err := age.ExtractHeader(br)
	if err != nil {
		if bytes.HasPrefix(br.seen, []byte(ageIntro)) || bytes.HasPrefix([]byte(ageIntro), br.seen) {
			return HeaderInfo{}, fmt.Errorf("%w: the age header is cut short or malformed", ErrDamaged)
		}
		return HeaderInfo{}, fmt.Errorf("%w: the file is not an age file", ErrNotVault)
	}
	insp := &stanzaInspector{}
	if _, err := age.DecryptHeader(hdr, insp); !errors.Is(err, errInspected) {
		return HeaderInfo{}, fmt.Errorf("%w: unreadable age header", ErrDamaged)
	}
	if len(insp.stanzas) != 1 || insp.stanzas[0].Type != "scrypt" {
		return HeaderInfo{}, fmt.Errorf("%w: an age file for other recipients, not for a passphrase", ErrNotVault)
	}
	st := insp.stanzas[0]
	if len(st.Args) != 2 {
		return HeaderInfo{}, fmt.Errorf("%w (or a damaged scrypt stanza)", ErrWrongPassphrase)
	}
	logN, err := strconv.Atoi(st.Args[1])
	if err != nil || st.Args[1] != strconv.Itoa(logN) || logN < 1 {
		return HeaderInfo{}, fmt.Errorf("%w (or a damaged scrypt stanza)", ErrWrongPassphrase)
	}
	if logN > MaxWorkFactor {
		return HeaderInfo{}, fmt.Errorf("%w: the file asks for 2^%d, the limit is 2^%d", ErrWorkFactor, logN, MaxWorkFactor)
	}
	return HeaderInfo{WorkFactor: logN, Header: hdr}, nil
}

// prefixRecorder keeps the first bytes read through it, to tell a file that
// began as age from one that never was.
type prefixRecorder struct {
	r    io.Reader
	seen []byte
}

func (p *prefixRecorder) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if room := len(ageIntro) - len(p.seen); room > 0 {
		p.seen = append(p.seen, b[:min(n, room)]...)
	}
	return n, err
}

// Inspect reads the header of the vault at path without a passphrase and
// without any scrypt. It applies the same permission checks as Open.
func Inspect(path string) (HeaderInfo, error) {
	f, _, err := openChecked(path)
	if err != nil {
		return HeaderInfo{}, err
	}
	defer f.Close()
	info, err := readHeader(f)
	if err != nil {
		return HeaderInfo{}, pathErr(path, err, hintFor(err))
	}
	return info, nil
}

// scryptIdentity is age's scrypt identity with the work-factor cap, a count
// of derivations for tests, and a mark on every error it returns: any failure
// to unwrap the one stanza is a wrong passphrase (or a damaged stanza, which
// reads the same), while failures after it (the header MAC) are damage.
type scryptIdentity struct {
	inner *age.ScryptIdentity
	kdf   func()
}

var errUnwrap = errors.New("scrypt stanza did not unwrap")

func (s *scryptIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if s.kdf != nil {
		s.kdf()
	}
	key, err := s.inner.Unwrap(stanzas)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnwrap, err)
	}
	return key, nil
}

// capturingRecipient wraps age's scrypt recipient and remembers the file key
// it wrapped, so the writer can later decrypt its own file without another
// scrypt (age.NewInjectedFileKeyIdentity).
type capturingRecipient struct {
	inner   *age.ScryptRecipient
	kdf     func()
	fileKey []byte
}

func (c *capturingRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, _, err := c.WrapWithLabels(fileKey)
	return s, err
}

// WrapWithLabels keeps age's rule that an scrypt recipient is alone.
func (c *capturingRecipient) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	if c.kdf != nil {
		c.kdf()
	}
	c.fileKey = bytes.Clone(fileKey)
	return c.inner.WrapWithLabels(fileKey)
}
