package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// crm subscribe on a double opt-in list sends the confirmation email when
// it has a sender (here --outbox); without one it queues it and says
// which commands send it, and those commands work as written.
func TestSubscribeSendsTheConfirmation(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	outbox := filepath.Join(t.TempDir(), "outbox")
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "lists", "create", "alertes", "--double-opt-in", "--title", "Alertes expulsions")
	mustRun(t, db, "supporters", "add", "--email", "ana@example.org")
	mustRun(t, db, "supporters", "add", "--email", "bo@example.org")
	out := mustRun(t, db, "subscribe", "ana@example.org", "--list", "alertes")
	if want := "confirmation email queued: no sender now; crm serve or crm send --due (with RESEND_API_KEY, or --outbox DIR) sends it\n"; !strings.HasSuffix(out, want) {
		t.Errorf("subscribe without a sender printed %q", out)
	}
	out = mustRun(t, db, "subscribe", "ana@example.org", "--list", "alertes", "--resend-confirmation")
	if !strings.Contains(out, "less than 15m0s ago") || !strings.Contains(out, "one still queued goes with crm serve or crm send --due") {
		t.Errorf("--resend-confirmation at once without a sender printed %q", out)
	}
	// The hint works: crm send --due --outbox DIR writes the queued email.
	out = mustRun(t, db, "send", "--due", "--outbox", outbox)
	if !strings.Contains(out, "wrote 1 email (1 confirmation) to "+outbox) || !strings.Contains(out, "scheduled campaigns were not sent") {
		t.Errorf("send --due --outbox printed %q", out)
	}
	out = mustRun(t, db, "subscribe", "bo@example.org", "--list", "alertes", "--outbox", outbox)
	if !strings.HasPrefix(out, "pending") || !strings.Contains(out, "wrote 1 email (1 confirmation) to "+outbox+" as .eml files") {
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
	if !strings.Contains(out, "less than 15m0s ago") || strings.Contains(out, "wrote") {
		t.Errorf("a second confirmation at once printed %q", out)
	}
	// Without a sender, --resend-confirmation queues it as well; the next
	// subscribe with a sender sends what waits for the person.
	mustRun(t, db, "supporters", "add", "--email", "cy@example.org")
	mustRun(t, db, "subscribe", "cy@example.org", "--list", "alertes", "--confirmation-interval", "1ns")
	out = mustRun(t, db, "subscribe", "cy@example.org", "--list", "alertes", "--resend-confirmation", "--confirmation-interval", "1ns")
	if !strings.Contains(out, "confirmation email queued: no sender now") {
		t.Errorf("--resend-confirmation without a sender printed %q", out)
	}
	out = mustRun(t, db, "subscribe", "cy@example.org", "--list", "alertes", "--outbox", outbox)
	if !strings.Contains(out, "wrote 2 emails (2 confirmations)") {
		t.Errorf("subscribe with --outbox after two queued printed %q", out)
	}
}

