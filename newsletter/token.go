package newsletter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

// Purpose says what a token allows; a token made for one purpose is
// refused for another.
type Purpose byte

// Token purposes.
const (
	PurposeConfirm     Purpose = 1 // confirm a pending subscription (expires)
	PurposeUnsubscribe Purpose = 2 // leave a list (never expires)
	PurposePreferences Purpose = 3 // change lists, language, interests (never expires)
	PurposeRSVP        Purpose = 4 // answer an event (expires after it)
	PurposeCalendar    Purpose = 5 // read a non-public event's calendar file (expires after it)
)

// ConfirmTokenLifetime is how long a confirmation link works.
const ConfirmTokenLifetime = 7 * 24 * time.Hour

// Token errors.
var (
	ErrTokenInvalid = errors.New("invalid or tampered link")
	ErrTokenExpired = errors.New("expired link")
)

// Token is what a signed link carries.
type Token struct {
	Purpose     Purpose
	SupporterID int64
	ListID      int64     // 0 for none (preferences)
	Expires     time.Time // zero for never
	// CampaignID names the campaign whose email carried the link (0 for
	// none), so that what is done through it is counted in the
	// campaign's report.
	CampaignID int64
	// EventID is the event a PurposeRSVP or PurposeCalendar token is
	// for (it takes ListID's place in the signed bytes).
	EventID int64
}

// tokenVersion lets the format change without accepting old forms by
// mistake: version 1 holds purpose, supporter, list and expiry; version 2
// adds the campaign. A token without a campaign is still written as
// version 1, so links made before version 2 and after are the same.
const (
	tokenVersion         = 1
	tokenVersionCampaign = 2
)

// macSize is the length of the truncated HMAC-SHA256: 128 bits.
const macSize = 16

// Signer makes and checks signed, unguessable link tokens with HMAC-SHA256.
type Signer struct {
	key  []byte
	macs sync.Pool // of HMAC states keyed with key, reused
}

// NewSigner returns a Signer for a secret of at least 32 bytes.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("signing secret: %d bytes, want at least 32", len(secret))
	}
	return &Signer{key: append([]byte(nil), secret...)}, nil
}

// Sign returns the token as URL-safe text.
func (s *Signer) Sign(t Token) string {
	var buf [1 + 1 + 4*binary.MaxVarintLen64 + macSize]byte
	version := byte(tokenVersion)
	if t.CampaignID != 0 {
		version = tokenVersionCampaign
	}
	b := append(buf[:0], version, byte(t.Purpose))
	b = binary.AppendUvarint(b, uint64(t.SupporterID))
	if t.Purpose == PurposeRSVP || t.Purpose == PurposeCalendar {
		b = binary.AppendUvarint(b, uint64(t.EventID))
	} else {
		b = binary.AppendUvarint(b, uint64(t.ListID))
	}
	var exp uint64
	if !t.Expires.IsZero() {
		exp = uint64(t.Expires.Unix())
	}
	b = binary.AppendUvarint(b, exp)
	if t.CampaignID != 0 {
		b = binary.AppendUvarint(b, uint64(t.CampaignID))
	}
	b = append(b, s.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Signer) mac(b []byte) []byte {
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.key)
	}
	m.Reset()
	m.Write(b)
	sum := m.Sum(make([]byte, 0, sha256.Size))[:macSize]
	s.macs.Put(m)
	return sum
}

// Verify checks a token for the given purpose at time now. It returns
// ErrTokenInvalid for anything tampered, truncated or made for another
// purpose, and ErrTokenExpired for a genuine token past its time.
func (s *Signer) Verify(text string, purpose Purpose, now time.Time) (Token, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil || len(b) < 2+3+macSize || len(b) > 2+4*binary.MaxVarintLen64+macSize {
		return Token{}, ErrTokenInvalid
	}
	body, mac := b[:len(b)-macSize], b[len(b)-macSize:]
	if !hmac.Equal(mac, s.mac(body)) || (body[0] != tokenVersion && body[0] != tokenVersionCampaign) ||
		Purpose(body[1]) != purpose {
		return Token{}, ErrTokenInvalid
	}
	rest := body[2:]
	var all [4]uint64
	vals := all[:3]
	if body[0] == tokenVersionCampaign {
		vals = all[:]
	}
	for i := range vals {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return Token{}, ErrTokenInvalid
		}
		vals[i], rest = v, rest[n:]
	}
	if len(rest) != 0 {
		return Token{}, ErrTokenInvalid
	}
	t := Token{Purpose: purpose, SupporterID: int64(vals[0]), ListID: int64(vals[1]), CampaignID: int64(all[3])}
	if purpose == PurposeRSVP || purpose == PurposeCalendar {
		t.EventID, t.ListID = t.ListID, 0
	}
	if vals[2] != 0 {
		t.Expires = time.Unix(int64(vals[2]), 0).UTC()
		if !now.Before(t.Expires) {
			return t, ErrTokenExpired
		}
	}
	return t, nil
}
