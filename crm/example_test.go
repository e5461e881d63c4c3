package crm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
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
