package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

func TestSite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := crm.Open(ctx, filepath.Join(dir, "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outbox := &newsletter.Outbox{Dir: filepath.Join(dir, "outbox")}
	h, err := newSite(ctx, db, "http://example.test", outbox)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(page), `action="/newsletter/subscribe"`) || !strings.Contains(string(page), "Hébergement") {
		t.Fatalf("form page:\n%s", page)
	}
	resp, err = http.PostForm(srv.URL+"/newsletter/subscribe", url.Values{"email": {"z@example.org"},
		"lists": {"lettre", "alertes"}, "interests": {"terrain"}, "consent": {consentText}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("signup: %v %v", resp, err)
	}
	files, _ := os.ReadDir(outbox.Dir)
	p, _ := db.GetProfile(ctx, "z@example.org")
	if len(files) != 1 || len(p.Subscriptions) != 2 || len(p.Supporter.Interests) != 1 {
		t.Errorf("%d confirmation emails, profile %+v", len(files), p)
	}
	// The text the form shows is the one recorded; a made-up one is not.
	resp, err = http.PostForm(srv.URL+"/newsletter/subscribe", url.Values{"email": {"forged@example.org"},
		"lists": {"lettre"}, "consent": {"Je m'appelle Odile Varenne"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("signup: %v %v", resp, err)
	}
	for email, want := range map[string]string{"z@example.org": consentText, "forged@example.org": newsletter.DefaultConsentText("fr", "La lettre mensuelle")} {
		p, err := db.GetProfile(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		hist, _ := db.ConsentHistory(ctx, p.Supporter.ID)
		if len(hist) == 0 || hist[0].ConsentText != want {
			t.Errorf("%s: consent history %+v, want %q", email, hist, want)
		}
	}
}
