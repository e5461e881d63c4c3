package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crm subscribe on a double opt-in list sends the confirmation email when
// it has a sender (here --outbox), says so when it has none, and sends it
// again on --resend-confirmation only past the per-address interval.
func TestSubscribeSendsTheConfirmation(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	outbox := filepath.Join(t.TempDir(), "outbox")
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "lists", "create", "alertes", "--double-opt-in", "--title", "Alertes expulsions")
	mustRun(t, db, "supporters", "add", "--email", "ana@example.org")
	mustRun(t, db, "supporters", "add", "--email", "bo@example.org")
	out := mustRun(t, db, "subscribe", "ana@example.org", "--list", "alertes")
	if !strings.Contains(out, "no confirmation email sent: no sender") || !strings.Contains(out, "--resend-confirmation") {
		t.Errorf("subscribe without a sender printed %q", out)
	}
	out = mustRun(t, db, "subscribe", "ana@example.org", "--list", "alertes", "--resend-confirmation", "--outbox", outbox)
	if !strings.Contains(out, "sent 1 email (1 confirmation)") {
		t.Errorf("--resend-confirmation printed %q", out)
	}
	out = mustRun(t, db, "subscribe", "bo@example.org", "--list", "alertes", "--outbox", outbox)
	if !strings.HasPrefix(out, "pending") || !strings.Contains(out, "sent 1 email") {
		t.Errorf("subscribe with --outbox printed %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 2 {
		t.Fatalf("%d emails in the outbox, want 2", len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !strings.Contains(string(b), "/confirm?token=") {
		t.Fatalf("confirmation email: %s %v", b, err)
	}
	out = mustRun(t, db, "subscribe", "bo@example.org", "--list", "alertes", "--resend-confirmation", "--outbox", outbox)
	if !strings.Contains(out, "less than 15m0s ago") {
		t.Errorf("a second confirmation at once printed %q", out)
	}
	if code, _, stderr := crmRun(t, db, "subscribe", "bo@example.org", "--list", "alertes", "--welcome"); code != 2 ||
		!strings.Contains(stderr, "--outbox") {
		t.Errorf("--welcome without a sender: %d %q", code, stderr)
	}
}

// A list's welcome email, set from the command line, goes to someone
// subscribed with --welcome, and an import --welcome queues one per
// person it newly subscribed.
func TestListWelcomeFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "crm.db")
	outbox := filepath.Join(dir, "outbox")
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "lists", "create", "lettre", "--title", "La lettre")
	mustRun(t, db, "supporters", "add", "--email", "ana@example.org", "--first-name", "Ana")
	if code, _, stderr := crmRun(t, db, "import", "supporters", filepath.Join(dir, "none.csv"), "--list", "lettre",
		"--consent", "papier", "--welcome"); code != 2 || !strings.Contains(stderr, "--welcome default") {
		t.Errorf("import --welcome to a list without one: %d %q", code, stderr)
	}
	bad := filepath.Join(dir, "bad.fr.md")
	os.WriteFile(bad, []byte("Bonjour {{.Prenom}}\n"), 0o600)
	if code, _, stderr := crmRun(t, db, "lists", "edit", "lettre", "--welcome", bad); code != 2 || !strings.Contains(stderr, "Prenom") {
		t.Errorf("a bad welcome template: %d %q", code, stderr)
	}
	if out := mustRun(t, db, "lists", "edit", "lettre", "--welcome", "default"); !strings.Contains(out, "welcome email set (fr, en)") {
		t.Errorf("lists edit --welcome default printed %q", out)
	}
	out := mustRun(t, db, "subscribe", "ana@example.org", "--list", "lettre", "--welcome", "--outbox", outbox)
	if !strings.Contains(out, "subscribed") || !strings.Contains(out, "sent 1 email") {
		t.Errorf("subscribe --welcome printed %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d emails in the outbox, want 1", len(files))
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "Bonjour Ana") {
		t.Errorf("welcome email: %s", b)
	}
	csv := filepath.Join(dir, "people.csv")
	os.WriteFile(csv, []byte("email\nana@example.org\nbo@example.org\ncy@example.org\n"), 0o600)
	out = mustRun(t, db, "import", "supporters", csv, "--list", "lettre", "--consent", "papier", "--welcome")
	if !strings.Contains(out, "welcome emails queued: 2") {
		t.Errorf("import --welcome printed %q", out)
	}
	if out := mustRun(t, db, "lists", "edit", "lettre", "--welcome", "none"); !strings.Contains(out, "sends no welcome") {
		t.Errorf("lists edit --welcome none printed %q", out)
	}
}
