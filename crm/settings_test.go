package crm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s, err := db.Settings(ctx)
	if err != nil || *s != (crm.Settings{}) || s.Location().String() != crm.DefaultTimeZone {
		t.Fatalf("fresh settings: %+v %v", s, err)
	}
	for _, tt := range []struct{ key, value, want string }{
		{"name", "  Solidarité   Calais ", "Solidarité Calais"},
		{"postal-address", `5 rue Royale\n62100  Calais`, "5 rue Royale\n62100 Calais"},
		{"public-url", "https://asso.example.org/nl/", "https://asso.example.org/nl"},
		{"from", "Asso <news@asso.example.org>", "Asso <news@asso.example.org>"},
		{"Reply-To", "benevoles@asso.example.org", "benevoles@asso.example.org"},
		{"time-zone", "Europe/Brussels", "Europe/Brussels"},
	} {
		if err := db.SetSetting(ctx, tt.key, tt.value); err != nil {
			t.Fatalf("%s: %v", tt.key, err)
		}
	}
	s, _ = db.Settings(ctx)
	want := crm.Settings{Name: "Solidarité Calais", PostalAddress: "5 rue Royale\n62100 Calais",
		PublicURL: "https://asso.example.org/nl", From: "Asso <news@asso.example.org>",
		ReplyTo: "benevoles@asso.example.org", TimeZone: "Europe/Brussels"}
	if *s != want || s.Location().String() != "Europe/Brussels" {
		t.Fatalf("settings: %+v", s)
	}
	for _, tt := range []struct{ key, value string }{
		{"colour", "blue"}, {"public-url", "ftp://asso.org"}, {"public-url", "https://asso.org/?x=1"},
		{"from", "not an address"}, {"time-zone", "Mars/Olympus"}, {"time-zone", "Local"},
	} {
		var ve *crm.ValidationError
		if err := db.SetSetting(ctx, tt.key, tt.value); !errors.As(err, &ve) || !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("%s %q: %v", tt.key, tt.value, err)
		}
	}
	if got, _ := db.Settings(ctx); *got != want {
		t.Errorf("refused values changed the settings: %+v", got)
	}
	if err := db.SetSetting(ctx, "reply-to", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Settings(ctx); got.ReplyTo != "" || got.From != want.From {
		t.Errorf("after removing reply-to: %+v", got)
	}
	entries, err := db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil || len(entries) != 7 || entries[len(entries)-1].Action != "unset reply-to" && entries[0].Action != "unset reply-to" {
		t.Errorf("audit: %d entries, %v", len(entries), err)
	}
}
