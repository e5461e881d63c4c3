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
