package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter"
)

func TestPrivacyCommands(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	mustRun(t, db, "supporters", "add", "--email", "x@example.org", "--first-name", "Xavière", "--city", "Arras")
	mustRun(t, db, "donations", "add", "--email", "x@example.org", "--amount", "12", "--method", "cash", "--date", "2026-01-02")

	var x struct {
		Supporter struct{ Email, FirstName string } `json:"supporter"`
		Donations []struct{ Amount int64 }
		Extra     struct{ Deliveries []any }
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "supporters", "export", "x@example.org")), &x); err != nil {
		t.Fatal(err)
	}
	if x.Supporter.Email != "x@example.org" || len(x.Donations) != 1 || x.Donations[0].Amount != 1200 {
		t.Errorf("export = %+v", x)
	}
	if code, _, errOut := crmRun(t, db, "supporters", "forget", "x@example.org"); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Errorf("forget without --yes and no terminal: %d %q", code, errOut)
	}
	if out := mustRun(t, db, "supporters", "forget", "x@example.org", "--yes"); !strings.Contains(out, "outbox folders") ||
		!strings.Contains(out, "backups") || strings.Contains(out, "may have gone out") {
		t.Errorf("forget says:\n%s", out)
	}
	if code, _, errOut := crmRun(t, db, "supporters", "export", "x@example.org"); code == 0 || !strings.Contains(errOut, "no supporter") {
		t.Errorf("export after forget: %d %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "supporters", "add", "--email", "X@example.org"); code == 0 || !strings.Contains(errOut, "erased address") {
		t.Errorf("add an erased address: %d %q", code, errOut)
	}
	mustRun(t, db, "supporters", "add", "--email", "x@example.org", "--fresh-consent")

	audit := mustRun(t, db, "audit", "--format", "csv")
	for _, want := range []string{"cli:supporters add,create supporter", "cli:donations add,add donation",
		"cli:supporters export,export", "cli:supporters forget,forget"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, "Xavière") || strings.Contains(audit, "x@example.org") {
		t.Errorf("personal data in the audit:\n%s", audit)
	}
	if out := mustRun(t, db, "audit", "--supporter", "x@example.org", "--format", "csv"); strings.Count(out, "\n") != 2 {
		t.Errorf("audit of the new record:\n%s", out)
	}

	if !crm.IsPostgresDSN(db) {
		backup := filepath.Join(dir, "backup.db")
		mustRun(t, db, "backup", backup)
		if out := mustRun(t, backup, "check"); !strings.Contains(out, "integrity: ok") {
			t.Errorf("check of the backup: %q", out)
		}
	}
	if out := mustRun(t, db, "supporters", "count"); out != "1\n" { // the erased record is not listed
		t.Errorf("count = %q", out)
	}
	if out := mustRun(t, db, "prune", "--inactive", "3y", "--dry-run", "--format", "csv"); out != "email,created_at\n" {
		t.Errorf("prune dry run = %q", out)
	}
	if code, _, errOut := crmRun(t, db, "prune", "--inactive", "soon"); code == 0 || !strings.Contains(errOut, "--inactive") {
		t.Errorf("bad period: %d %q", code, errOut)
	}
}

// panicSender dies like a killed process when handed a batch: the batch
// is in flight, and may or may not have reached Resend.
type panicSender struct{}

func (panicSender) SendBatch(context.Context, string, []newsletter.Message) ([]newsletter.Result, error) {
	panic("killed")
}

// Erasing someone whose batch was in flight when a send stopped says the
// message may have gone out, and names the campaign.
func TestForgetWarnsOfABatchInFlight(t *testing.T) {
	ctx := context.Background()
	path := crmtest.Database(t)
	db, err := crm.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportSupporters(ctx, strings.NewReader("email\nann+x&y@example.org\nbob@example.org\n"),
		crm.ImportOptions{List: "lettre", Consent: "test"}); err != nil {
		t.Fatal(err)
	}
	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("https://asso.example.org/nl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{Name: "mars", List: "lettre", From: "Asso <news@asso.example.org>",
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: "---\nsubject: Mars\n---\nBonjour\n"}}}); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		n.Send(ctx, "mars", panicSender{}, newsletter.SendOptions{})
	}()
	db.Close()
	out := mustRun(t, path, "supporters", "forget", "ann+x&y@example.org", "--yes")
	for _, want := range []string{"warning: campaign mars", "may have gone out", "crm send mars", "outbox folders"} {
		if !strings.Contains(out, want) {
			t.Errorf("forget says:\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "ann+x") {
		t.Errorf("forget printed the address:\n%s", out)
	}
}
