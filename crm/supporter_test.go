package crm_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

func ptr[T any](v T) *T { return &v }

func TestCreateSupporterNormalisesAndIsUnique(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := mustSupporter(t, db, &crm.Supporter{
		Email: " Amina.K@Example.ORG ", FirstName: "Amina\u00a0", LastName: " Kaci",
		City: "Calais", Country: "france", Tags: []string{"Bénévole", "presse", "bénévole"},
		Attributes: map[string]string{"pointure": "42"},
		Interests:  []crm.SupporterInterest{{Interest: "terrain", Availability: "weekends"}, {Interest: "Hébergement"}},
	})
	if s.ID == 0 || s.CreatedAt.IsZero() || s.CreatedAt.Location().String() != "UTC" {
		t.Fatalf("created supporter = %+v", s)
	}
	got, err := db.GetSupporterByEmail(ctx, "AMINA.K@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "amina.k@example.org" || got.FirstName != "Amina" || got.LastName != "Kaci" ||
		got.Country != "FR" || got.Language != "fr" || got.EmailStatus != crm.EmailOK {
		t.Errorf("stored supporter = %+v", got)
	}
	if want := []string{"bénévole", "presse"}; !reflect.DeepEqual(got.Tags, want) {
		t.Errorf("tags = %v, want %v", got.Tags, want)
	}
	if got.Attributes["pointure"] != "42" {
		t.Errorf("attributes = %v", got.Attributes)
	}
	if len(got.Interests) != 2 || got.Interests[0].Interest != "hebergement" ||
		got.Interests[1].Interest != "terrain" || got.Interests[1].Availability != "weekends" {
		t.Errorf("interests = %+v", got.Interests)
	}

	for _, email := range []string{"amina.k@example.org", "AMINA.K@EXAMPLE.ORG", "\u00a0amina.k@example.org"} {
		err := db.CreateSupporter(ctx, &crm.Supporter{Email: email})
		if !errors.Is(err, crm.ErrConflict) {
			t.Errorf("second create with %q: err = %v, want ErrConflict", email, err)
		}
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 1 {
		t.Errorf("count = %d after conflicts, want 1", n)
	}
}

func TestCreateSupporterInvalidWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	tests := []struct {
		name  string
		s     crm.Supporter
		field string
	}{
		{"bad email", crm.Supporter{Email: "nope"}, "email"},
		{"bad language", crm.Supporter{Email: "a@example.org", Language: "not a language"}, "language"},
		{"bad tag", crm.Supporter{Email: "a@example.org", Tags: []string{"a;b"}}, "tag"},
		{"unknown interest", crm.Supporter{Email: "a@example.org", Interests: []crm.SupporterInterest{{Interest: "astrologie"}}}, "interest"},
		{"empty attribute name", crm.Supporter{Email: "a@example.org", Attributes: map[string]string{" ": "x"}}, "attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.CreateSupporter(ctx, &tt.s)
			var ve *crm.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("err = %v, want ValidationError on %s", err, tt.field)
			}
			if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 0 {
				t.Errorf("count = %d, want 0: a rejected supporter was partly written", n)
			}
		})
	}
}

