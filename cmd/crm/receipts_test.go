package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// receiptsDB is a database with French receipt settings (but the rate)
// and three donors of 2025: two with a postal address, one without.
func receiptsDB(t *testing.T) string {
	t.Helper()
	db := crmtest.Database(t)
	for _, kv := range [][2]string{{"receipt-legal-name", "Association Solidarité Calais"},
		{"receipt-address", `5 rue Royale\n62100 Calais`}, {"receipt-object", "aide aux personnes exilées"},
		{"receipt-rna", "W621001234"}, {"receipt-country", "FR"}, {"receipt-article", "200"},
		{"receipt-signer", "Marie Dupont"}, {"receipt-signer-role", "présidente"}, {"from", "Asso <asso@example.org>"}} {
		mustRun(t, db, "settings", "set", kv[0], kv[1])
	}
	csv := filepath.Join(t.TempDir(), "donateurs.csv")
	os.WriteFile(csv, []byte("Email;Prénom;Nom;Adresse;Code postal;Ville;Langue\n"+
		"amina@example.org;Amina;Kaci;8 quai du Commerce;62100;Calais;fr\n"+
		"jo@example.org;Jo;Peeters;;;;en\n"+
		"lea@example.org;Léa;Martin;3 rue Neuve;59000;Lille;en\n"), 0o600)
	mustRun(t, db, "import", "supporters", csv)
	for _, d := range [][]string{{"amina@example.org", "50", "2025-01-10", "cheque"}, {"amina@example.org", "73.50", "2025-02-03", "transfer"},
		{"jo@example.org", "20", "2025-02-03", "cash"}, {"lea@example.org", "200", "2025-03-03", "card"}} {
		mustRun(t, db, "donations", "add", "--email", d[0], "--amount", d[1], "--date", d[2], "--method", d[3])
	}
	return db
}

func TestReceiptsCommands(t *testing.T) {
	db := receiptsDB(t)
	out := t.TempDir()
	// The rate is never assumed.
	code, _, stderr := crmRun(t, db, "receipts", "issue", "--year", "2025")
	if code != 1 || !strings.Contains(stderr, "receipt-rate") || !strings.Contains(stderr, "never assumed") {
		t.Fatalf("issue without a rate: %d %s", code, stderr)
	}
	mustRun(t, db, "settings", "set", "receipt-rate", "66")
	if list := mustRun(t, db, "settings", "list"); !strings.Contains(list, "receipt-rate") || !strings.Contains(list, "W621001234") {
		t.Errorf("settings list: %s", list)
	}
	if code, _, stderr := crmRun(t, db, "receipts", "issue", "--year", "2025", "--dry-run", "--out", out); code != 2 {
		t.Errorf("--dry-run with --out: %d %s", code, stderr)
	}
	dry := mustRun(t, db, "receipts", "issue", "--year", "2025", "--dry-run")
	if !strings.Contains(dry, "would issue 2 receipt(s)") || !strings.Contains(dry, "2025-0001") ||
		!strings.Contains(dry, "jo@example.org") || !strings.Contains(dry, "no address, postcode, city") {
		t.Errorf("dry run: %s", dry)
	}
	if list := mustRun(t, db, "receipts", "list", "--format", "csv"); strings.Count(list, "\n") != 1 {
		t.Errorf("a dry run issued: %s", list)
	}
	issued := mustRun(t, db, "receipts", "issue", "--year", "2025", "--out", out)
	if !strings.Contains(issued, "issued 2 receipt(s) for 2025 (FR), 323.50 EUR") {
		t.Errorf("issue: %s", issued)
	}
	for _, name := range []string{"2025-0001.pdf", "2025-0002.pdf"} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() < 1000 {
			t.Fatalf("%s: %v %v", name, fi, err)
		}
		b, _ := os.ReadFile(filepath.Join(out, name))
		if !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Errorf("%s is no PDF", name)
		}
	}
	list := mustRun(t, db, "receipts", "list", "--year", "2025", "--format", "csv")
	if !strings.Contains(list, "2025-0001,issued,") || !strings.Contains(list, "Amina Kaci,amina@example.org,123.50,2,") ||
		!strings.Contains(list, "2025-0002,issued,") {
		t.Errorf("list: %s", list)
	}

	// Send through the fake Resend, twice: once per receipt.
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()
	t.Setenv("RESEND_BASE_URL", srv.BaseURL())
	t.Setenv("RESEND_API_KEY", resendtest.APIKey)
	sent := mustRun(t, db, "receipts", "send", "--year", "2025")
	if !strings.Contains(sent, "sent 2 receipt(s)") || len(srv.Emails()) != 2 {
		t.Fatalf("send: %s, %d emails", sent, len(srv.Emails()))
	}
	for _, e := range srv.Emails() {
		if len(e.Attachments) != 1 || !strings.HasPrefix(e.Attachments[0].Filename, "2025-000") ||
			!bytes.HasPrefix(e.Attachments[0].Content, []byte("%PDF-")) || e.Batch {
			t.Errorf("email to %v: %d attachments", e.To, len(e.Attachments))
		}
	}
	if again := mustRun(t, db, "receipts", "send", "--year", "2025"); !strings.Contains(again, "sent 0 receipt(s); 2 sent before") ||
		len(srv.Emails()) != 2 {
		t.Errorf("send again: %s, %d emails", again, len(srv.Emails()))
	}

	// Cancel and issue again: the number stays, the gifts get a new one.
	if code, _, stderr := crmRun(t, db, "receipts", "cancel", "2025-0001"); code != 2 || !strings.Contains(stderr, "--reason") {
		t.Errorf("cancel without --reason: %d %s", code, stderr)
	}
	mustRun(t, db, "receipts", "cancel", "2025-0001", "--reason", "wrong amount")
	if again := mustRun(t, db, "receipts", "issue", "--year", "2025"); !strings.Contains(again, "2025-0003") {
		t.Errorf("reissue: %s", again)
	}
	list = mustRun(t, db, "receipts", "list", "--format", "csv")
	if !strings.Contains(list, "2025-0001,cancelled,") || !strings.Contains(list, "wrong amount") || !strings.Contains(list, "2025-0003,issued,") {
		t.Errorf("list after cancel: %s", list)
	}
	// The declaration: what stands, 123.50 + 200.00.
	if dec := mustRun(t, db, "receipts", "declaration", "--year", "2025", "--format", "csv"); dec != "year,receipts,total\n2025,2,323.50\n" {
		t.Errorf("declaration: %q", dec)
	}
	if dec := mustRun(t, db, "receipts", "declaration", "--year", "2025"); !strings.Contains(dec, "2 receipt(s) issued and not cancelled, 323.50 EUR") ||
		!strings.Contains(dec, "222 bis") {
		t.Errorf("declaration: %q", dec)
	}

	// The outbox carries the new receipt only.
	box := t.TempDir()
	mustRun(t, db, "receipts", "send", "--year", "2025", "--outbox", box)
	files, _ := filepath.Glob(filepath.Join(box, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox: %v", files)
	}
	eml, _ := os.ReadFile(files[0])
	if !bytes.Contains(eml, []byte("multipart/mixed")) || !bytes.Contains(eml, []byte("Content-Disposition: attachment; filename=2025-0003.pdf")) {
		t.Errorf("outbox email: %.600s", eml)
	}

	// Erasure: refused within six years, forced with --force.
	code, _, stderr = crmRun(t, db, "supporters", "forget", "amina@example.org", "--yes")
	if code != 1 || !strings.Contains(stderr, "L102 B") || !strings.Contains(stderr, "--force") {
		t.Fatalf("forget a donor with receipts: %d %s", code, stderr)
	}
	mustRun(t, db, "supporters", "forget", "amina@example.org", "--yes", "--force")
	list = mustRun(t, db, "receipts", "list", "--format", "csv")
	if strings.Contains(list, "Amina") || !strings.Contains(list, "2025-0003,issued,") || !strings.Contains(list, ",,123.50,2,") {
		t.Errorf("receipts after a forced erasure: %s", list)
	}
}

