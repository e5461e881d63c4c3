package main

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	mustRun(t, db, "lists", "create", "alertes", "--double-opt-in")
	addr := freeAddr(t)
	outbox := filepath.Join(dir, "outbox")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"crm", "--db", db, "serve", "--addr", addr, "--from", "Asso <news@asso.example.org>",
			"--outbox", outbox, "--public-url", "http://" + addr, "--consent-text", "Je veux les alertes"}, nil, &out, &errOut)
	}()
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v (stderr %s)", resp, err, errOut.String())
	}
	resp, err = http.PostForm("http://"+addr+"/subscribe", url.Values{"email": {"a@example.org"}, "lists": {"alertes"}, "consent": {"Je veux les alertes"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", resp, err)
	}
	files, _ := os.ReadDir(outbox)
	if len(files) != 1 {
		t.Fatalf("%d confirmation emails in the outbox", len(files))
	}
	raw, _ := os.ReadFile(filepath.Join(outbox, files[0].Name()))
	part := raw[bytes.Index(raw, []byte("text/plain")):]
	part = part[bytes.Index(part, []byte("\r\n\r\n"))+4:]
	eml, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(part[:bytes.Index(part, []byte("\r\n--"))])))
	i := bytes.Index(eml, []byte("http://"+addr+"/confirm?token="))
	if i < 0 {
		t.Fatalf("no confirm link in\n%s", eml)
	}
	link := string(eml[i:])
	link = link[:strings.IndexAny(link, "\r\n")]
	// The link shows a page with one button; the button's POST confirms.
	resp, err = http.Get(link)
	if err != nil || resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("confirm page %s: %v %v %s", link, resp, err, b)
	}
	resp, err = http.Post(link, "application/x-www-form-urlencoded", nil)
	if err != nil || resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("confirm %s: %v %v %s", link, resp, err, b)
	}
	// The event pages are served too.
	for path, want := range map[string]string{"/events": "text/html; charset=utf-8", "/events.ics": "text/calendar; charset=utf-8"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want || len(b) == 0 {
			t.Errorf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	cancel() // as SIGINT does
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "stopped") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if got := mustRun(t, db, "supporters", "count", "--list", "alertes"); got != "1\n" {
		t.Errorf("subscribed after confirming: %s", got)
	}
	// The form's text was registered with --consent-text: it is recorded.
	if got := mustRun(t, db, "supporters", "export", "a@example.org"); !strings.Contains(got, `"consent_text": "Je veux les alertes"`) {
		t.Errorf("export: %s", got)
	}
}
