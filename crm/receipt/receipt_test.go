package receipt_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/receipt"
)

func frenchReceipt() *crm.Receipt {
	return &crm.Receipt{Number: "2026-0007", Year: 2026, Seq: 7, Country: crm.ReceiptFR, Annual: true, Amount: 12350,
		Currency: "EUR", DonorName: "Hélène Lefèvre", DonorAddress: "12 rue de l'Église", DonorPostcode: "62100",
		DonorCity: "Calais", DonorCountry: "FR", Status: crm.ReceiptIssued,
		IssuedAt: time.Date(2027, 1, 15, 9, 0, 0, 0, time.UTC),
		Issuer: crm.ReceiptSettings{LegalName: "Association Solidarité Calais", Address: "5 rue Royale\n62100 Calais",
			Object: "aide alimentaire et hébergement des personnes exilées", RNA: "W621001234", SIREN: "123456789",
			Country: crm.ReceiptFR, Article: "200", Rate: "66", Signer: "Marie Dupont", SignerRole: "présidente"},
		Gifts: []crm.ReceiptGift{
			{DonationID: 1, ReceivedAt: time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC), Amount: 5000, Method: crm.MethodCheque},
			{DonationID: 2, ReceivedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Amount: 2350, Method: crm.MethodCash},
			// 23:30 UTC on 30 November is 1 December in Paris: written in
			// the association's time zone.
			{DonationID: 3, ReceivedAt: time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), Amount: 5000, Method: crm.MethodHelloAsso},
		}}
}

func belgianReceipt() *crm.Receipt {
	return &crm.Receipt{Number: "2026-0002", Year: 2026, Seq: 2, Country: crm.ReceiptBE, Annual: true, Amount: 9150,
		Currency: "EUR", DonorName: "Jo Peeters", DonorAddress: "Rue Saint-Gilles 3", DonorPostcode: "4000",
		DonorCity: "Liège", DonorCountry: "BE", Status: crm.ReceiptIssued, IssuedAt: time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC),
		Issuer: crm.ReceiptSettings{LegalName: "Accueil Liège ASBL", Address: "Place du Marché 1\n4000 Liège",
			SIREN: "0123456789", Country: crm.ReceiptBE, Approval: "2026/B/123", Signer: "Karim Benali", SignerRole: "trésorier"},
		Gifts: []crm.ReceiptGift{
			{DonationID: 1, ReceivedAt: time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC), Amount: 9150, Method: crm.MethodTransfer},
		}}
}

// pdfText extracts a PDF's text with pdftotext (poppler-utils), its
// lines joined with spaces so that a wrapped mention still reads whole.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
	}
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.NewReplacer("\u00a0", " ", "’", "'").Replace(string(out))
	return regexp.MustCompile(`\s+`).ReplaceAllString(text, " ")
}