// Belgium: €40 at least, and the 281.71 fields as CSV.
func TestReceiptsBelgianDeclaration(t *testing.T) {
	db := receiptsDB(t)
	for _, kv := range [][2]string{{"receipt-country", "BE"}, {"receipt-siren", "0123.456.749"}, {"receipt-approval", "2025/B/7"},
		{"time-zone", "Europe/Brussels"}} {
		mustRun(t, db, "settings", "set", kv[0], kv[1])
	}
	mustRun(t, db, "donations", "add", "--email", "lea@example.org", "--amount", "10", "--date", "2024-03-03", "--method", "card")
	out := mustRun(t, db, "receipts", "issue", "--year", "2025")
	if !strings.Contains(out, "issued 2 receipt(s) for 2025 (BE)") {
		t.Errorf("issue: %s", out)
	}
	code, csv, stderr := crmRun(t, db, "receipts", "declaration", "--year", "2025", "--format", "csv")
	if code != 0 || !strings.HasPrefix(csv, "year,number,sequence,name,address,postcode,city,country,national_register_number,amount\n") ||
		!strings.Contains(csv, "2025,2025-0001,1,Amina Kaci,8 quai du Commerce,62100,Calais,BE,,123.50\n") ||
		!strings.Contains(csv, "2025,2025-0002,2,Léa Martin,3 rue Neuve,59000,Lille,BE,,200.00\n") ||
		!strings.Contains(stderr, "national_register_number is empty") {
		t.Errorf("declaration: %d\n%s\n%s", code, csv, stderr)
	}
	mustRun(t, db, "donations", "add", "--email", "jo@example.org", "--amount", "19.99", "--date", "2025-04-03", "--method", "cash")
	csv2 := filepath.Join(t.TempDir(), "jo.csv")
	os.WriteFile(csv2, []byte("Email;Adresse;Code postal;Ville\njo@example.org;Rue Saint-Gilles 3;4000;Liège\n"), 0o600)
	mustRun(t, db, "import", "supporters", csv2)
	if out := mustRun(t, db, "receipts", "issue", "--year", "2025", "--dry-run"); !strings.Contains(out, "39.99 EUR in 2025") {
		t.Errorf("below €40: %s", out)
	}
}
