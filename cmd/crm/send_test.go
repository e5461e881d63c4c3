package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

func TestCampaignAndSendCommands(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	examples := filepath.Join("..", "..", "examples", "data")
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()

	mustRun(t, db, "lists", "create", "alertes", "--kind", "alerts")
	mustRun(t, db, "import", "supporters", filepath.Join(examples, "supporters.csv"), "--list", "alertes", "--consent", "papier")
	out := mustRun(t, db, "campaign", "create", "demain", "--list", "alertes",
		"--segment", "interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse",
		"--from", "Solidarité Calais <alertes@asso.example.org>",
		"--template", "fr="+filepath.Join(examples, "lettre.fr.md"), "--template", filepath.Join(examples, "letter.en.md"))
	if !strings.Contains(out, "5 recipients now (en 1, fr 4)") {
		t.Fatalf("create printed %q", out)
	}

	// Flags after the name: --dry-run is a flag, never an argument.
	out = mustRun(t, db, "send", "demain", "--dry-run")
	if !strings.Contains(out, "5 recipients (en 1, fr 4); dry run, nothing sent") || !strings.Contains(out, "Subject: Expulsion annoncée à Calais") {
		t.Errorf("dry run printed:\n%s", out)
	}
	outbox := filepath.Join(dir, "outbox")
	out = mustRun(t, db, "send", "demain", "--test", "moi@example.org", "--outbox", outbox)
	if !strings.Contains(out, `"[TEST] Expulsion annoncée à Calais`) {
		t.Errorf("test send printed %q", out)
	}
	// --outbox writes what the send would send now, twice the same files,
	// and leaves a draft that can still be edited.
	preview := filepath.Join(dir, "preview")
	for range 2 {
		code, out, errOut := crmRun(t, db, "send", "demain", "--outbox", preview)
		if code != 0 || !strings.Contains(out, "5 messages written to") || !strings.Contains(out, "nothing was sent or recorded") ||
			!strings.Contains(errOut, "no public URL") {
			t.Fatalf("send --outbox: exit %d, %q, %q", code, out, errOut)
		}
	}
	if files, _ := os.ReadDir(preview); len(files) != 5 {
		t.Errorf("the outbox has %d files, want 5", len(files))
	}
	if show := mustRun(t, db, "campaign", "show", "demain", "--format", "json"); !strings.Contains(show, `"sent": 0`) || !strings.Contains(show, `"status": "draft"`) {
		t.Errorf("after dry run, test and outbox, campaign show:\n%s", show)
	}
	if out := mustRun(t, db, "campaign", "list", "--format", "csv"); !strings.Contains(out, ",draft,5,") {
		t.Errorf("campaign list counts a draft's recipients as show does:\n%s", out)
	}
	if out := mustRun(t, db, "campaign", "edit", "demain", "--reply-to", "benevoles@asso.example.org"); !strings.Contains(out, "changed draft demain: 5 recipients now") {
		t.Errorf("edit printed %q", out)
	}
	if code, _, errOut := crmRun(t, db, "campaign", "edit", "demain"); code != 2 || !strings.Contains(errOut, "nothing to change") {
		t.Errorf("edit without a change: %d %q", code, errOut)
	}

	// Real sends need an API key and a public URL.
	t.Setenv("RESEND_BASE_URL", srv.BaseURL())
	t.Setenv("RESEND_API_KEY", "")
	if code, _, errOut := crmRun(t, db, "send", "demain", "--yes", "--public-url", "https://asso.example.org"); code == 0 || !strings.Contains(errOut, "RESEND_API_KEY") {
		t.Errorf("send without key: %d %q", code, errOut)
	}
	t.Setenv("RESEND_API_KEY", resendtest.APIKey)
	if code, _, errOut := crmRun(t, db, "send", "demain", "--yes"); code != 2 || !strings.Contains(errOut, "--public-url") {
		t.Errorf("send without public URL: %d %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "send", "demain", "--yes", "--public-url", "ftp://x"); code == 0 || !strings.Contains(errOut, "--public-url") {
		t.Errorf("send with a bad public URL: %d %q", code, errOut)
	}
	out = mustRun(t, db, "send", "demain", "--yes", "--public-url", "https://asso.example.org/nl")
	if !strings.Contains(out, "5 sent, 0 failed, 0 skipped") {
		t.Errorf("send printed %q", out)
	}
	emails := srv.Emails()
	if len(emails) != 5 || !strings.HasPrefix(emails[0].Headers["List-Unsubscribe"], "<https://asso.example.org/nl/unsubscribe?token=") {
		t.Fatalf("%d emails: %+v", len(emails), emails)
	}
	if out := mustRun(t, db, "send", "demain", "--yes", "--public-url", "https://asso.example.org/nl"); !strings.Contains(out, "already sent: nothing to send") {
		t.Errorf("second send printed %q", out)
	}
	if len(srv.Emails()) != 5 {
		t.Error("second send sent mail")
	}
	chart := filepath.Join(dir, "demain.svg")
	if out := mustRun(t, db, "campaign", "show", "demain", "--chart", chart); !strings.Contains(out, "delivered") || !strings.Contains(out, "unsubscribed") {
		t.Errorf("campaign show after the send:\n%s", out)
	}
	if b, err := os.ReadFile(chart); err != nil || !strings.Contains(string(b), ">sent<") {
		t.Errorf("chart: %v", err)
	}
	if code, _, errOut := crmRun(t, db, "campaign", "show", "demain", "--chart", filepath.Join(dir, "x.gif")); code != 2 || !strings.Contains(errOut, "--chart") {
		t.Errorf("chart to a gif: exit %d, %q", code, errOut)
	}
	if emails[0].ReplyTo != "benevoles@asso.example.org" {
		t.Errorf("reply-to of the edited draft: %q", emails[0].ReplyTo)
	}
	for _, args := range [][]string{{"campaign", "edit", "demain", "--subject", "x"}, {"campaign", "delete", "demain"}} {
		if code, _, errOut := crmRun(t, db, args...); code == 0 || !strings.Contains(errOut, "kept as the record of what was sent") ||
			!strings.Contains(errOut, "crm campaign copy") {
			t.Errorf("crm %s after the send: exit %d, %q", strings.Join(args, " "), code, errOut)
		}
	}
	if out := mustRun(t, db, "campaign", "copy", "demain", "demain-2"); !strings.Contains(out, "created draft demain-2 from demain: 5 recipients now") {
		t.Errorf("copy printed %q", out)
	}
	mustRun(t, db, "campaign", "delete", "demain-2")
	if out := mustRun(t, db, "campaign", "list", "--format", "csv"); !strings.Contains(out, "demain,alertes,") || !strings.Contains(out, ",sent,5,") {
		t.Errorf("campaign list:\n%s", out)
	}
	files, _ := os.ReadDir(outbox)
	if len(files) != 1 {
		t.Errorf("outbox has %d files, want the one test message", len(files))
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"campaign", "create", "x", "--list", "nope", "--from", "a@example.org", "--template", filepath.Join(examples, "lettre.fr.md")}, "not found"},
		{[]string{"campaign", "create", "x", "--list", "alertes", "--from", "not an address", "--template", filepath.Join(examples, "lettre.fr.md")}, `--from "not an address"`},
		{[]string{"campaign", "create", "x", "--list", "alertes", "--from", "a@example.org", "--template", "missing.md"}, `--template "missing.md"`},
		{[]string{"campaign", "create", "x", "--list", "alertes", "--from", "a@example.org", "--template", filepath.Join(examples, "lettre.fr.md"), "--segment", "tag:"}, "expected a value"},
		{[]string{"campaign", "create", "demain", "--list", "alertes", "--from", "a@example.org", "--template", filepath.Join(examples, "lettre.fr.md")}, "already exists"},
		{[]string{"send", "nope", "--dry-run"}, "not found"},
		{[]string{"send", "demain", "extra", "--dry-run"}, "unexpected argument"},
		{[]string{"send", "demain", "--test", "not-an-address", "--outbox", outbox}, `--test "not-an-address"`},
	} {
		code, _, errOut := crmRun(t, db, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("crm %s: exit %d, stderr %q, want %q", strings.Join(tt.args, " "), code, errOut, tt.want)
		}
	}
}