func TestFrenchReceiptMentions(t *testing.T) {
	r := frenchReceipt()
	pdf, err := receipt.PDF(r, receipt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(20, len(pdf))])
	}
	again, _ := receipt.PDF(r, receipt.Options{})
	if !bytes.Equal(pdf, again) {
		t.Error("the same receipt gave other bytes: a resent email would not match its idempotency key")
	}
	text := pdfText(t, pdf)
	for _, want := range []string{
		"Reçu des dons et versements effectués par les particuliers", "11580*05",
		"Numéro d'ordre du reçu : 2026-0007",
		// the beneficiary
		"Association Solidarité Calais", "5 rue Royale", "62100 Calais", "aide alimentaire et hébergement des personnes exilées",
		"SIREN 123456789", "RNA W621001234", "Œuvre ou organisme d'intérêt général (article 200 du code général des impôts)",
		"66 %",
		// the donor
		"Hélène Lefèvre", "12 rue de l'Église", "62100 Calais",
		// the amount, in figures and words, and the dates
		"***123,50 €***", "cent vingt-trois euros et cinquante centimes",
		"10 janvier 2026", "1er mars 2026", "1er décembre 2026", "50,00 €", "23,50 €",
		"Le bénéficiaire certifie sur l'honneur que les dons et versements qu'il reçoit ouvrent droit à la réduction d'impôt prévue à l'article 200 du CGI",
		"Forme du don : Déclaration de don manuel", "Nature du don : Numéraire",
		"[X] Remise d'espèces", "[X] Chèque", "[X] Virement, prélèvement, carte bancaire",
		"chèque", "espèces", "carte bancaire (HelloAsso)",
		// date and signature
		"Date et signature", "Le 15 janvier 2027", "Marie Dupont, présidente",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}

	// 75 %, one gift, the other boxes empty.
	r.Issuer.Rate, r.Gifts, r.Amount, r.Annual = "75", r.Gifts[:1], 5000, false
	text = pdfText(t, mustPDF(t, r))
	for _, want := range []string{"75 %", "personnes en difficulté", "Date du versement ou du don : 10 janvier 2026",
		"***50,00 €***", "cinquante euros", "[ ] Remise d'espèces", "[X] Chèque"} {
		if !strings.Contains(text, want) {
			t.Errorf("75 %%, one gift: missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "centimes") {
		t.Errorf("50.00 in words has centimes: %s", text)
	}

	// Article 238 bis: companies, Cerfa 16216.
	r.Issuer.Article, r.DonorName = "238 bis", "Boulangerie Martin SARL"
	text = pdfText(t, mustPDF(t, r))
	for _, want := range []string{"effectués par les entreprises", "16216", "Boulangerie Martin SARL",
		"ouvrent droit à la réduction d'impôt prévue à l'article 238 bis du CGI"} {
		if !strings.Contains(text, want) {
			t.Errorf("238 bis: missing %q in:\n%s", want, text)
		}
	}
}

func TestBelgianReceiptMentions(t *testing.T) {
	text := pdfText(t, mustPDF(t, belgianReceipt()))
	for _, want := range []string{
		"Attestation fiscale", "281.71", "article 145/33", "Code des impôts sur les revenus 1992",
		"Année civile : 2026", "Numéro d'ordre : 2026-0002",
		"Accueil Liège ASBL", "Place du Marché 1", "0123.456.789", "Agrément : 2026/B/123",
		"Jo Peeters", "Rue Saint-Gilles 3", "4000 Liège",
		"***91,50 €***", "nonante et un euros et cinquante centimes",
		"à titre définitif et irrévocable", "Karim Benali, trésorier",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "quatre-vingt-onze") {
		t.Error("a Belgian attestation says nonante")
	}
}

func TestReceiptSignatureImage(t *testing.T) {
	r := frenchReceipt()
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for x := 10; x < 110; x++ {
		img.Set(x, 20+(x%7)-3, color.Black)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	r.Issuer.SignatureFile = filepath.Join(t.TempDir(), "signature.png")
	os.WriteFile(r.Issuer.SignatureFile, b.Bytes(), 0o600)
	with := mustPDF(t, r)
	r.Issuer.SignatureFile = ""
	without := mustPDF(t, r)
	if !bytes.Contains(with, []byte("/Subtype /Image")) || bytes.Contains(without, []byte("/Subtype /Image")) {
		t.Error("the signature image is not (only) in the receipt that names one")
	}
	r.Issuer.SignatureFile = filepath.Join(t.TempDir(), "gone.png")
	if _, err := receipt.PDF(r, receipt.Options{}); err == nil || !strings.Contains(err.Error(), "signature image") {
		t.Errorf("a missing signature image: %v", err)
	}
	r.Issuer.SignatureFile, r.Currency = "", "USD"
	if _, err := receipt.PDF(r, receipt.Options{}); err == nil {
		t.Error("a receipt in USD was written")
	}
}

func TestFrenchAmount(t *testing.T) {
	for cents, want := range map[int64]string{0: "0,00", 5: "0,05", 12350: "123,50", 123456: "1\u00a0234,56", 100000000: "1\u00a0000\u00a0000,00"} {
		if got := receipt.FrenchAmount(cents); got != want {
			t.Errorf("%d: %q, want %q", cents, got, want)
		}
	}
}

func mustPDF(t *testing.T, r *crm.Receipt) []byte {
	t.Helper()
	b, err := receipt.PDF(r, receipt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
