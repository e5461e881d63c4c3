package crm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// setReceiptSettings sets what a French (or Belgian) receipt needs.
func setReceiptSettings(t testing.TB, db *crm.DB, country string) {
	t.Helper()
	ctx := context.Background()
	kv := [][2]string{{"receipt-legal-name", "Association Solidarité Calais"}, {"receipt-address", `5 rue Royale\n62100 Calais`},
		{"receipt-object", "aide alimentaire et hébergement des personnes exilées"}, {"receipt-rna", "W621001234"},
		{"receipt-country", country}, {"receipt-signer", "Marie Dupont"}, {"receipt-signer-role", "présidente"}}
	if country == crm.ReceiptFR {
		kv = append(kv, [2]string{"receipt-article", "200"}, [2]string{"receipt-rate", "75"})
	} else {
		kv = append(kv, [2]string{"receipt-siren", "0123.456.749"}, [2]string{"receipt-approval", "2026/B/123"},
			[2]string{"time-zone", "Europe/Brussels"})
	}
	for _, p := range kv {
		if err := db.SetSetting(ctx, p[0], p[1]); err != nil {
			t.Fatalf("%s: %v", p[0], err)
		}
	}
}

func donor(t testing.TB, db *crm.DB, email, first, last string) *crm.Supporter {
	return mustSupporter(t, db, &crm.Supporter{Email: email, FirstName: first, LastName: last,
		Address: "5 rue Royale", Postcode: "62100", City: "Calais", Country: "FR", Language: "fr"})
}