func TestUpdateSupporterChangesOnlyGivenFields(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := mustSupporter(t, db, &crm.Supporter{Email: "jo@example.org", FirstName: "Jo", City: "Liège",
		Phone: "0470 00 00 00", Tags: []string{"hebergeur"}, Attributes: map[string]string{"a": "1", "b": "2"},
		Interests: []crm.SupporterInterest{{Interest: "hebergement", Availability: "weekends"}}})
	mustSupporter(t, db, &crm.Supporter{Email: "other@example.org"})

	got, err := db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{
		City: ptr("Namur"), Phone: ptr(""), AddTags: []string{"presse"}, RemoveTags: []string{"HEBERGEUR"},
		SetAttributes:   map[string]string{"a": "", "c": "3"},
		SetInterests:    []crm.SupporterInterest{{Interest: "traduction", Availability: "soirs"}},
		RemoveInterests: []string{"hebergement"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := db.GetSupporter(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*crm.Supporter{got, reloaded} {
		if g.FirstName != "Jo" || g.City != "Namur" || g.Phone != "" || g.Email != "jo@example.org" {
			t.Errorf("fields after update = %+v", g)
		}
		if !reflect.DeepEqual(g.Tags, []string{"presse"}) {
			t.Errorf("tags = %v", g.Tags)
		}
		if !reflect.DeepEqual(g.Attributes, map[string]string{"b": "2", "c": "3"}) {
			t.Errorf("attributes = %v", g.Attributes)
		}
		if len(g.Interests) != 1 || g.Interests[0].Interest != "traduction" || g.Interests[0].Availability != "soirs" {
			t.Errorf("interests = %+v", g.Interests)
		}
		if !g.UpdatedAt.After(s.UpdatedAt) || !g.CreatedAt.Equal(s.CreatedAt) {
			t.Errorf("timestamps: created %v->%v updated %v->%v", s.CreatedAt, g.CreatedAt, s.UpdatedAt, g.UpdatedAt)
		}
	}

	// A conflicting or invalid update leaves everything as it was.
	for _, u := range []crm.SupporterUpdate{
		{Email: ptr("OTHER@example.org"), City: ptr("Lille")},
		{Email: ptr("broken"), City: ptr("Lille")},
		{City: ptr("Lille"), SetInterests: []crm.SupporterInterest{{Interest: "inconnu"}}},
	} {
		if _, err := db.UpdateSupporter(ctx, s.ID, u); err == nil {
			t.Errorf("update %+v succeeded", u)
		}
	}
	after, _ := db.GetSupporter(ctx, s.ID)
	if !reflect.DeepEqual(after, reloaded) {
		t.Errorf("failed updates changed the supporter:\n%+v\n%+v", reloaded, after)
	}
	if _, err := db.UpdateSupporter(ctx, 9999, crm.SupporterUpdate{City: ptr("x")}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("update of missing supporter: %v", err)
	}
}

func TestListAndCountSupporters(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for i, e := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"} {
		s := &crm.Supporter{Email: e}
		if i%2 == 0 {
			s.Tags = []string{"presse"}
			s.Interests = []crm.SupporterInterest{{Interest: "terrain"}}
		}
		mustSupporter(t, db, s)
	}
	page, total, err := db.ListSupporters(ctx, crm.SupporterFilter{Limit: 1, Offset: 1, Tag: ptr("Presse")})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(page) != 1 || page[0].Email != "c@example.org" || len(page[0].Tags) != 1 {
		t.Errorf("page = %+v, total %d", page, total)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{Interest: ptr("terrain")}); n != 2 {
		t.Errorf("count interest:terrain = %d", n)
	}
	if err := db.TagSupporter(ctx, page[0].ID, "urgent", "presse"); err != nil {
		t.Fatal(err)
	}
	if err := db.UntagSupporter(ctx, page[0].ID, "presse", "absent"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetSupporter(ctx, page[0].ID)
	if !reflect.DeepEqual(got.Tags, []string{"urgent"}) {
		t.Errorf("tags after tag/untag = %v", got.Tags)
	}
}

func TestInterests(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ins, err := db.Interests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	want := []string{"collecte", "hebergement", "juridique", "redaction", "reseaux", "terrain", "traduction", "transport"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("seeded interests = %v", names)
	}
	if err := db.AddInterest(ctx, &crm.Interest{Name: "Cuisine Collective", LabelFR: "Cuisine", LabelEN: "Cooking"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddInterest(ctx, &crm.Interest{Name: "cuisine-collective", LabelFR: "x", LabelEN: "y"}); !errors.Is(err, crm.ErrConflict) {
		t.Errorf("duplicate interest: %v", err)
	}
	if err := db.AddInterest(ctx, &crm.Interest{Name: "x", LabelFR: "x"}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("interest without English label: %v", err)
	}
	mustSupporter(t, db, &crm.Supporter{Email: "cook@example.org", Interests: []crm.SupporterInterest{{Interest: "cuisine-collective"}}})
}

func TestSupportersStreamsEveryPage(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var b strings.Builder
	b.WriteString("email,tags\n")
	for i := 0; i < 2500; i++ {
		tag := "a"
		if i%2 == 1 {
			tag = "b"
		}
		fmt.Fprintf(&b, "s%04d@example.org,%s\n", i, tag)
	}
	if _, err := db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var last int64
	n := 0
	for s, err := range db.Supporters(ctx, crm.SupporterFilter{Tag: ptr("b")}) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ID <= last || len(s.Tags) != 1 || s.Tags[0] != "b" {
			t.Fatalf("out of order or wrong supporter: %+v after %d", s, last)
		}
		last = s.ID
		n++
	}
	if n != 1250 {
		t.Errorf("streamed %d, want 1250", n)
	}
	for range db.Supporters(ctx, crm.SupporterFilter{}) {
		break // stopping early is fine
	}
}
