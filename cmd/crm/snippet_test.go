package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm/crmtest"
)

func TestListsSnippet(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "lists", "create", "lettre", "--title", "La lettre")
	mustRun(t, db, "lists", "create", "alertes", "--title", "Alertes", "--kind", "alerts", "--double-opt-in")
	mustRun(t, db, "lists", "create", "presse", "--title", "Journalistes", "--kind", "press")
	// Without a public URL the form would post nowhere.
	code, out, errOut := crmRun(t, db, "lists", "snippet")
	if code != 1 || out != "" || !strings.Contains(errOut, "crm settings set public-url") {
		t.Errorf("no public-url: exit %d, %q, %q", code, out, errOut)
	}
	mustRun(t, db, "settings", "set", "public-url", "https://asso.example.org/nl")
	out = mustRun(t, db, "lists", "snippet")
	for _, s := range []string{`<form action="https://asso.example.org/nl/subscribe" method="post"`, `lang="fr"`, "La lettre", "Alertes",
		`name="thanks" value="site"`} {
		if !strings.Contains(out, s) {
			t.Errorf("the snippet lacks %q", s)
		}
	}
	if strings.Contains(out, "presse") || strings.Contains(out, "Journalistes") || strings.Contains(out, "<script") || strings.Contains(out, "<style") {
		t.Errorf("the snippet shows a private list, a script or a style sheet:\n%s", out)
	}
	out = mustRun(t, db, "lists", "snippet", "--lists", "alertes", "--lang", "en")
	if !strings.Contains(out, `lang="en"`) || !strings.Contains(out, "Alertes") || strings.Contains(out, "La lettre") {
		t.Errorf("--lists alertes --lang en:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--lists", "presse"}, 1, `--lists "presse": private`},
		{[]string{"--lists", "lettre,nope"}, 1, `--lists "nope": no such list; the public lists are alertes, lettre`},
		{[]string{"--lang", "de"}, 1, `--lang "de": want fr or en`},
		{[]string{"--format", "csv"}, 2, "unknown flag --format"},
	} {
		code, out, errOut := crmRun(t, db, append([]string{"lists", "snippet"}, tt.args...)...)
		if code != tt.code || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %q, %q", tt.args, code, out, errOut)
		}
	}
}

func TestSignupRedirectSetting(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "settings", "set", "signup-redirect", "https://asso.example.org/merci")
	if out := mustRun(t, db, "settings", "list", "--format", "csv"); !strings.Contains(out, "signup-redirect,https://asso.example.org/merci") {
		t.Errorf("settings list:\n%s", out)
	}
	// Each refusal says why.
	for _, tt := range []struct{ bad, why string }{
		{"/merci", "it must start with https://"}, {"javascript:alert(1)", "it must start with https://"},
		{"https://user:pw@asso.example.org/", "a name or password before @"}, {"https:///merci", "no site named"},
		{"https://asso.example.org/mer ci", "no spaces"},
	} {
		if code, _, errOut := crmRun(t, db, "settings", "set", "signup-redirect", tt.bad); code != 1 ||
			!strings.Contains(errOut, tt.why) || !strings.Contains(errOut, "https://asso.org/merci") {
			t.Errorf("%q: exit %d, %q", tt.bad, code, errOut)
		}
	}
	// A #fragment is a part of the page: kept.
	mustRun(t, db, "settings", "set", "signup-redirect", "https://asso.example.org/merci#x")
	if out := mustRun(t, db, "settings", "list", "--format", "csv"); !strings.Contains(out, "signup-redirect,https://asso.example.org/merci#x") {
		t.Errorf("settings list:\n%s", out)
	}
}

// TestServeSignupForm: crm serve shows the form at / and, behind a
// trusted proxy, records the client's address the proxy names.
func TestServeSignupForm(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "lists", "create", "lettre", "--title", "La lettre")
	mustRun(t, db, "lists", "create", "presse", "--title", "Journalistes", "--kind", "press")
	mustRun(t, db, "settings", "set", "name", "Solidarité Calais")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"crm", "--db", db, "serve", "--addr", addr, "--from", "Asso <news@asso.example.org>",
			"--outbox", t.TempDir(), "--public-url", "http://" + addr, "--record-ip", "--trust-proxy", "127.0.0.1/32"}, nil, &out, &errOut)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/?lang=en"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET /: %v (stderr %s)", err, errOut.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Solidarité Calais") || !strings.Contains(string(body), `value="lettre"`) ||
		!strings.Contains(string(body), `action="subscribe"`) || strings.Contains(string(body), "Journalistes") || !strings.Contains(string(body), `lang="en"`) {
		t.Fatalf("GET /: %d\n%s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/subscribe", strings.NewReader(url.Values{"email": {"a@example.org"}, "lists": {"lettre"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /subscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := mustRun(t, db, "supporters", "export", "a@example.org"); !strings.Contains(got, `"ip": "203.0.113.7"`) {
		t.Errorf("the recorded address is not the proxy's client:\n%s", got)
	}
}

// A bad --trust-proxy is a usage error (exit 2), said before anything is
// looked up: before the missing Resend key too. A range of every address
// is refused, as anyone could then choose their IP.
func TestServeBadTrustProxy(t *testing.T) {
	db := crmtest.Database(t)
	t.Setenv("RESEND_API_KEY", "")
	for _, tt := range []struct{ value, want string }{
		{"10.0.0.0/33", `--trust-proxy "10.0.0.0/33": want a range`},
		{"nonsense", `--trust-proxy "nonsense": want a range`},
		{"0.0.0.0/0", "anyone could choose the IP address"},
		{"::/0", "anyone could choose the IP address"},
	} {
		code, _, errOut := crmRun(t, db, "serve", "--addr", freeAddr(t), "--from", "Asso <news@asso.example.org>",
			"--public-url", "https://asso.example.org", "--trust-proxy", tt.value)
		if code != 2 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "RESEND_API_KEY") {
			t.Errorf("--trust-proxy %s: exit %d, %q", tt.value, code, errOut)
		}
	}
}
