package crm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

func importDonations(t *testing.T, db *crm.DB, name string, opts crm.DonationImportOptions) *crm.DonationImportReport {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts.FileName = name
	rep, err := db.ImportDonations(context.Background(), f, opts)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return rep
}

func TestImportDonationsHelloAsso(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "amina.kaci@example.org", FirstName: "Amina", City: "Calais"})
	rep := importDonations(t, db, "helloasso_export.csv", crm.DonationImportOptions{})
	if rep.Format != crm.FormatHelloAsso || rep.Rows != 4 || rep.Created != 2 || rep.Skipped != 1 ||
		rep.SupportersCreated != 1 || rep.Rejected != 0 {
		t.Fatalf("report = %+v", rep)
	}
	ds, err := db.ListDonations(ctx, crm.DonationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The two items of order 124665468 make one gift; 22:37 in Paris is
	// 21:37 UTC in March (before the switch to summer time).
	if len(ds) != 2 || ds[0].Amount != 2495 || ds[0].ExternalRef != "124665468" || ds[0].Method != crm.MethodHelloAsso ||
		!ds[0].ReceivedAt.Equal(time.Date(2025, 3, 24, 21, 37, 0, 0, time.UTC)) || ds[0].Email != "amina.kaci@example.org" {
		t.Errorf("first donation = %+v", ds[0])
	}
	if ds[1].Amount != 100000 || ds[1].Email != "paul.durand@example.org" {
		t.Errorf("second donation = %+v", ds[1])
	}
	p, _ := db.GetSupporterByEmail(ctx, "paul.durand@example.org")
	if p.FirstName != "Paul" || p.Organisation != "Collectif Logement" || p.Source != "helloasso" {
		t.Errorf("new donor = %+v", p)
	}
	if _, err := db.GetSupporterByEmail(ctx, "marie.roux@example.org"); err == nil {
		t.Error("the donor of a pending payment became a supporter")
	}

	rep = importDonations(t, db, "helloasso_export.csv", crm.DonationImportOptions{})
	if rep.Created != 0 || rep.Duplicates != 2 || rep.SupportersCreated != 0 {
		t.Errorf("re-import = %+v", rep)
	}
	if ds, _ := db.ListDonations(ctx, crm.DonationFilter{}); len(ds) != 2 {
		t.Errorf("%d donations after re-import", len(ds))
	}
}

