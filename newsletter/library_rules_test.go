package newsletter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// A Newsletter created without WithPublicURL would put links to
// DefaultPublicURL (this machine) in real mail: Send and SendTest refuse
// a sender that delivers real mail, before freezing or sending anything;
// an Outbox, which writes files, goes ahead.
func TestRealSendsRefuseTheDefaultPublicURL(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 3, crm.List{Name: "lettre"})
	n, err := newsletter.New(ctx, e.db, newsletter.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.campaign(t, n, "mars", "lettre", "")
	real := e.sender(t)

	if err := n.CheckSender(real); !errors.Is(err, newsletter.ErrNoPublicURL) {
		t.Errorf("CheckSender(ResendSender) = %v, want ErrNoPublicURL", err)
	}
	rep, err := n.Send(ctx, "mars", real, newsletter.SendOptions{})
	if !errors.Is(err, newsletter.ErrNoPublicURL) || rep != nil {
		t.Errorf("Send = %+v, %v; want ErrNoPublicURL", rep, err)
	}
	if _, err := n.SendTest(ctx, "mars", "moi@example.org", "", real); !errors.Is(err, newsletter.ErrNoPublicURL) {
		t.Errorf("SendTest = %v, want ErrNoPublicURL", err)
	}
	if got := len(e.srv.Emails()); got != 0 {
		t.Errorf("%d emails went out", got)
	}
	if c, err := n.Campaign(ctx, "mars"); err != nil || c.Status != newsletter.StatusDraft {
		t.Errorf("campaign after the refusal: %+v, %v; want a draft", c, err)
	}

	outbox := &newsletter.Outbox{Dir: filepath.Join(t.TempDir(), "out")}
	if err := n.CheckSender(outbox); err != nil {
		t.Errorf("CheckSender(Outbox) = %v", err)
	}
	rep, err = n.Send(ctx, "mars", outbox, newsletter.SendOptions{})
	if err != nil || rep.Sent != 3 {
		t.Fatalf("Send to an outbox = %+v, %v", rep, err)
	}
	files, _ := os.ReadDir(outbox.Dir)
	if len(files) != 3 {
		t.Fatalf("outbox holds %d files", len(files))
	}
	b, err := os.ReadFile(filepath.Join(outbox.Dir, files[0].Name()))
	if err != nil || !strings.Contains(string(b), "<"+newsletter.DefaultPublicURL+"/unsubscribe?token=") {
		t.Errorf("outbox file: %v\n%s", err, b)
	}

	// With a public URL, the real sender is accepted.
	n2, err := newsletter.New(ctx, e.db, newsletter.WithPublicURL("https://asso.example.org/nl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.CheckSender(real); err != nil {
		t.Errorf("CheckSender with a public URL = %v", err)
	}
}

// An empty API key is refused with ErrNoAPIKey, which names no
// environment variable or flag: the caller knows where its key comes from.
func TestNewResendSenderWithoutKey(t *testing.T) {
	for _, key := range []string{"", "  "} {
		s, err := newsletter.NewResendSender(key)
		if !errors.Is(err, newsletter.ErrNoAPIKey) || s != nil {
			t.Errorf("NewResendSender(%q) = %v, %v; want ErrNoAPIKey", key, s, err)
		}
		if strings.Contains(err.Error(), "RESEND_API_KEY") || strings.Contains(err.Error(), "--") {
			t.Errorf("error %q speaks of the command line", err)
		}
	}
}

// A template without a subject, in a campaign without one, is refused
// with a validation error on the field subject naming the language.
func TestCampaignWithoutSubject(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 1, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	_, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{Name: "mars", List: "lettre", From: "Asso <news@asso.example.org>",
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: "Bonjour"}}})
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || ve.Field != "subject" || ve.Value != "fr" || strings.Contains(err.Error(), "--") {
		t.Errorf("CreateCampaign without a subject: %v", err)
	}
}
