package crm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/assocrm/assocrm/crm"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crm-example")
	defer os.RemoveAll(dir)

	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	s := &crm.Supporter{
		Email:     " Amina.Kaci@Example.ORG ",
		FirstName: "Amina",
		City:      "Calais",
		Tags:      []string{"Bénévole"},
		Interests: []crm.SupporterInterest{{Interest: "terrain", Availability: "weekends"}},
	}
	if err := db.CreateSupporter(ctx, s); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Email, s.Language, s.Tags)

	err = db.CreateSupporter(ctx, &crm.Supporter{Email: "amina.kaci@example.org"})
	fmt.Println(err)
	// Output:
	// amina.kaci@example.org fr [bénévole]
	// supporter with this email already exists: conflict
}

func ExampleDB_Subscribe() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crm-example")
	defer os.RemoveAll(dir)
	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	s := &crm.Supporter{Email: "lea@example.org"}
	if err := db.CreateSupporter(ctx, s); err != nil {
		log.Fatal(err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Kind: crm.KindAlerts, DoubleOptIn: true}); err != nil {
		log.Fatal(err)
	}
	consent := crm.Consent{Source: crm.SourceWeb, Text: "Je veux recevoir les alertes expulsions"}
	res, _ := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes", Consent: consent})
	fmt.Println(res.Status)
	res, _ = db.Confirm(ctx, s.ID, "alertes", crm.Consent{Source: crm.SourceWeb})
	fmt.Println(res.Status)

	history, _ := db.ConsentHistory(ctx, s.ID)
	for _, ev := range history {
		fmt.Println(ev.Action, ev.List, ev.Source)
	}
	// Output:
	// pending
	// subscribed
	// request alertes web
	// confirm alertes web
}

// A donation form records the donor, the gift and the newsletter they
// ticked in one transaction: all of it is kept, or none.
func ExampleDB_RunInTx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crm-example")
	defer os.RemoveAll(dir)
	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		log.Fatal(err)
	}

	donate := func(email string, cents int64) error {
		return db.RunInTx(ctx, func(tx *crm.Tx) error {
			s, err := tx.GetSupporterByEmail(ctx, email)
			if errors.Is(err, crm.ErrNotFound) {
				s = &crm.Supporter{Email: email}
				err = tx.CreateSupporter(ctx, s)
			}
			if err != nil {
				return err
			}
			_, err = tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
				Consent: crm.Consent{Source: crm.SourceWeb, Text: "Je veux recevoir la lettre"}})
			if err != nil {
				return err
			}
			return tx.AddDonation(ctx, &crm.Donation{SupporterID: s.ID, Amount: cents, Currency: "EUR",
				ReceivedAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Method: crm.MethodCard})
		})
	}
	fmt.Println(donate("nour@example.org", 2500))
	fmt.Println(donate("sam@example.org", -500)) // refused: Sam is not kept either
	for _, email := range []string{"nour@example.org", "sam@example.org"} {
		_, err := db.GetSupporterByEmail(ctx, email)
		fmt.Println(email, err)
	}
	// Output:
	// <nil>
	// amount "-5.00": must be positive
	// nour@example.org <nil>
	// sam@example.org supporter: not found
}

func ExampleParseAmount() {
	for _, s := range []string{"25,50", "25.50", "1 234,56 €"} {
		cents, err := crm.ParseAmount(s, "EUR")
		fmt.Println(cents, err)
	}
	_, err := crm.ParseAmount("-1", "EUR")
	fmt.Println(err)
	// Output:
	// 2550 <nil>
	// 2550 <nil>
	// 123456 <nil>
	// amount "-1": must be positive
}

func ExampleDB_DonationTotals() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crm-example")
	defer os.RemoveAll(dir)
	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	s := &crm.Supporter{Email: "don@example.org"}
	if err := db.CreateSupporter(ctx, s); err != nil {
		log.Fatal(err)
	}
	for _, amount := range []string{"25,50", "10"} {
		cents, _ := crm.ParseAmount(amount, "EUR")
		d := &crm.Donation{SupporterID: s.ID, Amount: cents, Currency: "EUR",
			ReceivedAt: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), Method: crm.MethodTransfer}
		if err := db.AddDonation(ctx, d); err != nil {
			log.Fatal(err)
		}
	}
	totals, _ := db.DonationTotals(ctx, s.ID)
	for _, t := range totals {
		fmt.Println(t.Count, crm.FormatAmount(t.Sum, t.Currency), t.Currency)
	}
	// Output:
	// 2 35.50 EUR
}