func giveGift(t testing.TB, db *crm.DB, s *crm.Supporter, cents int64, at time.Time, m crm.DonationMethod) *crm.Donation {
	t.Helper()
	d := &crm.Donation{SupporterID: s.ID, Amount: cents, Currency: "EUR", ReceivedAt: at, Method: m}
	if err := db.AddDonation(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func TestReceiptSettings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var ve *crm.ValidationError
	for _, tt := range []struct{ key, value string }{
		{"receipt-country", "DE"}, {"receipt-rate", "50"}, {"receipt-article", "201"}, {"receipt-rna", "123"},
		{"receipt-siren", "12345"}, {"receipt-signature", "/nonexistent/sig.png"}, {"receipt-signature", "receipt_test.go"},
		// The check digits: a SIREN's Luhn key, a Belgian number's mod 97.
		{"receipt-siren", "123 456 789"}, {"receipt-siren", "0123.456.789"}, {"receipt-siren", "2123.456.749"},
		{"receipt-kind", "association"}, {"receipt-kind", "autre"}, {"receipt-ifi", "peut-être"},
	} {
		if err := db.SetSetting(ctx, tt.key, tt.value); !errors.As(err, &ve) || ve.Field != tt.key {
			t.Errorf("%s %q: %v", tt.key, tt.value, err)
		}
	}
	for _, tt := range []struct{ key, value, want string }{
		{"receipt-country", "fr", "FR"}, {"receipt-article", "238 bis", "238 bis"}, {"receipt-article", "200", "200"},
		{"receipt-siren", "732 829 320", "732829320"}, {"receipt-siren", "BE 0123.456.749", "0123456749"},
		{"receipt-siren", "123.456.749", "0123456749"}, // a Belgian number without its leading 0
		{"receipt-rna", "w621001234", "W621001234"},
		{"receipt-kind", " Utilite-Publique :  décret du 2 mars 1990 ", "utilite-publique: décret du 2 mars 1990"},
		{"receipt-kind", "autre: Fondation abritée", "autre: Fondation abritée"}, {"receipt-kind", "interet-general", "interet-general"},
		{"receipt-ifi", "oui", "yes"}, {"receipt-ifi", "non", ""},
	} {
		if err := db.SetSetting(ctx, tt.key, tt.value); err != nil {
			t.Fatalf("%s: %v", tt.key, err)
		}
		if s, _ := db.Settings(ctx); s.Value(tt.key) != tt.want {
			t.Errorf("%s: %q, want %q", tt.key, s.Value(tt.key), tt.want)
		}
	}
	// What is missing is said all at once: the object, and the article
	// with the rate, which is never assumed.
	a := donor(t, db, "amina@example.org", "Amina", "Kaci")
	giveGift(t, db, a, 5000, day(2026, 1, 10), crm.MethodCheque)
	for _, k := range []string{"receipt-article", "receipt-siren"} {
		if err := db.SetSetting(ctx, k, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026})
	if !errors.As(err, &ve) {
		t.Fatalf("nothing set: %v", err)
	}
	for _, want := range []string{"receipt-legal-name", "receipt-address", "receipt-object", "receipt-article", "receipt-rate",
		"never assumed", "receipt-signer", "receipt-signer-role"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("nothing set: %q does not name %s", err, want)
		}
	}
	setReceiptSettings(t, db, crm.ReceiptFR)
	if err := db.SetSetting(ctx, "receipt-rate", ""); err != nil {
		t.Fatal(err)
	}
	_, err = db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026})
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "receipt-rate") || !strings.Contains(err.Error(), "never assumed") ||
		strings.Contains(err.Error(), "receipt-object") {
		t.Fatalf("no rate: %v", err)
	}
	if err := db.SetSetting(ctx, "receipt-rate", "66"); err != nil {
		t.Fatal(err)
	}
	// Article 978 (IFI) only for the bodies it covers.
	if err := db.SetSetting(ctx, "receipt-ifi", "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, DryRun: true}); !errors.As(err, &ve) || ve.Field != "receipt-ifi" {
		t.Errorf("IFI for an œuvre d'intérêt général: %v", err)
	}
	if err := db.SetSetting(ctx, "receipt-kind", "recherche"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, DryRun: true}); err != nil {
		t.Errorf("IFI for a research body: %v", err)
	}
	// A SIREN in France, an enterprise number in Belgium.
	if err := db.SetSetting(ctx, "receipt-siren", "0123.456.749"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, DryRun: true}); !errors.As(err, &ve) || ve.Field != "receipt-siren" {
		t.Errorf("a Belgian number on a French receipt: %v", err)
	}
	// Belgium: the French-only settings are refused, and ignored when left.
	if err := db.SetSetting(ctx, "receipt-country", "BE"); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"receipt-rate": "66", "receipt-article": "200", "receipt-kind": "interet-general", "receipt-ifi": "yes"} {
		if err := db.SetSetting(ctx, k, v); !errors.As(err, &ve) || ve.Field != k || !strings.Contains(err.Error(), "Belgian") {
			t.Errorf("%s in Belgium: %v", k, err)
		}
	}
	if len(crm.FrenchReceiptKeys) != 4 {
		t.Errorf("French-only keys: %v", crm.FrenchReceiptKeys)
	}
	if err := db.SetSetting(ctx, "receipt-approval", "2026/B/1"); err != nil {
		t.Fatal(err)
	}
	if run, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, DryRun: true}); err != nil || len(run.Issued) != 1 ||
		run.Issued[0].Issuer.Rate != "" || run.Issued[0].Issuer.Article != "" || run.Issued[0].Issuer.IFI != "" {
		t.Errorf("Belgian attestation with French settings left: %+v %v", run, err)
	}
	if err := db.SetSetting(ctx, "receipt-country", "FR"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(ctx, "receipt-siren", ""); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(ctx, "receipt-signer", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026}); err == nil || !strings.Contains(err.Error(), "receipt-signer") {
		t.Errorf("no signer: %v", err)
	}
	if rs, _ := db.ListReceipts(ctx, crm.ReceiptFilter{}); len(rs) != 0 {
		t.Errorf("refused issues left %d receipts", len(rs))
	}
}

