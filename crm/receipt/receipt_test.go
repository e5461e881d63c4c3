package receipt_test

import (
	"bytes"
	"errors"
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
	return regexp.MustCompile(`\s+`).ReplaceAllString(pdfRaw(t, pdf), " ")
}

// pdfRaw extracts a PDF's text with pdftotext -raw: its lines as they
// were set, in the order they were written.
func pdfRaw(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
	}
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", "-raw", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.NewReplacer("\u00a0", " ", "’", "'").Replace(string(out))
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
		"Reçu des dons et versements effectués par les particuliers au titre de l'article 200 du code général des impôts",
		"11580*05",
		"Numéro d'ordre du reçu : 2026-0007",
		// the beneficiary
		"Association Solidarité Calais", "5 rue Royale", "62100 Calais", "aide alimentaire et hébergement des personnes exilées",
		"SIREN 123456789", "RNA W621001234", "Qualité : Œuvre ou organisme d'intérêt général Taux",
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
	// Article 978 (the IFI) only when the association says it opens it.
	if strings.Contains(text, "978") {
		t.Errorf("article 978 cited without receipt-ifi: %s", text)
	}
	r.Issuer.IFI, r.Issuer.Kind = "yes", "utilite-publique: décret du 2 mars 1990, JO du 4 mars 1990"
	text = pdfText(t, mustPDF(t, r))
	for _, want := range []string{"au titre des articles 200 et 978 du code général des impôts",
		"ouvrent droit à la réduction d'impôt prévue aux articles 200 et 978 du CGI",
		"ne peut ouvrir droit à la réduction d'impôt sur le revenu prévue à l'article 200",
		"Qualité : Association ou fondation reconnue d'utilité publique : décret du 2 mars 1990, JO du 4 mars 1990"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt-ifi yes: missing %q in:\n%s", want, text)
		}
	}
	r.Issuer.IFI, r.Issuer.Kind = "", ""

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

// A cancelled receipt says so across the page, with the date and the
// reason; its replacement names it; a gift paid otherwise than the
// Cerfa's three ways ticks no box; a donor abroad gets their country;
// no line starts with a colon.
func TestReceiptCancelledAndReplaced(t *testing.T) {
	r := frenchReceipt()
	r.Status, r.CancelledAt, r.CancelReason = crm.ReceiptCancelled, time.Date(2027, 2, 3, 10, 0, 0, 0, time.UTC), "montant erroné"
	text := pdfText(t, mustPDF(t, r))
	for _, want := range []string{"ANNULÉ le 3 février 2027 : montant erroné", "Ce reçu est annulé : il n'ouvre plus droit à réduction d'impôt"} {
		if !strings.Contains(text, want) {
			t.Errorf("cancelled: missing %q in:\n%s", want, text)
		}
	}
	// A reason too long for the diagonal is cut there, whole in the banner.
	r.CancelReason = strings.Repeat("erreur de saisie du montant, ", 12)
	pdf := mustPDF(t, r)
	if text := pdfText(t, pdf); !strings.Contains(text, "…") || !strings.Contains(text, strings.TrimSpace(strings.Repeat("erreur de saisie du montant, ", 11))) {
		t.Errorf("long reason: %s", text)
	}

	r = frenchReceipt()
	r.Replaces, r.DonorCountry = []string{"2026-0004"}, "BE"
	r.Gifts[1].Method = crm.MethodOther
	r.Gifts[2].Method = crm.MethodOther
	pdf = mustPDF(t, r)
	text = pdfText(t, pdf)
	for _, want := range []string{"Ce reçu annule et remplace le reçu n° 2026-0004", "62100 Calais BELGIQUE",
		"[ ] Remise d'espèces [X] Chèque [ ] Virement, prélèvement, carte bancaire Date et signature", "non précisé"} {
		if !strings.Contains(text, want) {
			t.Errorf("replacement: missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ANNULÉ") || strings.Contains(text, "Autre") {
		t.Errorf("a standing receipt with an invented box or marked cancelled: %s", text)
	}
	for _, line := range strings.Split(pdfRaw(t, pdf), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, ":") || strings.HasPrefix(l, "€") {
			t.Errorf("a line starts with %q: %q", l[:1], line)
		}
	}
	// HelloAsso is a payment online, by card.
	r.Gifts = []crm.ReceiptGift{{DonationID: 3, ReceivedAt: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), Amount: 12350, Method: crm.MethodHelloAsso}}
	if text := pdfText(t, mustPDF(t, r)); !strings.Contains(text, "[ ] Remise d'espèces [ ] Chèque [X] Virement, prélèvement, carte bancaire") {
		t.Errorf("a HelloAsso gift: %s", text)
	}
	r.Replaces = []string{"2026-0004", "2026-0009", "2026-0011"}
	if text := pdfText(t, mustPDF(t, r)); !strings.Contains(text, "Ce reçu annule et remplace les reçus n° 2026-0004, 2026-0009 et 2026-0011") {
		t.Errorf("three replaced: %s", text)
	}
	b := belgianReceipt()
	b.Replaces = []string{"2026-0001"}
	b.Status, b.CancelledAt, b.CancelReason = crm.ReceiptCancelled, time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC), "doublon"
	text = pdfText(t, mustPDF(t, b))
	for _, want := range []string{"Cette attestation annule et remplace l'attestation n° 2026-0001", "ANNULÉ le 1er mars 2027 : doublon", "Cette attestation est annulée"} {
		if !strings.Contains(text, want) {
			t.Errorf("Belgian: missing %q in:\n%s", want, text)
		}
	}
}

// A receipt whose donor was erased prints no more.
func TestReceiptOfErasedDonor(t *testing.T) {
	r := frenchReceipt()
	r.DonorName, r.DonorAddress, r.DonorPostcode, r.DonorCity, r.DonorErased = "", "", "", "", true
	if _, err := receipt.PDF(r, receipt.Options{}); !errors.Is(err, receipt.ErrDonorErased) || !strings.Contains(err.Error(), "2026-0007") {
		t.Errorf("erased donor: %v", err)
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
