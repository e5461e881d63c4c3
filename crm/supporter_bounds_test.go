package crm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// Notes, attribute values and the number of attributes are bounded, with
// an error naming the field and not echoing a megabyte value; the bounds
// themselves are accepted.
func TestSupporterBounds(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("col%d", i)] = "x"
		}
		return m
	}
	tests := []struct {
		name  string
		s     crm.Supporter
		field string // "" when accepted
	}{
		{"10 MB note", crm.Supporter{Notes: strings.Repeat("a", 10<<20)}, "notes"},
		{"note at the bound", crm.Supporter{Notes: strings.Repeat("é", crm.MaxNotesLength)}, ""},
		{"note one over", crm.Supporter{Notes: strings.Repeat("é", crm.MaxNotesLength+1)}, "notes"},
		{"attribute value at the bound", crm.Supporter{Attributes: map[string]string{"k": strings.Repeat("ü", crm.MaxAttributeValueLength)}}, ""},
		{"attribute value one over", crm.Supporter{Attributes: map[string]string{"k": strings.Repeat("ü", crm.MaxAttributeValueLength+1)}}, "attr.k"},
		{"attribute name too long", crm.Supporter{Attributes: map[string]string{strings.Repeat("k", crm.MaxAttributeKeyLength+1): "v"}}, "attribute"},
		{"as many attributes as allowed", crm.Supporter{Attributes: many(crm.MaxAttributes)}, ""},
		{"one attribute too many", crm.Supporter{Attributes: many(crm.MaxAttributes + 1)}, "attributes"},
		{"100,000 attributes", crm.Supporter{Attributes: many(100000)}, "attributes"},
		{"10 MB first name", crm.Supporter{FirstName: strings.Repeat("a", 10<<20)}, "first_name"},
	}
	for i, tt := range tests {
		s := tt.s
		s.Email = fmt.Sprintf("b%d@example.org", i)
		err := db.CreateSupporter(ctx, &s)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ve *crm.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: error %v, want a validation error on %s", tt.name, err, tt.field)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("%s: the error is %d bytes long", tt.name, len(err.Error()))
		}
		if _, err := db.GetSupporterByEmail(ctx, s.Email); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("%s: the supporter was stored (%v)", tt.name, err)
		}
	}

	// An update is bounded the same way and leaves the supporter as it was.
	s := mustSupporter(t, db, &crm.Supporter{Email: "u@example.org", Notes: "court", Attributes: many(crm.MaxAttributes)})
	if _, err := db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{Notes: ptr(strings.Repeat("n", crm.MaxNotesLength+1))}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("update with a long note: %v", err)
	}
	if _, err := db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{SetAttributes: map[string]string{"one-more": "v"}}); !errors.Is(err, crm.ErrInvalid) ||
		!strings.Contains(err.Error(), "attributes") {
		t.Errorf("update over the attribute count: %v", err)
	}
	got, _ := db.GetSupporter(ctx, s.ID)
	if got.Notes != "court" || len(got.Attributes) != crm.MaxAttributes {
		t.Errorf("after refused updates: notes %q, %d attributes", got.Notes, len(got.Attributes))
	}
}

// An import row over a bound is a rejected row naming the column (or
// "attributes"), and the other rows go in; a sheet with more columns than
// the attribute bound is rejected row by row, not fatally.
func TestImportBounds(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	in := "email,notes,pointure\n" +
		"ok@example.org,court,42\n" +
		"longnote@example.org," + strings.Repeat("n", crm.MaxNotesLength+1) + ",41\n" +
		"longattr@example.org,court," + strings.Repeat("4", crm.MaxAttributeValueLength+1) + "\n"
	rep, err := db.ImportSupporters(ctx, strings.NewReader(in), crm.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1 || rep.Rejected != 2 || len(rep.Rejections) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if r := rep.Rejections[0]; r.Line != 3 || r.Column != "notes" || len(r.Value) > 100 || !strings.Contains(r.Reason, "10000") {
		t.Errorf("note rejection = %+v", r)
	}
	if r := rep.Rejections[1]; r.Line != 4 || r.Column != "pointure" || !strings.Contains(r.Reason, "1000") {
		t.Errorf("attribute rejection = %+v", r)
	}

	var b strings.Builder
	b.WriteString("email")
	for i := 0; i < 2*crm.MaxAttributes; i++ {
		fmt.Fprintf(&b, ",q%d", i)
	}
	b.WriteString("\n")
	for _, e := range []string{"w1@example.org", "w2@example.org"} {
		b.WriteString(e + strings.Repeat(",x", 2*crm.MaxAttributes) + "\n")
	}
	rep, err = db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{})
	if err != nil {
		t.Fatalf("a wide sheet is a fatal error: %v", err)
	}
	if rep.Created != 0 || rep.Rejected != 2 || rep.Rejections[0].Column != "attributes" {
		t.Errorf("wide sheet report = %+v", rep)
	}
}

// Rows that each fit, but add up past MaxAttributes for one person (two
// imports, or two rows of one file), are rejected, not merged past the
// bound; the rejection keeps the row's cells for the rejects file.
func TestImportMergeKeepsTheAttributeBound(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	wide := func(prefix string, emails ...string) string {
		var b strings.Builder
		b.WriteString("email")
		for i := range crm.MaxAttributes {
			fmt.Fprintf(&b, ",%s%d", prefix, i)
		}
		b.WriteString("\n")
		for _, e := range emails {
			b.WriteString(e + strings.Repeat(",x", crm.MaxAttributes) + "\n")
		}
		return b.String()
	}
	if _, err := db.ImportSupporters(ctx, strings.NewReader(wide("a", "wide@example.org")), crm.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var cells []string
	rep, err := db.ImportSupporters(ctx, strings.NewReader(wide("b", "wide@example.org")),
		crm.ImportOptions{OnReject: func(r crm.Rejection) { cells = r.Record }})
	if err != nil || rep.Rejected != 1 || rep.Rejections[0].Column != "attributes" {
		t.Fatalf("second import: %+v, %v", rep, err)
	}
	if len(cells) != crm.MaxAttributes+1 || cells[0] != "wide@example.org" {
		t.Errorf("the rejected row's cells: %q", cells)
	}
	s, err := db.GetSupporterByEmail(ctx, "wide@example.org")
	if err != nil || len(s.Attributes) != crm.MaxAttributes {
		t.Fatalf("%d attributes stored, %v", len(s.Attributes), err)
	}
	if err := db.TagSupporter(ctx, s.ID, "x"); err != nil {
		t.Errorf("the supporter can no longer be edited: %v", err)
	}

	// Two rows of one file: the second, with other columns, is rejected.
	in := wide("c", "twice@example.org") + "twice@example.org" + strings.Repeat(",", crm.MaxAttributes) + ",y\n"
	in = strings.Replace(in, "\n", ",extra\n", 1) // one more column, only the second row fills it
	rep, err = db.ImportSupporters(ctx, strings.NewReader(in), crm.ImportOptions{})
	if err != nil || rep.Created != 1 || rep.Rejected != 1 || rep.Rejections[0].Line != 3 {
		t.Fatalf("one file: %+v, %v", rep, err)
	}
	if s, _ := db.GetSupporterByEmail(ctx, "twice@example.org"); len(s.Attributes) != crm.MaxAttributes {
		t.Errorf("%d attributes stored", len(s.Attributes))
	}
}
