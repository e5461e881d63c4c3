package crm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// A donations file's payer address (HelloAsso's "Adresse acheteur",
// "Code Postal acheteur"...) goes to new donors and fills the empty
// address fields of existing ones; an address that differs from the
// stored one is never taken, not even in part.
func TestImportDonationsAddresses(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "amina@example.org", FirstName: "Amina", City: "Calais"})
	mustSupporter(t, db, &crm.Supporter{Email: "paul@example.org", Address: "1 rue Haute", City: "Lille"})

	// A dry run counts and keeps nothing.
	rep := importDonations(t, db, "helloasso_adhesions_address.csv", crm.DonationImportOptions{DryRun: true})
	if rep.Created != 6 || rep.Skipped != 1 || rep.SupportersCreated != 2 || rep.AddressesCompleted != 1 || rep.AddressesKept != 2 {
		t.Errorf("dry run: %+v", rep)
	}
	if s, _ := db.GetSupporterByEmail(ctx, "amina@example.org"); s.Address != "" {
		t.Errorf("the dry run wrote amina's address: %+v", s)
	}

	rep = importDonations(t, db, "helloasso_adhesions_address.csv", crm.DonationImportOptions{})
	if rep.Format != crm.FormatHelloAsso || rep.Created != 6 || rep.Rejected != 0 || rep.SupportersCreated != 2 ||
		rep.AddressesCompleted != 1 || rep.AddressesKept != 2 {
		t.Fatalf("report: %+v", rep)
	}
	type address struct{ Address, Postcode, City, Country string }
	for email, want := range map[string]address{
		// New: the first row's address; the second (another one) is not mixed in.
		"lea@example.org": {"5 rue Royale", "1000", "Bruxelles", "BE"},
		// Existing, with only the city: completed, the city kept as written.
		"amina@example.org": {"12 rue des Lilas", "62100", "Calais", "FR"},
		// Existing, with another address: left alone, postcode included.
		"paul@example.org": {"1 rue Haute", "", "Lille", ""},
		// New from a row without an address, completed by a later row's
		// extra field.
		"noe@example.org": {"9 rue Basse", "", "", ""},
	} {
		s, err := db.GetSupporterByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if got := (address{s.Address, s.Postcode, s.City, s.Country}); got != want {
			t.Errorf("%s: %+v, want %+v", email, got, want)
		}
	}
	// The completed city is found by segments (its folded key is kept up to date).
	if n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: "city:calais"}); err != nil || n != 1 {
		t.Errorf("city:calais: %d, %v", n, err)
	}
	amina, _ := db.GetSupporterByEmail(ctx, "amina@example.org")
	entries, err := db.AuditLog(ctx, crm.AuditFilter{SupporterID: amina.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || (e.Action == "import donations" && strings.Contains(e.Details, "address completed from helloasso_adhesions_address.csv"))
	}
	if !found {
		t.Errorf("amina's audit: %+v", entries)
	}

	// Again: nothing new, nothing overwritten.
	rep = importDonations(t, db, "helloasso_adhesions_address.csv", crm.DonationImportOptions{})
	if rep.Created != 0 || rep.Duplicates != 6 || rep.AddressesCompleted != 0 || rep.SupportersCreated != 0 {
		t.Errorf("re-import: %+v", rep)
	}
}

// A generic file's Adresse, Code postal, Ville and Pays columns are read
// too; an address too long to keep rejects its row, naming the column.
func TestImportDonationsGenericAddress(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	long := strings.Repeat("rue ", 100)
	in := "Email;Montant;Date;Adresse;Code postal;Ville;Pays\n" +
		"jo@example.org;10;2026-01-02;3 rue du Port;59000;Lille;France\n" +
		"max@example.org;10;2026-01-02;" + long + ";59000;Lille;France\n"
	var rejects []crm.Rejection
	rep, err := db.ImportDonations(ctx, strings.NewReader(in), crm.DonationImportOptions{
		OnReject: func(r crm.Rejection) { rejects = append(rejects, r) }})
	if err != nil || rep.Created != 1 || rep.Rejected != 1 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if len(rejects) != 1 || rejects[0].Line != 3 || rejects[0].Column != "Adresse" {
		t.Errorf("rejections: %+v", rejects)
	}
	s, err := db.GetSupporterByEmail(ctx, "jo@example.org")
	if err != nil || s.Address != "3 rue du Port" || s.Postcode != "59000" || s.City != "Lille" || s.Country != "FR" {
		t.Errorf("jo: %+v, %v", s, err)
	}
}

// The header of a real HelloAsso membership export maps the buyer's
// address columns.
func TestImportDonationsRealHelloAssoAddress(t *testing.T) {
	path := filepath.Join(realWorldDir, "helloasso_adhesions-export-2019-legacy_HEADER-ONLY.csv")
	head, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("real-world corpus not present (%v): it ships beside the repository in CI only", err)
	}
	header := strings.Split(strings.TrimRight(string(head), "\r\n"), ";")
	row := make([]string, len(header))
	for i, h := range header {
		switch h {
		case "Montant adhésion":
			row[i] = "20,00"
		case "Statut":
			row[i] = "Validé"
		case "Date":
			row[i] = "02/01/2026 10:00"
		case "Email":
			row[i] = "lea@example.org"
		case "Numéro":
			row[i] = "42"
		case "Adresse acheteur":
			row[i] = "5 rue Royale"
		case "Code Postal acheteur":
			row[i] = "1000"
		case "Ville acheteur":
			row[i] = "Bruxelles"
		case "Pays acheteur":
			row[i] = "Belgique"
		case "Champ additionnel: Adresse":
			row[i] = "the member's, not the payer's"
		}
	}
	ctx := context.Background()
	db := openTest(t)
	in := strings.TrimRight(string(head), "\r\n") + "\r\n" + strings.Join(row, ";") + "\r\n"
	rep, err := db.ImportDonations(ctx, strings.NewReader(in), crm.DonationImportOptions{})
	if err != nil || rep.Format != crm.FormatHelloAsso || rep.Created != 1 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	s, err := db.GetSupporterByEmail(ctx, "lea@example.org")
	if err != nil || s.Address != "5 rue Royale" || s.Postcode != "1000" || s.City != "Bruxelles" || s.Country != "BE" {
		t.Errorf("lea: %+v, %v", s, err)
	}
}
