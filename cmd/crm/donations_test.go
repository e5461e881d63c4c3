package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// A mistyped gift is corrected and deleted from the command line, by the
// id that donations list shows; a gift on a live tax receipt is refused
// with the library's message, naming the receipt; delete asks for --yes
// when nobody is at a terminal.
func TestDonationsEditDelete(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org")
	mustRun(t, db, "supporters", "add", "--email", "jo@example.org")
	// --method is optional: "other".
	if out := mustRun(t, db, "donations", "add", "--email", "amina@example.org", "--amount", "25,50", "--date", "2026-02-01"); !strings.Contains(out, "recorded donation 1") {
		t.Fatalf("add printed %q", out)
	}
	mustRun(t, db, "donations", "add", "--email", "amina@example.org", "--amount", "5", "--date", "2026-02-02", "--method", "cash")
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); !strings.HasPrefix(got, "id,email,date,amount,currency,method,fund,recurring,ref\n"+
		"1,amina@example.org,2026-02-01,25.50,EUR,other,,false,\n2,") {
		t.Errorf("list:\n%s", got)
	}

	out := mustRun(t, db, "donations", "edit", "1", "--amount", "30", "--date", "03/02/2026", "--method", "cheque",
		"--fund", "hiver", "--email", "jo@example.org", "--note", "chèque n°123")
	if want := "updated donation 1: 30.00 EUR on 2026-02-03 by cheque from jo@example.org, fund hiver\n"; out != want {
		t.Errorf("edit printed %q, want %q", out, want)
	}
	// A new currency: the amount is read in it (no cents in yen).
	mustRun(t, db, "donations", "edit", "2", "--amount", "700", "--currency", "jpy")
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); !strings.Contains(got, "\n1,jo@example.org,2026-02-03,30.00,EUR,cheque,hiver,false,\n") ||
		!strings.Contains(got, "\n2,amina@example.org,2026-02-02,700,JPY,cash,,false,\n") {
		t.Errorf("list after the edits:\n%s", got)
	}
	if code, _, errOut := crmRun(t, db, "donations", "edit", "1", "--date", "2099-01-01"); code != 1 || !strings.Contains(errOut, `--date "2099-01-01": in the future`) {
		t.Errorf("a date in the future: exit %d, %s", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "donations", "edit", "1", "--amount", "0"); code != 1 || !strings.Contains(errOut, `--amount "0"`) {
		t.Errorf("amount 0: exit %d, %s", code, errOut)
	}

	// On a live receipt: frozen, with the library's message as is.
	receipt(t, db, 1)
	code, _, errOut := crmRun(t, db, "donations", "edit", "1", "--fund", "")
	if want := "crm: donation 1 is on tax receipt 2026-0001: cancel the receipt first (crm receipts cancel 2026-0001 --reason ...): conflict\n"; code != 1 || errOut != want {
		t.Errorf("edit of a receipted gift: exit %d, %q; want %q", code, errOut, want)
	}
	if code, _, errOut := crmRun(t, db, "donations", "delete", "1", "--yes"); code != 1 || !strings.Contains(errOut, "on tax receipt 2026-0001") {
		t.Errorf("delete of a receipted gift: exit %d, %s", code, errOut)
	}

	// Nobody at a terminal to answer: --yes is needed, and nothing changes.
	code, _, errOut = crmRun(t, db, "donations", "delete", "2")
	if code != 2 || !strings.Contains(errOut, "add --yes to delete donation 2 (700 JPY on 2026-02-02 by cash from amina@example.org)") {
		t.Errorf("delete without --yes: exit %d, %s", code, errOut)
	}
	if out := mustRun(t, db, "donations", "delete", "2", "--yes"); !strings.HasPrefix(out, "deleted donation 2 (") {
		t.Errorf("delete printed %q", out)
	}
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); strings.Count(got, "\n") != 2 {
		t.Errorf("after the deletion:\n%s", got)
	}
	for email, want := range map[string][]string{"amina@example.org": {"edit donation", "delete donation"},
		"jo@example.org": {"edit donation"}} {
		log := mustRun(t, db, "audit", "--supporter", email)
		for _, w := range want {
			if !strings.Contains(log, w) {
				t.Errorf("%s's audit lacks %q:\n%s", email, w, log)
			}
		}
	}
}

// receipt puts donation id on a live tax receipt, as crm receipts issue
// would.
func receipt(t *testing.T, dsn string, donation int64) {
	t.Helper()
	ctx := context.Background()
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bdb := dbutil.DB(db)
	var rid int64
	if err := bdb.NewRaw(`INSERT INTO receipts (number, year, seq, supporter_id, country, annual, amount, currency,
		donor_name, donor_address, donor_postcode, donor_city, issuer, status, issued_at)
		SELECT '2026-0001', 2026, 1, supporter_id, 'FR', TRUE, amount, currency, 'Jo', '1 rue', '59000', 'Lille', '{}', 'issued', ?
		FROM donations WHERE id = ? RETURNING id`, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), donation).Scan(ctx, &rid); err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.NewRaw("INSERT INTO receipt_donations (receipt_id, donation_id) VALUES (?, ?)", rid, donation).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}