func TestIssueReceipts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	setReceiptSettings(t, db, crm.ReceiptFR)
	a := donor(t, db, "amina@example.org", "Amina", "Kaci")
	j := donor(t, db, "jo@example.org", "Jo", "Peeters")
	noAddr := mustSupporter(t, db, &crm.Supporter{Email: "lea@example.org", FirstName: "Léa", City: "Lille"})
	a1 := giveGift(t, db, a, 5000, day(2026, 1, 10), crm.MethodCheque)
	a2 := giveGift(t, db, a, 7350, day(2026, 2, 3), crm.MethodTransfer)
	giveGift(t, db, a, 1000, day(2025, 12, 31), crm.MethodCash) // another year
	// 23:30 on 31 December in Paris is 2026 in UTC but 2025 where the
	// association is.
	giveGift(t, db, j, 2000, time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC), crm.MethodCash)
	j1 := giveGift(t, db, j, 12350, day(2026, 1, 20), crm.MethodCard)
	giveGift(t, db, noAddr, 3000, day(2026, 1, 5), crm.MethodCash)
	usd := &crm.Donation{SupporterID: j.ID, Amount: 999, Currency: "USD", ReceivedAt: day(2026, 1, 21), Method: crm.MethodCard}
	if err := db.AddDonation(ctx, usd); err != nil {
		t.Fatal(err)
	}

	dry, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, DryRun: true})
	if err != nil || len(dry.Issued) != 2 || dry.Issued[0].Number != "2026-0001" || len(dry.NotReceiptable) != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if rs, _ := db.ListReceipts(ctx, crm.ReceiptFilter{}); len(rs) != 0 {
		t.Fatalf("a dry run wrote %d receipts", len(rs))
	}
	run, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Issued) != 2 {
		t.Fatalf("issued %d receipts, want 2: %+v", len(run.Issued), run.Issued)
	}
	ra, rj := run.Issued[0], run.Issued[1]
	if ra.Number != "2026-0001" || ra.Amount != 12350 || len(ra.Gifts) != 2 || ra.Gifts[0].DonationID != a1.ID ||
		ra.Gifts[1].DonationID != a2.ID || ra.DonorName != "Amina Kaci" || ra.DonorCity != "Calais" || !ra.Annual ||
		ra.Issuer.Rate != "75" || ra.Issuer.LegalName != "Association Solidarité Calais" {
		t.Errorf("amina's receipt: %+v", ra)
	}
	if rj.Number != "2026-0002" || rj.Amount != 12350+2000 || len(rj.Gifts) != 2 || rj.Gifts[1].DonationID != j1.ID {
		t.Errorf("jo's receipt (the 31 December gift at 23:30 UTC is 2026 in Paris): %+v", rj)
	}
	nr := run.NotReceiptable
	if len(nr) != 1 || nr[0].Email != "lea@example.org" || !slices.Equal(nr[0].Missing, []string{"address", "postcode"}) || nr[0].Amount != 3000 {
		t.Errorf("not receiptable: %+v", nr)
	}

	// Frozen: a later change of the donor or settings changes no receipt.
	addr := "8 quai du Commerce"
	if _, err := db.UpdateSupporter(ctx, a.ID, crm.SupporterUpdate{Address: &addr}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(ctx, "receipt-signer", "Karim Benali"); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetReceipt(ctx, "2026-0001")
	if err != nil || got.DonorAddress != "5 rue Royale" || got.Issuer.Signer != "Marie Dupont" || len(got.Gifts) != 2 ||
		got.Gifts[0].Method != crm.MethodCheque || !got.Gifts[0].ReceivedAt.Equal(a1.ReceivedAt) {
		t.Errorf("stored receipt: %+v %v", got, err)
	}

	// Issuing again finds nothing new; a new gift gets its own receipt.
	again, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026})
	if err != nil || len(again.Issued) != 0 {
		t.Fatalf("second run: %+v %v", again, err)
	}
	a3 := giveGift(t, db, a, 2500, day(2026, 2, 20), crm.MethodCash)
	per, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, Email: "AMINA@example.org", PerDonation: true})
	if err != nil || len(per.Issued) != 1 || per.Issued[0].Number != "2026-0003" || per.Issued[0].Annual ||
		per.Issued[0].Gifts[0].DonationID != a3.ID {
		t.Fatalf("per donation: %+v %v", per, err)
	}
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, Email: "nobody@example.org"}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2027}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("a year to come: %v", err)
	}

	// Cancel: the number stays, marked; its gifts go on a new receipt
	// with the next number; a gift on a live receipt cannot change.
	amount := int64(100)
	if _, err := db.EditDonation(ctx, a1.ID, crm.DonationEdit{Amount: &amount}); !errors.Is(err, crm.ErrConflict) ||
		!strings.Contains(err.Error(), "2026-0001") {
		t.Errorf("edit of a receipted gift: %v", err)
	}
	if _, err := db.CancelReceipt(ctx, "2026-0001", ""); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("cancel without reason: %v", err)
	}
	c, err := db.CancelReceipt(ctx, "2026-0001", "wrong address")
	if err != nil || c.Status != crm.ReceiptCancelled || c.CancelReason != "wrong address" || c.CancelledAt.IsZero() || c.Amount != 12350 {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if _, err := db.CancelReceipt(ctx, "2026-0001", "again"); !errors.Is(err, crm.ErrConflict) {
		t.Errorf("cancel twice: %v", err)
	}
	if _, err := db.CancelReceipt(ctx, "2026-0099", "x"); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	// The new receipt replaces the cancelled one (stored, for the PDF and
	// the email to say so); a gift paid by "other" is named, as the
	// Cerfa has no box for it.
	other := giveGift(t, db, a, 500, day(2026, 3, 1), crm.MethodOther)
	re, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026})
	if err != nil || len(re.Issued) != 1 || re.Issued[0].Number != "2026-0004" || re.Issued[0].Amount != 12350+500 ||
		re.Issued[0].DonorAddress != "8 quai du Commerce" || !slices.Equal(re.Issued[0].Replaces, []string{"2026-0001"}) {
		t.Fatalf("reissue after cancel: %+v %v", re, err)
	}
	if m := re.Methodless; len(m) != 1 || m[0].DonationID != other.ID || m[0].Receipt != "2026-0004" || m[0].Email != "amina@example.org" {
		t.Errorf("gifts paid otherwise: %+v", m)
	}
	if got, err := db.GetReceipt(ctx, "2026-0004"); err != nil || !slices.Equal(got.Replaces, []string{"2026-0001"}) {
		t.Errorf("stored replacement: %+v %v", got, err)
	}
	if got, _ := db.GetReceipt(ctx, "2026-0002"); len(got.Replaces) != 0 {
		t.Errorf("2026-0002 replaces %v", got.Replaces)
	}
	// Only what a receipt does not state may change on a receipted gift;
	// the audit says what changed.
	fund, note := "hiver", "chèque remis à la permanence"
	if _, err := db.EditDonation(ctx, a1.ID, crm.DonationEdit{Fund: &fund, Note: &note}); err != nil {
		t.Errorf("fund and note of a receipted gift: %v", err)
	}
	method := crm.MethodCash
	if _, err := db.EditDonation(ctx, a1.ID, crm.DonationEdit{Fund: &fund, Method: &method}); !errors.Is(err, crm.ErrConflict) ||
		!strings.Contains(err.Error(), "states its method") || strings.HasSuffix(err.Error(), "conflict") {
		t.Errorf("method of a receipted gift: %v", err)
	}
	all, _ := db.ListReceipts(ctx, crm.ReceiptFilter{Year: 2026})
	var numbers []string
	var live int64
	for _, r := range all {
		numbers = append(numbers, r.Number+":"+string(r.Status))
		if r.Status == crm.ReceiptIssued {
			live += r.Amount
		}
	}
	if want := []string{"2026-0001:cancelled", "2026-0002:issued", "2026-0003:issued", "2026-0004:issued"}; !slices.Equal(numbers, want) {
		t.Errorf("receipts: %v, want %v", numbers, want)
	}
	// The declaration's total is the sum of the receipts that stand.
	dec, err := db.ReceiptDeclaration(ctx, 2026)
	if err != nil || dec.Count != 3 || dec.Amount != live || live != 12350+500+14350+2500 {
		t.Errorf("declaration: %+v %v (sum of issued receipts %d)", dec, err, live)
	}
	if dec, _ := db.ReceiptDeclaration(ctx, 2025); dec.Count != 0 || dec.Amount != 0 {
		t.Errorf("declaration of a year without receipts: %+v", dec)
	}
	entries, _ := db.AuditLog(ctx, crm.AuditFilter{SupporterID: a.ID})
	var actions []string
	for _, e := range entries {
		if strings.Contains(e.Action, "receipt") {
			actions = append(actions, e.Action+" "+e.Details)
		}
	}
	if want := []string{"issue receipt receipt 2026-0001", "issue receipt receipt 2026-0003", "cancel receipt receipt 2026-0001",
		"issue receipt receipt 2026-0004"}; !slices.Equal(actions, want) {
		t.Errorf("audit: %q", actions)
	}
	var edits []string
	for _, e := range entries {
		if e.Action == "edit donation" {
			edits = append(edits, e.Details)
		}
	}
	if want := fmt.Sprintf(`donation %d: fund: "" → "hiver"; note changed`, a1.ID); !slices.Equal(edits, []string{want}) {
		t.Errorf("audit of the edit: %q, want %q", edits, want)
	}
	if _, err := db.GetReceipt(ctx, "2026-0099"); !errors.Is(err, crm.ErrNotFound) || strings.HasSuffix(err.Error(), "not found") {
		t.Errorf("unknown receipt: %v", err)
	}
}

