package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
)

func TestListsCreateEditDelete(t *testing.T) {
	db := crmtest.Database(t)
	if out := mustRun(t, db, "lists", "create", "alertes", "--kind", "alerts", "--private", "--double-opt-in",
		"--title", "Alertes expulsions", "--title-en", "Eviction alerts", "--consent-text", "Je veux les alertes"); out != "created list alertes (private, double)\n" {
		t.Errorf("create printed %q", out)
	}
	mustRun(t, db, "lists", "create", "presse", "--kind", "press")
	mustRun(t, db, "lists", "create", "presse-publique", "--kind", "press", "--public")
	mustRun(t, db, "lists", "create", "lettre", "--single-opt-in")
	want := "name,title,kind,visibility,opt_in,subscribed,pending\n" +
		"alertes,Alertes expulsions,alerts,private,double,0,0\n" +
		"lettre,lettre,newsletter,public,single,0,0\n" +
		"presse,presse,press,private,single,0,0\n" +
		"presse-publique,presse-publique,press,public,single,0,0\n"
	if out := mustRun(t, db, "lists", "list", "--format", "csv"); out != want {
		t.Errorf("lists list:\n%s\nwant\n%s", out, want)
	}

	out := mustRun(t, db, "lists", "edit", "alertes", "--public", "--single-opt-in", "--description", "Un SMS par expulsion",
		"--description-en", "One text per eviction", "--consent-text-en", "I want the alerts")
	if out != "updated list alertes (public, single)\n" {
		t.Errorf("edit printed %q", out)
	}
	var ls []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, db, "lists", "list", "--format", "json")), &ls); err != nil {
		t.Fatal(err)
	}
	a := ls[0]
	if a["name"] != "alertes" || a["public"] != true || a["double_opt_in"] != false || a["title_en"] != "Eviction alerts" ||
		a["description"] != "Un SMS par expulsion" || a["description_en"] != "One text per eviction" ||
		a["consent_text"] != "Je veux les alertes" || a["consent_text_en"] != "I want the alerts" {
		t.Errorf("json of the edited list: %v", a)
	}

	for _, tt := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"lists", "edit", "alertes"}, 2, []string{"lists edit: nothing to change; give one or more of --title, --title-en,",
			"--public, --private, --double-opt-in, --single-opt-in, --consent-text, --consent-text-en"}},
		{[]string{"lists", "edit", "alertes", "--public", "--private"}, 2, []string{"--public and --private contradict each other"}},
		{[]string{"lists", "edit", "alertes", "--single-opt-in", "--double-opt-in"}, 2, []string{"--double-opt-in and --single-opt-in contradict"}},
		{[]string{"lists", "create", "x", "--double-opt-in", "--single-opt-in"}, 2, []string{"--double-opt-in and --single-opt-in contradict"}},
		{[]string{"lists", "edit", "alertes", "--title-en", strings.Repeat("x", 201)}, 1, []string{"--title-en: 201 characters, at most 200"}},
		{[]string{"lists", "edit", "nope", "--public"}, 1, []string{`list "nope": not found`}},
		{[]string{"lists", "delete", "nope"}, 1, []string{`list "nope": not found`}},
	} {
		code, out, errOut := crmRun(t, db, tt.args...)
		if code != tt.code || out != "" {
			t.Errorf("crm %s: exit %d, stdout %q", strings.Join(tt.args, " "), code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("crm %s: stderr %q, want %q", strings.Join(tt.args, " "), errOut, w)
			}
		}
		if strings.Contains(errOut, "--help") {
			t.Errorf("crm %s: stderr names --help: %q", strings.Join(tt.args, " "), errOut)
		}
	}

	// Delete: refused while a draft uses the list, and with people on it
	// without --yes; the consent history stays.
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org")
	mustRun(t, db, "subscribe", "amina@example.org", "--list", "alertes")
	examples := filepath.Join("..", "..", "examples", "data")
	mustRun(t, db, "campaign", "create", "demain", "--list", "alertes", "--from", "Asso <alertes@asso.example.org>",
		"--template", "fr="+filepath.Join(examples, "lettre.fr.md"))
	code, out, errOut := crmRun(t, db, "lists", "delete", "alertes", "--yes")
	if code != 1 || !strings.Contains(errOut, "list alertes is used by 1 campaign(s) not yet sent: demain (draft)") ||
		strings.Contains(errOut, "conflict") {
		t.Errorf("delete with a draft: exit %d, %q %q", code, out, errOut)
	}
	mustRun(t, db, "campaign", "delete", "demain")
	code, out, errOut = crmRun(t, db, "lists", "delete", "alertes")
	if code != 2 || !strings.Contains(errOut, "list alertes has 1 person(s) subscribed or pending, whose subscriptions deleting it would end; add --yes") {
		t.Errorf("delete without --yes: exit %d, %q %q", code, out, errOut)
	}
	if out := mustRun(t, db, "lists", "delete", "alertes", "--yes"); out != "deleted list alertes; 1 subscription(s) ended, their consent history is kept\n" {
		t.Errorf("delete printed %q", out)
	}
	if out := mustRun(t, db, "lists", "delete", "presse"); out != "deleted list presse\n" {
		t.Errorf("delete of an empty list printed %q", out)
	}
	if out := mustRun(t, db, "lists", "list", "--format", "csv"); strings.Contains(out, "alertes") || strings.Contains(out, "presse,") {
		t.Errorf("deleted lists are listed:\n%s", out)
	}
	var x struct {
		Subscriptions []struct {
			List        string
			Status      string
			ListDeleted bool `json:"list_deleted"`
		}
		ConsentHistory []struct{ List, Action, Source string } `json:"consent_history"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "supporters", "export", "amina@example.org")), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.Subscriptions) != 1 || x.Subscriptions[0].List != "alertes" || !x.Subscriptions[0].ListDeleted ||
		len(x.ConsentHistory) != 2 || x.ConsentHistory[1].Source != "list-deleted" || x.ConsentHistory[1].List != "alertes" {
		t.Errorf("export after the delete: %+v", x)
	}
	// The name is free again.
	mustRun(t, db, "lists", "create", "alertes")
	audit := mustRun(t, db, "audit")
	for _, w := range []string{"list edit", "list alertes: description, description-en, public, single opt-in, consent-text-en",
		"list delete", "list alertes, 1 subscription(s) ended"} {
		if !strings.Contains(audit, w) {
			t.Errorf("audit lacks %q:\n%s", w, audit)
		}
	}
}