// crm subscribe adds someone it does not know, unless their address was
// erased; a refused subscription adds no one.
func TestSubscribeAddsTheSupporter(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "lists", "create", "lettre")
	if out := mustRun(t, db, "subscribe", "Lea@Example.org", "--list", "lettre"); out != "added Lea@Example.org\nsubscribed\n" {
		t.Errorf("subscribe of a new address printed %q", out)
	}
	if out := mustRun(t, db, "supporters", "list", "--format", "csv"); !strings.Contains(out, "lea@example.org") {
		t.Errorf("the new supporter:\n%s", out)
	}
	if got := mustRun(t, db, "supporters", "export", "lea@example.org"); !strings.Contains(got, `"source": "cli"`) {
		t.Errorf("the new supporter's source:\n%s", got)
	}
	if out := mustRun(t, db, "subscribe", "lea@example.org", "--list", "lettre"); out != "already subscribed\n" {
		t.Errorf("subscribe again printed %q", out)
	}
	if code, _, errOut := crmRun(t, db, "subscribe", "zoe@example.org", "--list", "nope"); code != 1 || !strings.Contains(errOut, `list "nope": not found`) {
		t.Errorf("an unknown list: %d %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "subscribe", "not-an-address", "--list", "lettre"); code != 2 || !strings.Contains(errOut, `subscribe "not-an-address"`) {
		t.Errorf("a bad address: %d %q", code, errOut)
	}
	mustRun(t, db, "supporters", "forget", "lea@example.org", "--yes")
	code, _, errOut := crmRun(t, db, "subscribe", "lea@example.org", "--list", "lettre")
	if code != 1 || !strings.Contains(errOut, "fresh consent") || !strings.Contains(errOut, "--fresh-consent") {
		t.Errorf("an erased address: %d %q", code, errOut)
	}
	if got := mustRun(t, db, "supporters", "count"); got != "0\n" {
		t.Errorf("%s supporters, want none (a refused subscription adds no one)", got)
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
	if code, _, stderr := crmRun(t, db, "lists", "edit", "lettre", "--welcome", "fr="+bad); code != 2 || !strings.Contains(stderr, "Prenom") {
		t.Errorf("a bad welcome template: %d %q", code, stderr)
	}
	if out := mustRun(t, db, "lists", "edit", "lettre", "--welcome", "default"); !strings.Contains(out, "welcome email set (fr, en)") {
		t.Errorf("lists edit --welcome default printed %q", out)
	}
	out := mustRun(t, db, "subscribe", "ana@example.org", "--list", "lettre", "--welcome", "--outbox", outbox)
	if !strings.Contains(out, "subscribed") || !strings.Contains(out, "wrote 1 email to") {
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

// Without a sender, subscribe --welcome subscribes and queues the welcome
// as a double opt-in subscribe queues its confirmation; without
// --welcome it says the list has one; --resend-confirmation on a single
// opt-in list says there is nothing to confirm.
func TestSubscribeWelcomeWithoutSender(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "lists", "create", "lettre")
	mustRun(t, db, "lists", "edit", "lettre", "--welcome", "default")
	out := mustRun(t, db, "subscribe", "ana@example.org", "--list", "lettre", "--welcome")
	if want := "added ana@example.org\nsubscribed\nwelcome email queued: no sender now; crm serve or crm send --due " +
		"(with RESEND_API_KEY, or --outbox DIR) sends it\n"; out != want {
		t.Errorf("subscribe --welcome without a sender printed %q, want %q", out, want)
	}
	out = mustRun(t, db, "subscribe", "bo@example.org", "--list", "lettre")
	if !strings.Contains(out, "no welcome email sent: list lettre has one, which goes only with --welcome") {
		t.Errorf("subscribe without --welcome printed %q", out)
	}
	out = mustRun(t, db, "subscribe", "bo@example.org", "--list", "lettre", "--resend-confirmation")
	if !strings.Contains(out, "nothing to confirm: the person is subscribed") {
		t.Errorf("--resend-confirmation on a single opt-in list printed %q", out)
	}
	outbox := filepath.Join(dir, "outbox")
	if out := mustRun(t, db, "send", "--due", "--outbox", outbox); !strings.Contains(out, "wrote 1 email to") {
		t.Errorf("send --due --outbox printed %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d emails in the outbox, want Ana's welcome", len(files))
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "ana@example.org") || !strings.Contains(string(b), "Bienvenue") {
		t.Errorf("welcome email: %s", b)
	}
}

// lists edit --welcome LANG=FILE replaces that language only, LANG=none
// removes it, and anything but LANG=FILE (LANG fr or en), default or none
// is refused; lists show says what is sent in each language.
func TestListEmailsByLanguage(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	mustRun(t, db, "lists", "create", "lettre")
	mustRun(t, db, "lists", "create", "alertes", "--double-opt-in")
	en := filepath.Join(dir, "welcome.en.md")
	os.WriteFile(en, []byte("---\nsubject: Hi {{.List}}\n---\nHello {{.FirstName}}\n"), 0o600)
	confirm := filepath.Join(dir, "confirm.fr.md")
	os.WriteFile(confirm, []byte("---\nsubject: Confirmez\n---\nCliquez : {{.ConfirmURL}}\n"), 0o600)
	show := func(list string) map[string]string {
		t.Helper()
		rows := map[string]string{}
		for _, line := range strings.Split(mustRun(t, db, "lists", "show", list, "--format", "csv"), "\n") {
			if k, v, ok := strings.Cut(line, ","); ok {
				rows[k] = strings.Trim(v, `"`)
			}
		}
		return rows
	}
	mustRun(t, db, "lists", "edit", "lettre", "--welcome", "default")
	if out := mustRun(t, db, "lists", "edit", "lettre", "--welcome", "en="+en); out != "list lettre: welcome email set (fr, en)\n" {
		t.Errorf("--welcome en=FILE printed %q", out)
	}
	if r := show("lettre"); r["welcome_fr"] != "default" || r["welcome_en"] != "custom" || r["confirmation_fr"] != "default" {
		t.Errorf("lists show after --welcome en=FILE: %v", r)
	}
	if out := mustRun(t, db, "lists", "edit", "lettre", "--welcome", "fr=none"); out != "list lettre: welcome email set (en)\n" {
		t.Errorf("--welcome fr=none printed %q", out)
	}
	if r := show("lettre"); r["welcome_fr"] != "custom (its en one)" || r["welcome_en"] != "custom" {
		t.Errorf("lists show after --welcome fr=none: %v", r)
	}
	mustRun(t, db, "lists", "edit", "alertes", "--confirmation", "fr="+confirm)
	mustRun(t, db, "subscribe", "ana@example.org", "--list", "alertes")
	r := show("alertes")
	if r["confirmation_fr"] != "custom" || r["confirmation_en"] != "custom (its fr one)" || r["welcome_fr"] != "none" ||
		r["pending"] != "1" || r["subscribed"] != "0" || r["opt_in"] != "double" {
		t.Errorf("lists show alertes: %v", r)
	}
	var js struct {
		Name    string
		Pending int
		Emails  []struct{ Kind, Language, Source, From string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "lists", "show", "alertes", "--format", "json")), &js); err != nil ||
		js.Name != "alertes" || js.Pending != 1 || len(js.Emails) != 4 || js.Emails[2].Source != "custom" {
		t.Errorf("lists show --format json: %+v %v", js, err)
	}
	if out := mustRun(t, db, "lists", "list", "--format", "csv"); !strings.Contains(out, "alertes,alertes,newsletter,public,double,0,1\n") {
		t.Errorf("lists list counts the pending apart:\n%s", out)
	}
	if out := mustRun(t, db, "lists", "edit", "alertes", "--confirmation", "none"); out != "list alertes sends the built-in confirmation email\n" {
		t.Errorf("--confirmation none printed %q", out)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--welcome", en}, 2, `--welcome "` + en + `": want LANG=FILE with LANG fr or en`},
		{[]string{"--welcome", "de=" + en}, 2, `language "de": want fr or en`},
		{[]string{"--confirmation", "xx=" + confirm}, 2, `--confirmation "xx=`},
		{[]string{"--welcome", "none", "--welcome", "en=" + en}, 2, "--welcome none: give it alone"},
		{[]string{"--welcome", "fr=none"}, 1, "list lettre has no fr welcome email"},
	} {
		code, _, errOut := crmRun(t, db, append([]string{"lists", "edit", "lettre"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("lists edit lettre %v: exit %d, %q, want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
	if r := show("lettre"); r["welcome_en"] != "custom" {
		t.Errorf("a refused edit changed the emails: %v", r)
	}
	if code, _, errOut := crmRun(t, db, "lists", "show", "nope"); code != 1 || !strings.Contains(errOut, `list "nope": not found`) {
		t.Errorf("lists show nope: %d %q", code, errOut)
	}
}
