package newsletter_test

import (
	"bytes"
	"mime"
	"net/mail"
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