// openExample opens a fresh database in a temporary folder, removed by
// the returned function.
func openExample() (*crm.DB, func()) {
	dir, err := os.MkdirTemp("", "crm-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := crm.Open(context.Background(), filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

// A spreadsheet exported by Excel on a French Windows machine: semicolons,
// French headers, a row with a bad address. The good rows go in, the bad
// one is reported with its line; importing the file again changes nothing.
func ExampleDB_ImportSupporters() {
	ctx := context.Background()
	db, done := openExample()
	defer done()

	const sheet = "Courriel;Prénom;Nom;Ville;Étiquettes\r\n" +
		"amina@example.org;Amina;Kaci;Calais;bénévole\r\n" +
		"jo@example.org;Jo;Peeters;Liège;presse,bénévole\r\n" +
		"pas-une-adresse;Léa;Martin;Lille;\r\n"
	rep, err := db.ImportSupporters(ctx, strings.NewReader(sheet), crm.ImportOptions{FileName: "adherents.csv"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("delimiter %q, %d rows: %d created, %d rejected\n", rep.Delimiter, rep.Rows, rep.Created, rep.Rejected)
	for _, r := range rep.Rejections {
		fmt.Println(r)
	}
	for _, c := range rep.Columns {
		fmt.Printf("%s -> %s\n", c.Header, c.Field)
	}

	rep, err = db.ImportSupporters(ctx, strings.NewReader(sheet), crm.ImportOptions{FileName: "adherents.csv"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("again: %d created, %d unchanged\n", rep.Created, rep.Unchanged)
	// Output:
	// delimiter ";", 3 rows: 2 created, 1 rejected
	// line 4: Courriel "pas-une-adresse": invalid address
	// Courriel -> email
	// Prénom -> first_name
	// Nom -> last_name
	// Ville -> city
	// Étiquettes -> tags
	// again: 0 created, 2 unchanged
}

// A segment picks supporters with a small query language; a saved one can
// be named in others. An expression is checked before it is saved.
func ExampleDB_SaveSegment() {
	ctx := context.Background()
	db, done := openExample()
	defer done()
	for _, s := range []*crm.Supporter{
		{Email: "amina@example.org", City: "Calais", Tags: []string{"bénévole"}},
		{Email: "jo@example.org", City: "Liège", Tags: []string{"presse", "bénévole"}},
		{Email: "lea@example.org", City: "calais"},
	} {
		if err := db.CreateSupporter(ctx, s); err != nil {
			log.Fatal(err)
		}
	}

	if _, err := db.SaveSegment(ctx, "benevoles", "tag:bénévole AND NOT tag:presse"); err != nil {
		log.Fatal(err)
	}
	for _, expr := range []string{"segment:benevoles", "city:CALAIS", "segment:benevoles OR city:liege"} {
		n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: expr})
		fmt.Println(expr, "->", n, err)
	}
	ss, _, err := db.ListSupporters(ctx, crm.SupporterFilter{Segment: "city:calais AND NOT segment:benevoles"})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range ss {
		fmt.Println(s.Email)
	}
	fmt.Println(db.ValidateSegment(ctx, "tag:presse AND colour:blue"))
	// Output:
	// segment:benevoles -> 1 <nil>
	// city:CALAIS -> 2 <nil>
	// segment:benevoles OR city:liege -> 2 <nil>
	// lea@example.org
	// segment "tag:presse AND colour:blue": at position 16: unknown field "colour" (fields: tag, interest, list, city, postcode, lang, country, source, email, attr.KEY, created, donation.total, donation.count, donation.last, donation.first, event, event.no, event.maybe, attended, attended.count, segment)
}

// Supporters streams the whole base, a thousand at a time, for an export
// that does not hold it in memory.
func ExampleDB_Supporters() {
	ctx := context.Background()
	db, done := openExample()
	defer done()
	for _, email := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		if err := db.CreateSupporter(ctx, &crm.Supporter{Email: email}); err != nil {
			log.Fatal(err)
		}
	}
	for s, err := range db.Supporters(ctx, crm.SupporterFilter{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.ID, s.Email)
	}
	// Output:
	// 1 a@example.org
	// 2 b@example.org
	// 3 c@example.org
}

// Someone erased by Forget is refused until they give fresh consent;
// recording it and adding them are one transaction, so a failed addition
// leaves the address erased.
func ExampleDB_CreateSupporter_freshConsent() {
	ctx := context.Background()
	db, done := openExample()
	defer done()
	if err := db.CreateSupporter(ctx, &crm.Supporter{Email: "ann@example.org"}); err != nil {
		log.Fatal(err)
	}
	if err := db.Forget(ctx, "ann@example.org"); err != nil {
		log.Fatal(err)
	}

	s := &crm.Supporter{Email: "ann@example.org", FirstName: "Ann"}
	fmt.Println(errors.Is(db.CreateSupporter(ctx, s), crm.ErrErased))
	err := db.RunInTx(ctx, func(tx *crm.Tx) error {
		if err := tx.ClearErased(ctx, s.Email); err != nil {
			return err
		}
		return tx.CreateSupporter(ctx, s)
	})
	fmt.Println(err, s.FirstName)
	// Output:
	// true
	// <nil> Ann
}