// Belgium: an attestation only for a donor who gave €40 or more in the
// year, annual only.
func TestIssueReceiptsBelgium(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	setReceiptSettings(t, db, crm.ReceiptBE)
	a := donor(t, db, "amina@example.org", "Amina", "Kaci")
	j := donor(t, db, "jo@example.org", "Jo", "Peeters")
	z := donor(t, db, "zoe@example.org", "Zoé", "Maes")
	giveGift(t, db, a, 2000, day(2026, 1, 10), crm.MethodTransfer)
	giveGift(t, db, a, 2000, day(2026, 2, 10), crm.MethodTransfer) // 40.00 in all: enough
	giveGift(t, db, j, 3999, day(2026, 1, 10), crm.MethodTransfer) // 39.99: not
	giveGift(t, db, z, 10000, day(2026, 1, 10), crm.MethodTransfer)
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, PerDonation: true}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("per donation in Belgium: %v", err)
	}
	run, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Issued) != 2 || run.Issued[0].DonorName != "Amina Kaci" || run.Issued[0].Amount != 4000 ||
		run.Issued[0].Country != crm.ReceiptBE || run.Issued[1].Number != "2026-0002" || run.Issued[1].DonorName != "Zoé Maes" {
		t.Errorf("issued: %+v", run.Issued)
	}
	if len(run.NotReceiptable) != 1 || run.NotReceiptable[0].Email != "jo@example.org" ||
		!strings.Contains(run.NotReceiptable[0].Reason, "40 EUR") || !run.NotReceiptable[0].BelowMinimum ||
		len(run.NotReceiptable[0].Missing) != 0 {
		t.Errorf("not receiptable: %+v", run.NotReceiptable)
	}
}

