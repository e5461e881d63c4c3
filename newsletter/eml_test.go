package newsletter_test

import (
	"bytes"
	"context"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/newsletter"
)

// An outbox file with a long subject, non-ASCII display names and
// domains: every header line within RFC 5322's 998 characters (and
// folded near 78), headers in ASCII only, and net/mail reads back the
// same subject, names and addresses.
func TestEMLFoldsAndEncodesHeaders(t *testing.T) {
	long := strings.Repeat("Réunion publique à Calais, venez nombreuses et nombreux ! ", 25) // ~1,500 bytes
	word := strings.Repeat("x", 1200)                                                        // no space to fold at
	for _, subject := range []string{long, strings.TrimSpace(strings.Repeat("Plain ASCII words fold at spaces. ", 40)), "See " + word + " end"} {
		m := newsletter.Message{DeliveryID: 7, From: "Association Élan Solidarité <news@asso.example.org>",
			To: "jose@bücher.example", ReplyTo: `"Zoë Ünal, présidente" <zoe@münchen.example>`, Subject: subject,
			Text: "Bonjour", HTML: "<p>Bonjour</p>",
			Headers: map[string]string{"List-Unsubscribe": "<https://asso.example.org/nl/unsubscribe?token=abc>"}}
		b, err := newsletter.EML(m, "crm-key-1")
		if err != nil {
			t.Fatal(err)
		}
		head := string(b[:bytes.Index(b, []byte("\r\n\r\n"))])
		subjectLines := 0
		inSubject := false
		for _, line := range strings.Split(head, "\r\n") {
			if len(line) > 998 {
				t.Errorf("a header line of %d characters: %.60q...", len(line), line)
			}
			for i := 0; i < len(line); i++ {
				if line[i] >= 0x80 {
					t.Fatalf("non-ASCII header line: %q", line)
				}
			}
			if strings.HasPrefix(line, "Subject:") {
				inSubject = true
			} else if !strings.HasPrefix(line, " ") {
				inSubject = false
			}
			if inSubject {
				subjectLines++
				if len(line) > 90 {
					t.Errorf("subject line of %d characters not folded: %.60q", len(line), line)
				}
			}
		}
		if subjectLines < 10 {
			t.Errorf("subject of %d bytes on %d lines", len(subject), subjectLines)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || got != subject {
			t.Errorf("subject read back: %v\n got %.80q\nwant %.80q", err, got, subject)
		}
		from, err := msg.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "Association Élan Solidarité" || from[0].Address != "news@asso.example.org" {
			t.Errorf("from read back: %v, %v", from, err)
		}
		replyTo, err := msg.Header.AddressList("Reply-To")
		if err != nil || len(replyTo) != 1 || replyTo[0].Name != "Zoë Ünal, présidente" || replyTo[0].Address != "zoe@xn--mnchen-3ya.example" {
			t.Errorf("reply-to read back: %v, %v", replyTo, err)
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "jose@xn--bcher-kva.example" {
			t.Errorf("to read back: %v, %v", to, err)
		}
		if got := msg.Header.Get("List-Unsubscribe"); got != m.Headers["List-Unsubscribe"] {
			t.Errorf("List-Unsubscribe read back: %q", got)
		}
	}
}

// unfoldRFC undoes folding as RFC 5322 3.2.2 says: each CRLF followed by
// a space or tab is removed, and nothing else (net/textproto also
// collapses the spaces around a fold, which hides a lost space).
func unfoldRFC(head, name string) string {
	var out string
	in := false
	for _, line := range strings.Split(head, "\r\n") {
		switch {
		case strings.HasPrefix(line, name+":"):
			out, in = strings.TrimPrefix(line, name+":"), true
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			out += line
		default:
			in = false
		}
	}
	return strings.TrimPrefix(out, " ")
}

// Folding keeps every space (a run of spaces is never cut, no fold comes
// before an empty word, so no continuation line is only spaces), lines
// with encoded words stay within RFC 2047's 76 characters (the header
// name included), List-Unsubscribe (structured) is never encoded, only
// folded at its spaces, and outbox files are readable by their owner
// only.
func TestEMLFoldingFollowsTheRFCs(t *testing.T) {
	longURL := "<https://asso.example.org/nl/unsubscribe?token=" + strings.Repeat("a", 840) + ">"
	for _, tc := range []struct{ subject, unsub string }{
		{"a" + strings.Repeat(" ", 200) + "b", "<mailto:unsub@asso.example.org>, <https://asso.example.org/nl/u?t=x>"},
		{strings.Repeat("word  ", 40) + "end ", longURL},
		{strings.Repeat("Été à Calais ", 20), "<https://asso.example.org/nl/u?t=y>"},
		{strings.Repeat("é", 300), "<https://asso.example.org/nl/u?t=z&r=?x>"},
	} {
		m := newsletter.Message{DeliveryID: 7, From: "news@asso.example.org", To: "ann@example.org",
			Subject: tc.subject, Text: "x", HTML: "x", Headers: map[string]string{"List-Unsubscribe": tc.unsub}}
		b, err := newsletter.EML(m, "crm-key-1")
		if err != nil {
			t.Fatal(err)
		}
		head := string(b[:bytes.Index(b, []byte("\r\n\r\n"))])
		for _, line := range strings.Split(head, "\r\n") {
			if strings.TrimSpace(line) == "" {
				t.Errorf("subject %.20q: a header line of spaces only", tc.subject)
			}
			if strings.Contains(line, "=?") && len(line) > 76 {
				t.Errorf("subject %.20q: a line with an encoded word of %d characters: %.40q", tc.subject, len(line), line)
			}
			if len(line) > 998 {
				t.Errorf("a line of %d characters", len(line))
			}
		}
		got, err := new(mime.WordDecoder).DecodeHeader(unfoldRFC(head, "Subject"))
		if err != nil || got != tc.subject {
			t.Errorf("subject read back: %v\n got %q\nwant %q", err, got, tc.subject)
		}
		if got := unfoldRFC(head, "List-Unsubscribe"); got != tc.unsub {
			t.Errorf("List-Unsubscribe read back:\n got %.80q\nwant %.80q", got, tc.unsub)
		}
	}

	dir := filepath.Join(t.TempDir(), "outbox")
	o := &newsletter.Outbox{Dir: dir}
	if _, err := o.SendBatch(context.Background(), "k", []newsletter.Message{{DeliveryID: 1, From: "news@asso.example.org",
		To: "ann@example.org", Subject: "s", Text: "x", HTML: "x"}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "delivery-000001.eml"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
}
