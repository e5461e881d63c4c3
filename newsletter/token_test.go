package newsletter_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/assocrm/assocrm/newsletter"
)

func TestTokens(t *testing.T) {
	s, err := newsletter.NewSigner(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	unsub := s.Sign(newsletter.Token{Purpose: newsletter.PurposeUnsubscribe, SupporterID: 42, ListID: 7})
	got, err := s.Verify(unsub, newsletter.PurposeUnsubscribe, now.AddDate(10, 0, 0))
	if err != nil || got.SupporterID != 42 || got.ListID != 7 {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	confirm := s.Sign(newsletter.Token{Purpose: newsletter.PurposeConfirm, SupporterID: 42, ListID: 7, Expires: now.Add(newsletter.ConfirmTokenLifetime)})
	if _, err := s.Verify(confirm, newsletter.PurposeConfirm, now.Add(time.Hour)); err != nil {
		t.Errorf("fresh confirm token: %v", err)
	}
	if _, err := s.Verify(confirm, newsletter.PurposeConfirm, now.Add(8*24*time.Hour)); !errors.Is(err, newsletter.ErrTokenExpired) {
		t.Errorf("old confirm token: %v", err)
	}
	// An answer link is bound to its person and event, and to its purpose.
	rsvp := s.Sign(newsletter.Token{Purpose: newsletter.PurposeRSVP, SupporterID: 42, EventID: 9, CampaignID: 3,
		Expires: now.Add(48 * time.Hour)})
	if got, err := s.Verify(rsvp, newsletter.PurposeRSVP, now); err != nil || got.SupporterID != 42 || got.EventID != 9 ||
		got.ListID != 0 || got.CampaignID != 3 {
		t.Errorf("rsvp token = %+v, %v", got, err)
	}
	for _, p := range []newsletter.Purpose{newsletter.PurposeCalendar, newsletter.PurposeUnsubscribe, newsletter.PurposeConfirm} {
		if _, err := s.Verify(rsvp, p, now); !errors.Is(err, newsletter.ErrTokenInvalid) {
			t.Errorf("rsvp token for purpose %d: %v", p, err)
		}
	}
	// Any other last character is another link, even one that only
	// changes the spare bits base64 leaves in it.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, tok := range []string{rsvp, unsub, confirm} {
		for _, c := range alphabet {
			if changed := tok[:len(tok)-1] + string(c); changed != tok {
				for _, p := range []newsletter.Purpose{newsletter.PurposeRSVP, newsletter.PurposeUnsubscribe, newsletter.PurposeConfirm} {
					if _, err := s.Verify(changed, p, now); err == nil {
						t.Errorf("%s with its last character changed to %c verifies for purpose %d", tok, c, p)
					}
				}
			}
		}
	}
	other, _ := newsletter.NewSigner(bytes.Repeat([]byte("x"), 32))
	bad := []struct {
		name, token string
		purpose     newsletter.Purpose
		signer      *newsletter.Signer
	}{
		{"other purpose", unsub, newsletter.PurposePreferences, s},
		{"other secret", unsub, newsletter.PurposeUnsubscribe, other},
		{"truncated", unsub[:len(unsub)-2], newsletter.PurposeUnsubscribe, s},
		{"empty", "", newsletter.PurposeUnsubscribe, s},
		{"garbage", "%%%", newsletter.PurposeUnsubscribe, s},
	}
	for _, tt := range bad {
		if _, err := tt.signer.Verify(tt.token, tt.purpose, now); !errors.Is(err, newsletter.ErrTokenInvalid) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// Flipping any character of the token breaks it.
	for i := range unsub {
		b := []byte(unsub)
		b[i] ^= 1
		if b[i] == '-' || b[i] == '_' || (b[i] >= '0' && b[i] <= 'z') {
			if _, err := s.Verify(string(b), newsletter.PurposeUnsubscribe, now); err == nil {
				t.Errorf("token with byte %d flipped still verifies", i)
			}
		}
	}
	if _, err := newsletter.NewSigner([]byte("short")); err == nil {
		t.Error("short secret accepted")
	}
}