// HelloAsso's "Moyen de paiement" says how an order was paid: a cheque or
// cash the association recorded there keeps its method (a tax receipt
// ticks its box); "Carte bancaire" is a payment online (helloasso).
func TestImportDonationsHelloAssoMethods(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	in := "Référence commande;Date de la commande;Statut de la commande;Nom payeur;Prénom payeur;Email payeur;Moyen de paiement;Tarif;Montant tarif\n" +
		"1;24/03/2025 10:00;Validé;Kaci;Amina;amina@example.org;Carte bancaire;Don;10,00\n" +
		"2;24/03/2025 11:00;Validé;Kaci;Amina;amina@example.org;Chèque;Don;20,00\n" +
		"3;24/03/2025 12:00;Validé;Kaci;Amina;amina@example.org;Espèces;Don;30,00\n" +
		"4;24/03/2025 13:00;Validé;Kaci;Amina;amina@example.org;Virement;Don;40,00\n" +
		"5;24/03/2025 14:00;Validé;Kaci;Amina;amina@example.org;Prélèvement SEPA;Don;50,00\n" +
		"6;24/03/2025 15:00;Validé;Kaci;Amina;amina@example.org;;Don;60,00\n" +
		"7;24/03/2025 16:00;Validé;Kaci;Amina;amina@example.org;Bitcoin;Don;70,00\n"
	rep, err := db.ImportDonations(ctx, strings.NewReader(in), crm.DonationImportOptions{})
	if err != nil || rep.Format != crm.FormatHelloAsso || rep.Created != 6 || rep.Rejected != 1 ||
		rep.Rejections[0].Line != 8 || rep.Rejections[0].Column != "Moyen de paiement" {
		t.Fatalf("import: %+v %v", rep, err)
	}
	ds, err := db.ListDonations(ctx, crm.DonationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []crm.DonationMethod
	for _, d := range ds {
		got = append(got, d.Method)
	}
	if want := []crm.DonationMethod{crm.MethodHelloAsso, crm.MethodCheque, crm.MethodCash, crm.MethodTransfer,
		crm.MethodTransfer, crm.MethodHelloAsso}; !slices.Equal(got, want) {
		t.Errorf("methods: %v, want %v", got, want)
	}
}

func TestParseDonationMethod(t *testing.T) {
	for in, want := range map[string]crm.DonationMethod{"": crm.MethodOther, "Autre": crm.MethodOther, "chèque": crm.MethodCheque,
		"CHEQUE": crm.MethodCheque, "Chèque bancaire": crm.MethodCheque, "espèces": crm.MethodCash, "Especes": crm.MethodCash,
		"virement": crm.MethodTransfer, "Prélèvement": crm.MethodTransfer, "carte": crm.MethodCard, "Carte bancaire": crm.MethodCard,
		"CB": crm.MethodCard, "card": crm.MethodCard, "helloasso": crm.MethodHelloAsso, "transfer": crm.MethodTransfer} {
		if got, err := crm.ParseDonationMethod(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	var ve *crm.ValidationError
	if _, err := crm.ParseDonationMethod("bitcoin"); !errors.As(err, &ve) || ve.Field != "method" {
		t.Errorf("bitcoin: %v", err)
	}
}

func TestImportDonationsGeneric(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "amina.kaci@example.org"})
	mustSupporter(t, db, &crm.Supporter{Email: "jo.peeters@example.org"})
	var rejects []crm.Rejection
	rep := importDonations(t, db, "donations_generic.csv", crm.DonationImportOptions{
		OnReject: func(r crm.Rejection) { rejects = append(rejects, r) }})
	if rep.Created != 3 || rep.Rejected != 2 || rep.SupportersCreated != 1 {
		t.Fatalf("report = %+v", rep)
	}
	want := []string{`line 5: montant "abc": not a number`, `line 6: date "32/01/2026": not a date such as 2026-01-31 or 31/01/2026`}
	for i, r := range rep.Rejections {
		if r.String() != want[i] {
			t.Errorf("rejection %d = %q, want %q", i, r, want[i])
		}
	}
	if len(rejects) != 2 || rejects[0].Record[1] != "abc" {
		t.Errorf("OnReject = %+v", rejects)
	}
	ds, _ := db.ListDonations(ctx, crm.DonationFilter{})
	if ds[0].Amount != 2550 || ds[0].Method != crm.MethodTransfer || ds[0].Fund != "Hiver" || ds[0].Recurring ||
		ds[1].Method != crm.MethodCash || !ds[1].Recurring || ds[2].Method != crm.MethodCheque || ds[2].Email != "new.donor@example.org" {
		t.Errorf("donations = %+v %+v %+v", ds[0], ds[1], ds[2])
	}
	rep = importDonations(t, db, "donations_generic.csv", crm.DonationImportOptions{})
	if rep.Created != 0 || rep.Duplicates != 3 {
		t.Errorf("re-import = %+v", rep)
	}

	// Rows without a reference are still recorded once, and two identical
	// gifts in one file stay two.
	in := "email,amount,date\namina.kaci@example.org,5,2026-03-01\namina.kaci@example.org,5,2026-03-01\n"
	for i, wantCreated := range []int{2, 0} {
		rep, err := db.ImportDonations(ctx, strings.NewReader(in), crm.DonationImportOptions{})
		if err != nil || rep.Created != wantCreated {
			t.Errorf("import %d without references: %+v, %v", i, rep, err)
		}
	}
	if _, err := db.ImportDonations(ctx, strings.NewReader("email,date\na@example.org,2026-01-01\n"), crm.DonationImportOptions{}); err == nil ||
		!strings.Contains(err.Error(), "no amount column") {
		t.Errorf("file without amounts: %v", err)
	}
}
