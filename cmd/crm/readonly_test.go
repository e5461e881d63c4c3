package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
)

// TestReadCommandsOnReadOnlyDatabase runs the read commands on a database
// the user may not write: a SQLite file and folder without write bits
// (which do not stop root, so the file's bytes are compared too), or a
// PostgreSQL server that makes every session read only. They all work,
// and write nothing, not even the audit entry of an export.
func TestReadCommandsOnReadOnlyDatabase(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "init")
	mustRun(t, db, "lists", "create", "lettre")
	mustRun(t, db, "supporters", "add", "--email", "ann@example.org", "--first-name", "Ann", "--tag", "presse")
	mustRun(t, db, "subscribe", "ann@example.org", "--list", "lettre")
	mustRun(t, db, "supporters", "add", "--email", "bob@example.org")
	mustRun(t, db, "supporters", "forget", "bob@example.org", "--yes")
	mustRun(t, db, "segments", "save", "presse", "tag:presse")
	mustRun(t, db, "donations", "add", "--email", "ann@example.org", "--amount", "10", "--currency", "EUR",
		"--date", "2026-01-31", "--method", "transfer", "--ref", "DON-1")
	tpl := filepath.Join(t.TempDir(), "lettre.fr.md")
	if err := os.WriteFile(tpl, []byte("---\nsubject: Mars\n---\nBonjour {{.FirstName}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, "campaign", "create", "lettre-mars", "--list", "lettre", "--from", "Asso <a@asso.org>", "--template", "fr="+tpl)

	ro := db
	var sum func() [32]byte
	if crm.IsPostgresDSN(db) {
		ro = db + "&default_transaction_read_only=on"
		sum = func() [32]byte { return [32]byte{} }
	} else {
		dir := filepath.Dir(db)
		os.Chmod(db, 0o400)
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700); os.Chmod(db, 0o600) })
		sum = func() [32]byte {
			b, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			return sha256.Sum256(b)
		}
	}
	before := sum()
	audit := mustRun(t, ro, "audit")
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"supporters", "count"}, "1\n"},
		{[]string{"supporters", "count", "--tag", "presse", "--list", "lettre"}, "1\n"},
		{[]string{"supporters", "list", "--format", "csv"}, "ann@example.org"},
		{[]string{"supporters", "show", "ann@example.org"}, "Ann"},
		{[]string{"supporters", "export", "ann@example.org"}, `"email": "ann@example.org"`},
		{[]string{"audit", "--supporter", "ann@example.org"}, "subscribe"},
		{[]string{"check"}, "integrity: ok"},
		{[]string{"lists", "list"}, "lettre"},
		{[]string{"interests", "list"}, "terrain"},
		{[]string{"segments", "list"}, "presse"},
		{[]string{"donations", "list", "--format", "csv"}, "DON-1"},
		{[]string{"donations", "report", "--by", "year"}, "2026"},
		{[]string{"campaign", "list"}, "lettre-mars"},
		{[]string{"campaign", "show", "lettre-mars"}, "draft"},
	}
	for _, c := range checks {
		code, out, errOut := crmRun(t, ro, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("crm %s: exit %d, stdout %q, stderr %q; want %q", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
	if got := mustRun(t, ro, "audit"); got != audit {
		t.Errorf("the audit log changed on a read-only database:\nbefore:\n%s\nafter:\n%s", audit, got)
	}
	if sum() != before {
		t.Error("the read-only database file changed")
	}
}
