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
		"lists": {"lettre", "alertes"}, "interests": {"terrain"}, "consent": {"ok"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("signup: %v %v", resp, err)
	}
	files, _ := os.ReadDir(outbox.Dir)
	p, _ := db.GetProfile(ctx, "z@example.org")
	if len(files) != 1 || len(p.Subscriptions) != 2 || len(p.Supporter.Interests) != 1 {
		t.Errorf("%d confirmation emails, profile %+v", len(files), p)
	}
}