func TestBadTemplateIsFoundAtCreation(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	bad := filepath.Join(dir, "bad.fr.md")
	os.WriteFile(bad, []byte("---\nsubject: Bonjour\n---\nBonjour {{.Prenom}}\n"), 0o600)
	mustRun(t, db, "lists", "create", "lettre")
	code, _, errOut := crmRun(t, db, "campaign", "create", "x", "--list", "lettre", "--from", "a@example.org", "--template", bad)
	if code != 1 || !strings.Contains(errOut, `bad.fr.md line 4: unknown field "Prenom" (did you mean FirstName?); fields are FirstName,`) {
		t.Errorf("exit %d, %q", code, errOut)
	}
	// The library names the field; the command names its flag.
	nosubject := filepath.Join(dir, "nosubject.en.md")
	os.WriteFile(nosubject, []byte("Hello\n"), 0o600)
	code, _, errOut = crmRun(t, db, "campaign", "create", "x", "--list", "lettre", "--from", "a@example.org", "--template", nosubject)
	if code != 1 || !strings.Contains(errOut, `template en: no subject: give --subject or a "subject:" line`) {
		t.Errorf("no subject: exit %d, %q", code, errOut)
	}
	code, out, errOut := crmRun(t, db, "supporters", "count", "--segment", "tag:nobody")
	if code != 0 || out != "0\n" || !strings.Contains(errOut, `warning: no supporter has the tag "nobody"`) {
		t.Errorf("a tag nobody has: exit %d, %q, %q", code, out, errOut)
	}
	code, _, errOut = crmRun(t, db, "supporters", "count", "--segment", "list:lettres")
	if code != 1 || !strings.Contains(errOut, `no list "lettres" (they are lettre)`) {
		t.Errorf("a list that does not exist: exit %d, %q", code, errOut)
	}
	code, _, errOut = crmRun(t, db, "supporters", "count", "--segment", "segment:nope")
	if code != 1 || !strings.Contains(errOut, `no saved segment "nope" (see crm segments list)`) {
		t.Errorf("unknown saved segment: exit %d, %q", code, errOut)
	}
}
