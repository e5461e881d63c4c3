package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
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
