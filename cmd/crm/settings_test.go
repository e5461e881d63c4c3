package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// The association's settings are set once and used by the commands: a
// campaign needs no --from, its footer shows the name and address, and
// its links start with the public URL.
func TestSettingsCommands(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	examples := filepath.Join("..", "..", "examples", "data")
	mustRun(t, db, "lists", "create", "alertes")
	mustRun(t, db, "import", "supporters", filepath.Join(examples, "supporters.csv"), "--list", "alertes", "--consent", "papier")

	tpl := []string{"--template", "fr=" + filepath.Join(examples, "lettre.fr.md")}
	if code, _, errOut := crmRun(t, db, append([]string{"campaign", "create", "x", "--list", "alertes"}, tpl...)...); code != 2 ||
		!strings.Contains(errOut, "--from is required") || !strings.Contains(errOut, "crm settings set from") {
		t.Errorf("create without a sender: exit %d, %q", code, errOut)
	}
	for _, kv := range [][2]string{{"name", "Solidarité Calais"}, {"postal-address", `5 rue Royale\n62100 Calais`},
		{"from", "Solidarité Calais <alertes@asso.example.org>"}, {"public-url", "https://asso.example.org/nl"}} {
		mustRun(t, db, "settings", "set", kv[0], kv[1])
	}
	if code, _, errOut := crmRun(t, db, "settings", "set", "colour", "blue"); code != 2 || !strings.Contains(errOut, "the settings are name, postal-address") {
		t.Errorf("unknown key: exit %d, %q", code, errOut)
	}
	out := mustRun(t, db, "settings", "list", "--format", "csv")
	if !strings.Contains(out, "postal-address,\"5 rue Royale, 62100 Calais\"") || !strings.Contains(out, "time-zone,Europe/Paris (default)") {
		t.Errorf("settings list:\n%s", out)
	}
	mustRun(t, db, append([]string{"campaign", "create", "x", "--list", "alertes"}, tpl...)...)
	outbox := filepath.Join(dir, "outbox")
	if code, _, errOut := crmRun(t, db, "send", "x", "--outbox", outbox); code != 0 || strings.Contains(errOut, "no public URL") {
		t.Fatalf("send --outbox: exit %d, %q", code, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) == 0 {
		t.Fatal("no message written")
	}
	b, _ := os.ReadFile(files[0])
	eml := string(b)
	for _, want := range []string{"From: =?utf-8?q?Solidarit=C3=A9_Calais?= <alertes@asso.example.org>",
		"List-Unsubscribe: <https://asso.example.org/nl/unsubscribe?token=", "5 rue Royale"} {
		if !strings.Contains(eml, want) {
			t.Errorf("the message lacks %q:\n%s", want, eml)
		}
	}
}

// A campaign scheduled a moment ahead is sent by crm send --due once it
// is due, and only once.
func TestScheduleCommands(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	examples := filepath.Join("..", "..", "examples", "data")
	mustRun(t, db, "lists", "create", "alertes")
	mustRun(t, db, "import", "supporters", filepath.Join(examples, "supporters.csv"), "--list", "alertes", "--consent", "papier")
	mustRun(t, db, "campaign", "create", "demain", "--list", "alertes", "--from", "Asso <a@asso.example.org>",
		"--template", "fr="+filepath.Join(examples, "lettre.fr.md"))
	if code, _, errOut := crmRun(t, db, "campaign", "schedule", "demain", "--at", "2020-01-01 07:30"); code == 0 || !strings.Contains(errOut, "in the past") {
		t.Errorf("a time in the past: exit %d, %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "campaign", "schedule", "demain", "--at", "demain matin"); code != 2 || !strings.Contains(errOut, `--at "demain matin"`) {
		t.Errorf("a time that is no time: exit %d, %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "send"); code != 2 || !strings.Contains(errOut, "or --due") {
		t.Errorf("send without a name: exit %d, %q", code, errOut)
	}
	at := time.Now().Add(2 * time.Second).In(time.UTC).Format("2006-01-02 15:04:05")
	if out := mustRun(t, db, "campaign", "schedule", "demain", "--at", at, "--tz", "UTC"); !strings.Contains(out, "will be sent at") {
		t.Errorf("schedule printed %q", out)
	}
	if out := mustRun(t, db, "campaign", "list", "--format", "csv"); !strings.Contains(out, ",scheduled,") {
		t.Errorf("campaign list of a scheduled campaign:\n%s", out)
	}
	if code, _, errOut := crmRun(t, db, "send", "--due", "--dry-run"); code != 2 || !strings.Contains(errOut, "give its NAME instead of --due") {
		t.Errorf("--due with --dry-run: exit %d, %q", code, errOut)
	}
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()
	t.Setenv("RESEND_BASE_URL", srv.BaseURL())
	t.Setenv("RESEND_API_KEY", resendtest.APIKey)
	t.Setenv("CRM_PUBLIC_URL", "https://asso.example.org/nl")
	if out := mustRun(t, db, "send", "--due"); !strings.Contains(out, "no scheduled campaign is due") {
		t.Errorf("before its time: %q", out)
	}
	time.Sleep(2500 * time.Millisecond)
	// Due now: --outbox writes the queued emails only, and leaves the
	// campaign to a real send.
	outbox := filepath.Join(dir, "outbox")
	if out := mustRun(t, db, "send", "--due", "--outbox", outbox); !strings.Contains(out, "no queued welcome or confirmation email") ||
		!strings.Contains(out, "scheduled campaigns were not sent") {
		t.Errorf("send --due --outbox printed %q", out)
	}
	if files, _ := os.ReadDir(outbox); len(files) != 0 {
		t.Errorf("send --due --outbox wrote %d campaign messages", len(files))
	}
	for i := range 2 {
		out := mustRun(t, db, "send", "--due")
		if i == 0 && !strings.Contains(out, "campaign demain: 11 sent") || i == 1 && !strings.Contains(out, "no scheduled campaign is due") {
			t.Errorf("send --due #%d printed %q", i+1, out)
		}
	}
	if n := len(srv.Emails()); n != 11 {
		t.Errorf("%d messages, want 11", n)
	}
}
