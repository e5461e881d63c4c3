package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// A draft is edited, looked at whole (Messages) and copied; once its send
// has started it can be neither edited nor deleted, and its copy, a new
// draft, goes to its own audience exactly once.
func TestDraftLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 250, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")

	// Messages records nothing and renders what a send would send.
	var msgs []newsletter.Message
	for m, err := range n.Messages(ctx, "mars") {
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) != 250 || msgs[0].To != "p00000@example.org" || msgs[0].Subject != "The March letter" ||
		msgs[1].Subject != "La lettre de mars" || !strings.Contains(msgs[1].Text, "Personne 1") {
		t.Fatalf("%d messages, first %+v", len(msgs), msgs[0])
	}
	if c, _ := n.Campaign(ctx, "mars"); c.Status != newsletter.StatusDraft {
		t.Fatalf("status after Messages: %s", c.Status)
	}

	// A bad edit changes nothing; a good one changes what was asked.
	bad := "list:nope OR"
	if _, err := n.EditCampaign(ctx, "mars", newsletter.CampaignEdit{Segment: &bad}); !errors.Is(err, crm.ErrInvalid) {
		t.Fatalf("bad segment: %v", err)
	}
	if _, err := n.EditCampaign(ctx, "mars", newsletter.CampaignEdit{RemoveTemplates: []string{"de"}}); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("removing a missing template: %v", err)
	}
	seg, subject := "email:p000*", "Urgent"
	c, err := n.EditCampaign(ctx, "mars", newsletter.CampaignEdit{Segment: &seg, Subject: &subject,
		RemoveTemplates: []string{"en"},
		Templates:       []newsletter.TemplateSource{{Language: "FR", Source: "Salut {{.FirstName}}"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := n.Campaign(ctx, "mars")
	if got.Segment != seg || got.Subject != subject || len(got.Templates) != 1 || got.Templates[0].Language != "fr" ||
		got.Templates[0].Source != "Salut {{.FirstName}}" || got.ID != c.ID || got.From != "Asso <news@asso.example.org>" {
		t.Fatalf("after edit: %+v", got)
	}
	st, _ := n.CampaignStats(ctx, "mars")
	if st.Recipients != 100 { // p00000 to p00099
		t.Fatalf("audience after edit: %d", st.Recipients)
	}

	rep, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil || rep.Sent != 100 {
		t.Fatalf("send: %+v %v", rep, err)
	}
	if _, err := n.EditCampaign(ctx, "mars", newsletter.CampaignEdit{Subject: &subject}); !errors.Is(err, newsletter.ErrNotDraft) ||
		!errors.Is(err, crm.ErrConflict) {
		t.Fatalf("edit after the send: %v", err)
	}
	if err := n.DeleteCampaign(ctx, "mars"); !errors.Is(err, newsletter.ErrNotDraft) {
		t.Fatalf("delete after the send: %v", err)
	}
	if c, err := n.Campaign(ctx, "mars"); err != nil || c.Status != newsletter.StatusSent {
		t.Fatalf("the sent campaign: %+v %v", c, err)
	}
	for m, err := range n.Messages(ctx, "mars") {
		t.Fatalf("a sent campaign has messages to send: %+v %v", m, err)
	}

	// The copy is a draft of its own, sent once to its own audience.
	cp, err := n.CopyCampaign(ctx, "mars", "mars-bis")
	if err != nil || cp.Status != newsletter.StatusDraft || cp.Segment != seg || cp.Subject != subject {
		t.Fatalf("copy: %+v %v", cp, err)
	}
	for range 2 {
		if _, err := n.Send(ctx, "mars-bis", e.sender(t), newsletter.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	count := map[string]int{}
	for _, m := range e.srv.Emails() {
		count[m.To[0]]++
	}
	for i := range 100 {
		if addr := fmt.Sprintf("p%05d@example.org", i); count[addr] != 2 {
			t.Errorf("%s got %d messages, want 2 (one per campaign)", addr, count[addr])
		}
	}
	if len(count) != 100 {
		t.Errorf("%d addresses were mailed, want 100", len(count))
	}
	if _, err := n.CopyCampaign(ctx, "mars", "mars-bis"); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("copy to a taken name: %v", err)
	}

	// A draft is deleted with its templates; its name is free again.
	if err := n.DeleteCampaign(ctx, "mars-bis"); !errors.Is(err, newsletter.ErrNotDraft) {
		t.Fatalf("delete of a sent copy: %v", err)
	}
	if _, err := n.CopyCampaign(ctx, "mars", "avril"); err != nil {
		t.Fatal(err)
	}
	if err := n.DeleteCampaign(ctx, "avril"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Campaign(ctx, "avril"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("deleted draft: %v", err)
	}
	if _, err := n.CopyCampaign(ctx, "mars", "avril"); err != nil {
		t.Fatalf("the deleted draft's name: %v", err)
	}
}

// The campaign's own subject is a template like the front matter's, with
// the same checks.
func TestCampaignSubjectIsATemplate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 3, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	spec := newsletter.CampaignSpec{Name: "x", List: "lettre", From: "Asso <a@asso.example.org>",
		Subject:   "Salut {{.Prenom}}",
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: "Bonjour"}}}
	var ve *crm.ValidationError
	if _, err := n.CreateCampaign(ctx, spec); !errors.As(err, &ve) || ve.Field != "subject" ||
		!strings.Contains(err.Error(), `unknown field "Prenom" (did you mean FirstName?)`) {
		t.Fatalf("a bad subject: %v", err)
	}
	spec.Subject = "Salut {{.FirstName | default \"ami·e\"}}"
	if _, err := n.CreateCampaign(ctx, spec); err != nil {
		t.Fatal(err)
	}
	m, err := n.RenderFor(ctx, "x", "p00001@example.org", "")
	if err != nil || m.Subject != "Salut Personne 1" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := n.Send(ctx, "x", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, em := range e.srv.Emails() {
		if !strings.HasPrefix(em.Subject, "Salut Personne ") {
			t.Errorf("subject %q", em.Subject)
		}
	}
}

// A campaign's life is in the audit log: created, edited, scheduled,
// sent, deleted, with its name and never an address.
func TestCampaignAudit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 3, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	e.campaign(t, n, "avril", "lettre", "")
	subject := "Urgent"
	if _, err := n.EditCampaign(ctx, "mars", newsletter.CampaignEdit{Subject: &subject}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ScheduleCampaign(ctx, "mars", e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := n.DeleteCampaign(ctx, "avril"); err != nil {
		t.Fatal(err)
	}
	entries, err := e.db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "campaign ") {
			got = append(got, en.Action+": "+en.Details)
		}
		if strings.Contains(en.Details, "@") {
			t.Errorf("an address in the audit log: %+v", en)
		}
	}
	want := []string{"campaign create: campaign mars", "campaign create: campaign avril", "campaign edit: campaign mars",
		"campaign schedule: campaign mars at", "campaign send: campaign mars, 3 recipients", "campaign delete: campaign avril"}
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("the audit log lacks %q:\n%s", w, joined)
		}
	}
}