// Several issuers at once: numbers 1..N without gap or duplicate, each
// gift on exactly one receipt (run with CRM_TEST_POSTGRES too).
func TestIssueReceiptsConcurrent(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	setReceiptSettings(t, db, crm.ReceiptFR)
	const donors = 24
	var gifts int
	for i := range donors {
		s := donor(t, db, fmt.Sprintf("d%02d@example.org", i), "Donor", fmt.Sprint(i))
		for k := range 1 + i%3 {
			giveGift(t, db, s, int64(1000+i*10+k), day(2026, 1, 1+k), crm.MethodCheque)
			gifts++
		}
	}
	// The year's sequence exists (the first receipt of the year makes
	// it); then one issuer per donor, each with receipts to store, and
	// a few for everyone, all at once.
	if _, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026, Email: "d00@example.org"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, donors+3)
	for i := range donors + 3 {
		wg.Go(func() {
			req := crm.ReceiptRequest{Year: 2026}
			if i < donors {
				req.Email = fmt.Sprintf("d%02d@example.org", i)
				req.PerDonation = i%4 == 3
			}
			_, err := db.IssueReceipts(ctx, req)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, err := db.ListReceipts(ctx, crm.ReceiptFilter{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for i, r := range rs {
		if r.Seq != i+1 || r.Number != crm.ReceiptNumber(2026, i+1) {
			t.Fatalf("receipt %d is %s (seq %d): a gap or a duplicate", i+1, r.Number, r.Seq)
		}
		var sum int64
		for _, g := range r.Gifts {
			if other, ok := seen[g.DonationID]; ok {
				t.Errorf("gift %d on %s and %s", g.DonationID, other, r.Number)
			}
			seen[g.DonationID] = r.Number
			sum += g.Amount
		}
		if sum != r.Amount || len(r.Gifts) == 0 {
			t.Errorf("%s: amount %d, gifts sum %d", r.Number, r.Amount, sum)
		}
	}
	if len(seen) != gifts {
		t.Errorf("%d gifts on receipts, want %d", len(seen), gifts)
	}
}

// Erasure: refused within six years of a receipt unless forced; forced,
// the receipt keeps its number and amounts and loses the donor.
func TestForgetReceiptRetention(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	setReceiptSettings(t, db, crm.ReceiptFR)
	a := donor(t, db, "amina@example.org", "Amina", "Kaci")
	giveGift(t, db, a, 5000, day(2026, 1, 10), crm.MethodCheque)
	if run, err := db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026}); err != nil || run.Issued[0].DonorErased {
		t.Fatal(run, err)
	}
	if rs, _ := db.ListReceipts(ctx, crm.ReceiptFilter{}); len(rs) != 1 || rs[0].DonorErased {
		t.Fatalf("a standing donor's receipt: %+v", rs)
	}
	if x, err := db.ExportSupporter(ctx, "amina@example.org"); err != nil || len(x.Receipts) != 1 || x.Receipts[0].Number != "2026-0001" {
		t.Errorf("export: %+v %v", x, err)
	}
	err := db.Forget(ctx, "amina@example.org")
	if !errors.Is(err, crm.ErrRetention) || !strings.Contains(err.Error(), "2026-0001") || !strings.Contains(err.Error(), "L102 B") {
		t.Fatalf("forget within 6 years: %v", err)
	}
	if s, err := db.GetSupporterByEmail(ctx, "amina@example.org"); err != nil || s.LastName != "Kaci" {
		t.Fatalf("a refused erasure erased: %+v %v", s, err)
	}
	if ss, _ := db.InactiveSupporters(ctx, db.Now().AddDate(1, 0, 0)); len(ss) != 0 {
		t.Errorf("prune would pick a donor with a receipt to keep: %d", len(ss))
	}
	if err := db.ForgetWith(ctx, "amina@example.org", crm.ForgetOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	r, err := db.GetReceipt(ctx, "2026-0001")
	if err != nil || r.Amount != 5000 || r.Number != "2026-0001" || r.Status != crm.ReceiptIssued || len(r.Gifts) != 1 ||
		r.DonorName != "" || r.DonorAddress != "" || r.DonorPostcode != "" || r.DonorCity != "" || r.DonorEmail != "" ||
		!r.DonorErased {
		t.Errorf("receipt after a forced erasure: %+v %v", r, err)
	}
	if dec, _ := db.ReceiptDeclaration(ctx, 2026); dec.Amount != 5000 {
		t.Errorf("the declaration lost the erased donor's receipt: %+v", dec)
	}
}
