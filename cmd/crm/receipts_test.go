package main

import (
	"bytes"
	"os"
	"os/exec"
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

	// A preview first (the README's "to look at first"): the emails as
	// NUMBER.eml, nothing recorded; then the send through the fake
	// Resend sends every receipt, once, and again sends nothing.
	preview := t.TempDir()
	previewOut := mustRun(t, db, "receipts", "send", "--year", "2025", "--outbox", preview)
	if !strings.Contains(previewOut, "2 receipt email(s) written to") || !strings.Contains(previewOut, "nothing was sent or recorded") ||
		!strings.Contains(previewOut, "crm receipts send --year 2025") {
		t.Errorf("preview: %s", previewOut)
	}
	for _, name := range []string{"2025-0001.eml", "2025-0002.eml"} {
		if fi, err := os.Stat(filepath.Join(preview, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("preview %s: %v", name, err)
		}
	}
	if again := mustRun(t, db, "receipts", "send", "--year", "2025", "--outbox", preview); !strings.Contains(again, "2 receipt email(s) written") {
		t.Errorf("a second preview: %s", again)
	}
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

	// The preview carries the new receipt only, which says what it
	// replaces; the send then sends it, once.
	box := t.TempDir()
	mustRun(t, db, "receipts", "send", "--year", "2025", "--outbox", box)
	files, _ := filepath.Glob(filepath.Join(box, "*.eml"))
	if len(files) != 1 || filepath.Base(files[0]) != "2025-0003.eml" {
		t.Fatalf("outbox: %v", files)
	}
	eml, _ := os.ReadFile(files[0])
	if !bytes.Contains(eml, []byte("multipart/mixed")) || !bytes.Contains(eml, []byte("Content-Disposition: attachment; filename=2025-0003.pdf")) {
		t.Errorf("outbox email: %.600s", eml)
	}
	if sent := mustRun(t, db, "receipts", "send", "--year", "2025"); !strings.Contains(sent, "sent 1 receipt(s); 1 sent before") ||
		len(srv.Emails()) != 3 || !strings.Contains(srv.Emails()[2].Text, "annule et remplace le reçu n° 2025-0001") {
		t.Errorf("send of the replacement: %s, %d emails", sent, len(srv.Emails()))
	}
	// The PDFs: the cancelled one marked, the new one naming it.
	pdfs := t.TempDir()
	mustRun(t, db, "receipts", "pdf", "2025-0001", "2025-0003", "--out", pdfs)
	if text := pdfText(t, filepath.Join(pdfs, "2025-0001.pdf")); !strings.Contains(text, "ANNULÉ le ") || !strings.Contains(text, ": wrong amount") {
		t.Errorf("the cancelled receipt's PDF: %s", text)
	}
	if text := pdfText(t, filepath.Join(pdfs, "2025-0003.pdf")); !strings.Contains(text, "Ce reçu annule et remplace le reçu n° 2025-0001") {
		t.Errorf("the replacement's PDF: %s", text)
	}
	if code, _, stderr := crmRun(t, db, "receipts", "cancel", "2025-0099", "--reason", "x"); code != 1 ||
		stderr != "crm: no receipt 2025-0099 (crm receipts list shows them)\n" {
		t.Errorf("cancel an unknown receipt: %d %q", code, stderr)
	}

	// Erasure: refused within six years, forced with --force.
	code, _, stderr = crmRun(t, db, "supporters", "forget", "amina@example.org", "--yes")
	if code != 1 || !strings.Contains(stderr, "L102 B") || !strings.Contains(stderr, "--force") {
		t.Fatalf("forget a donor with receipts: %d %s", code, stderr)
	}
	if out := mustRun(t, db, "supporters", "forget", "amina@example.org", "--yes", "--force"); !strings.Contains(out, "tax receipt PDFs") ||
		!strings.Contains(out, "crm receipts send --outbox") {
		t.Errorf("forget's note: %s", out)
	}
	list = mustRun(t, db, "receipts", "list", "--format", "csv")
	if strings.Contains(list, "Amina") || !strings.Contains(list, "2025-0003,issued,") || !strings.Contains(list, ",,123.50,2,") {
		t.Errorf("receipts after a forced erasure: %s", list)
	}
	// An erased donor's receipt prints no more; a year's PDFs leave it out.
	code, _, stderr = crmRun(t, db, "receipts", "pdf", "2025-0003", "--out", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "receipt 2025-0003: its donor was erased at their request") ||
		!strings.Contains(stderr, "keeps its number and amount for the declaration") {
		t.Errorf("pdf of an erased donor's receipt: %d %s", code, stderr)
	}
	year := t.TempDir()
	code, out, stderr = crmRun(t, db, "receipts", "pdf", "--year", "2025", "--out", year)
	if names, _ := filepath.Glob(filepath.Join(year, "*.pdf")); code != 0 || len(names) != 1 || !strings.Contains(out, "written 1 PDF file(s)") ||
		!strings.Contains(stderr, "not written: 2025-0001, 2025-0003: their donors were erased") {
		t.Errorf("pdf --year with an erased donor: %d %v\n%s\n%s", code, names, out, stderr)
	}
}

// Belgium: €40 at least, and the 281.71 fields as CSV.
func TestReceiptsBelgianDeclaration(t *testing.T) {
	db := receiptsDB(t)
	// The French article left from before is ignored, and said so.
	if code, _, stderr := crmRun(t, db, "settings", "set", "receipt-country", "BE"); code != 0 ||
		!strings.Contains(stderr, "note: receipt-article: French receipts only, ignored on Belgian attestations") {
		t.Errorf("receipt-country BE: %d %s", code, stderr)
	}
	if code, _, stderr := crmRun(t, db, "settings", "set", "receipt-rate", "66"); code != 1 || !strings.Contains(stderr, "Belgian attestation") {
		t.Errorf("receipt-rate in Belgium: %d %s", code, stderr)
	}
	for _, kv := range [][2]string{{"receipt-siren", "0123.456.749"}, {"receipt-approval", "2025/B/7"},
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
	out = mustRun(t, db, "receipts", "issue", "--year", "2025", "--dry-run")
	if !strings.Contains(out, "below the €40 a year Belgian threshold (1)") || !strings.Contains(out, "39.99 EUR in 2025") ||
		strings.Contains(out, "not receiptable") {
		t.Errorf("below €40: %s", out)
	}
}

// pdfText extracts a PDF file's text with pdftotext (poppler-utils), its
// lines joined with spaces.
func pdfText(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\u00a0", " ")), " ")
}

// The messages of a first-time treasurer: no sender address, a gift paid
// "other", the help of --year; --record-outbox records what it writes.
func TestReceiptsSendMessages(t *testing.T) {
	db := receiptsDB(t)
	mustRun(t, db, "settings", "set", "receipt-rate", "66")
	mustRun(t, db, "donations", "add", "--email", "lea@example.org", "--amount", "15", "--date", "2025-04-01")
	code, _, stderr := crmRun(t, db, "receipts", "issue", "--year", "2025", "--dry-run")
	if code != 0 || !strings.Contains(stderr, `warning: 1 gift(s) paid by method "other"`) ||
		!strings.Contains(stderr, "crm donations edit ID --method chèque|espèces|virement|carte") || !strings.Contains(stderr, "2025-0002") {
		t.Errorf("issue --dry-run with a gift paid otherwise: %d %s", code, stderr)
	}
	mustRun(t, db, "donations", "edit", "5", "--method", "virement")
	if _, _, stderr := crmRun(t, db, "receipts", "issue", "--year", "2025"); strings.Contains(stderr, "warning") {
		t.Errorf("issue after the method is recorded: %s", stderr)
	}
	mustRun(t, db, "settings", "set", "from", "")
	code, _, stderr = crmRun(t, db, "receipts", "send", "--year", "2025", "--outbox", t.TempDir())
	if want := "crm: receipts send: no sender address: crm settings set from \"Asso <dons@asso.org>\" or --from\n"; code != 1 || stderr != want {
		t.Errorf("no from: %d %q, want %q", code, stderr, want)
	}
	if code, _, stderr := crmRun(t, db, "receipts", "send", "--year", "2025", "--outbox", "a", "--record-outbox", "b"); code != 2 {
		t.Errorf("--outbox and --record-outbox: %d %s", code, stderr)
	}
	// Written and recorded: no later run sends them again.
	box := t.TempDir()
	out := mustRun(t, db, "receipts", "send", "--year", "2025", "--record-outbox", box, "--from", "Asso <asso@example.org>")
	if !strings.Contains(out, "written 2 receipt email(s)") || !strings.Contains(out, "recorded them as sent") {
		t.Errorf("--record-outbox: %s", out)
	}
	if names, _ := filepath.Glob(filepath.Join(box, "*.eml")); len(names) != 2 || filepath.Base(names[0]) != "2025-0001.eml" {
		t.Errorf("--record-outbox files: %v", names)
	}
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()
	t.Setenv("RESEND_BASE_URL", srv.BaseURL())
	t.Setenv("RESEND_API_KEY", resendtest.APIKey)
	if out := mustRun(t, db, "receipts", "send", "--year", "2025", "--from", "Asso <asso@example.org>"); !strings.Contains(out, "sent 0 receipt(s); 2 sent before") ||
		len(srv.Emails()) != 0 {
		t.Errorf("send after --record-outbox: %s, %d emails", out, len(srv.Emails()))
	}
	help := mustRun(t, db, "receipts", "issue", "--help")
	if !strings.Contains(help, "--year YEAR") || !strings.Contains(help, "(required)") || strings.Contains(help, "default: 0") {
		t.Errorf("issue --help:\n%s", help)
	}
	if help := mustRun(t, db, "receipts", "list", "--help"); strings.Contains(help, "default: 0") || strings.Contains(help, "(required)") {
		t.Errorf("list --help:\n%s", help)
	}
}
