package crm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// A mistyped gift is corrected or deleted, audited; one in the future is
// refused; one on a live tax receipt cannot change until the receipt is
// cancelled.
func TestEditDonation(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a := mustSupporter(t, db, &crm.Supporter{Email: "amina@example.org"})
	b := mustSupporter(t, db, &crm.Supporter{Email: "jo@example.org"})
	d := &crm.Donation{SupporterID: a.ID, Amount: 5000, Currency: "EUR", ReceivedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		Method: crm.MethodCheque}
	if err := db.AddDonation(ctx, d); err != nil {
		t.Fatal(err)
	}
	amount, fund := int64(500), "hiver"
	got, err := db.EditDonation(ctx, d.ID, crm.DonationEdit{Amount: &amount, Fund: &fund, SupporterID: &b.ID})
	if err != nil || got.Amount != 500 || got.Fund != "hiver" || got.SupporterID != b.ID {
		t.Fatalf("edit: %+v, %v", got, err)
	}
	ds, _ := db.ListDonations(ctx, crm.DonationFilter{SupporterID: &b.ID})
	if len(ds) != 1 || ds[0].Amount != 500 {
		t.Errorf("jo's donations after the edit: %+v", ds)
	}
	future := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var ve *crm.ValidationError
	if _, err := db.EditDonation(ctx, d.ID, crm.DonationEdit{ReceivedAt: &future}); !errors.As(err, &ve) || ve.Field != "date" {
		t.Errorf("a date in the future: %v", err)
	}
	if err := db.AddDonation(ctx, &crm.Donation{SupporterID: a.ID, Amount: 100, Currency: "EUR", ReceivedAt: future,
		Method: crm.MethodCash}); !errors.As(err, &ve) || ve.Field != "date" {
		t.Errorf("a new gift in the future: %v", err)
	}
	zero := int64(0)
	if _, err := db.EditDonation(ctx, d.ID, crm.DonationEdit{Amount: &zero}); !errors.As(err, &ve) || ve.Field != "amount" {
		t.Errorf("amount 0: %v", err)
	}
	if _, err := db.EditDonation(ctx, 999, crm.DonationEdit{Amount: &amount}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("unknown donation: %v", err)
	}

	// On a receipt: frozen until the receipt is cancelled.
	bdb := dbutil.DB(db)
	var rid int64
	if err := bdb.NewRaw(`INSERT INTO receipts (number, year, seq, supporter_id, country, annual, amount, currency,
		donor_name, donor_address, donor_postcode, donor_city, issuer, status, issued_at)
		VALUES ('2026-0001', 2026, 1, ?, 'FR', TRUE, 500, 'EUR', 'Jo', '1 rue', '59000', 'Lille', '{}', 'issued', ?) RETURNING id`,
		b.ID, time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)).Scan(ctx, &rid); err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.NewRaw("INSERT INTO receipt_donations (receipt_id, donation_id) VALUES (?, ?)", rid, d.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EditDonation(ctx, d.ID, crm.DonationEdit{Amount: &zero}); !errors.As(err, &ve) {
		t.Errorf("a bad amount on a receipted gift: %v", err)
	}
	amount = 5000
	if _, err := db.EditDonation(ctx, d.ID, crm.DonationEdit{Amount: &amount}); !errors.Is(err, crm.ErrConflict) ||
		!strings.Contains(err.Error(), "2026-0001") || !strings.Contains(err.Error(), "states its amount") {
		t.Errorf("edit of a receipted gift: %v", err)
	}
	// What the receipt does not state may change: the fund, the note.
	fund = "printemps"
	if got, err := db.EditDonation(ctx, d.ID, crm.DonationEdit{Fund: &fund}); err != nil || got.Fund != "printemps" {
		t.Errorf("fund of a receipted gift: %+v %v", got, err)
	}
	if err := db.DeleteDonation(ctx, d.ID); !errors.Is(err, crm.ErrConflict) {
		t.Errorf("delete of a receipted gift: %v", err)
	}
	if _, err := bdb.NewRaw("UPDATE receipts SET status = 'cancelled' WHERE id = ?", rid).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDonation(ctx, d.ID); err != nil {
		t.Errorf("delete once the receipt is cancelled: %v", err)
	}
	entries, err := db.AuditLog(ctx, crm.AuditFilter{SupporterID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if s := strings.Join(actions, ","); !strings.Contains(s, "edit donation") || !strings.Contains(s, "delete donation") {
		t.Errorf("jo's audit: %s", s)
	}
}

// The street address is read from a sheet's Adresse column (HelloAsso's
// "Adresse acheteur" too), kept, and erased.
func TestSupporterAddress(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	rep := importString(t, db, "Email;Nom;Adresse acheteur;Code postal;Ville\nlea@example.org;Martin;5 rue Royale;1000;Bruxelles\n",
		crm.ImportOptions{})
	if rep.Created != 1 {
		t.Fatalf("import: %+v", rep)
	}
	s, err := db.GetSupporterByEmail(ctx, "lea@example.org")
	if err != nil || s.Address != "5 rue Royale" || s.Postcode != "1000" || s.City != "Bruxelles" {
		t.Fatalf("imported: %+v, %v", s, err)
	}
	addr := "  12  rue des Lilas "
	if s, err = db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{Address: &addr}); err != nil || s.Address != "12 rue des Lilas" {
		t.Errorf("edit address: %+v, %v", s, err)
	}
	if err := db.Forget(ctx, "lea@example.org"); err != nil {
		t.Fatal(err)
	}
	if s, err := db.GetSupporter(ctx, s.ID); err != nil || s.Address != "" {
		t.Errorf("after erasure: %q, %v", s.Address, err)
	}
}
