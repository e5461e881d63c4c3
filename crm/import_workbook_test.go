package crm_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

// TestImportWorkbooks imports the LibreOffice-made workbooks of
// crm/sheet/testdata (see its README.md) as a person would: sheet
// Adhérents as supporters, sheet Dons as donations, from the .xlsx, the
// .ods and the flat .fods alike.
func TestImportWorkbooks(t *testing.T) {
	ctx := context.Background()
	for _, file := range []string{"adherents-libreoffice.xlsx", "adherents-libreoffice.ods", "adherents-libreoffice.fods"} {
		data, err := os.ReadFile(filepath.Join("sheet", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"", "Adhérents"} {
			t.Run(file+"/"+name, func(t *testing.T) {
				db := openTest(t)
				// "cuisine" is not one of the built-in interests.
				if err := db.AddInterest(ctx, &crm.Interest{Name: "cuisine", LabelFR: "Cuisine", LabelEN: "Cooking"}); err != nil {
					t.Fatal(err)
				}
				rep, err := db.ImportSupporters(ctx, bytes.NewReader(data), crm.ImportOptions{FileName: file, Sheet: name})
				if err != nil {
					t.Fatal(err)
				}
				wantFormat := strings.TrimPrefix(filepath.Ext(file), ".")
				if wantFormat == "fods" {
					wantFormat = "ods"
				}
				if rep.FileFormat != wantFormat || rep.Sheet != "Adhérents" || rep.Encoding != "" || rep.Delimiter != "" {
					t.Errorf("file info %+v", rep.FileInfo)
				}
				// 10 rows (the title, the header and the empty row are
				// not data): 7 people, the second Ana merged, 2 rejected.
				if rep.Rows != 10 || rep.Created != 7 || rep.Duplicates != 1 || rep.Rejected != 2 {
					t.Errorf("report: %d rows, %d created, %d merged, %d rejected: %v", rep.Rows, rep.Created, rep.Duplicates,
						rep.Rejected, rep.Rejections)
				}
				if len(rep.Rejections) != 2 || rep.Rejections[0].Line != 13 || rep.Rejections[1].Line != 14 ||
					rep.Rejections[1].Value != "pas-une-adresse" {
					t.Errorf("rejections %v, want lines 13 (no email) and 14 (invalid address)", rep.Rejections)
				}
				zoe, err := db.GetSupporterByEmail(ctx, "zoe.lefevre@example.org")
				if err != nil {
					t.Fatal(err)
				}
				if zoe.Phone != "0612345678" || zoe.Postcode != "62100" || zoe.FirstName != "Zoé" ||
					zoe.Attributes["Date d'adhésion"] != "2025-01-14" || zoe.Attributes["Cotisation (€)"] != "15.5" {
					t.Errorf("Zoé: phone %q postcode %q first name %q attributes %v", zoe.Phone, zoe.Postcode, zoe.FirstName, zoe.Attributes)
				}
				ana, err := db.GetSupporterByEmail(ctx, "ana.martins@example.org")
				if err != nil {
					t.Fatal(err)
				}
				if ana.Postcode != "4000" || ana.City != "Liège" || len(ana.Interests) != 2 {
					t.Errorf("Ana: postcode %q city %q interests %v", ana.Postcode, ana.City, ana.Interests)
				}
				for _, email := range []string{"lan.nguyen@example.org", "soren.o@example.org", "fatou.ndiaye@example.org"} {
					if _, err := db.GetSupporterByEmail(ctx, email); err != nil {
						t.Errorf("%s: %v", email, err)
					}
				}

				drep, err := db.ImportDonations(ctx, bytes.NewReader(data), crm.DonationImportOptions{FileName: file, Sheet: "dons"})
				if err != nil {
					t.Fatal(err)
				}
				if drep.Sheet != "Dons" || drep.Rows != 4 || drep.Created != 4 || drep.SupportersCreated != 0 || drep.Rejected != 0 {
					t.Errorf("donations report %+v", drep)
				}
				ds, err := db.ListDonations(ctx, crm.DonationFilter{})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, d := range ds {
					got[d.Email] = d.ReceivedAt.Format(time.DateOnly) + " " + crm.FormatAmount(d.Amount, d.Currency)
				}
				want := map[string]string{
					"zoe.lefevre@example.org":  "2025-01-10 50.00",
					"fatou.ndiaye@example.org": "2025-03-02 120.50",
					"ana.martins@example.org":  "2025-12-24 35.00",
					"karim.benali@example.org": "2026-01-05 1000.00",
				}
				for email, w := range want {
					if !strings.HasPrefix(got[email], w) {
						t.Errorf("donation of %s: %q, want %q", email, got[email], w)
					}
				}
			})
		}
	}
}

// TestImportWorkbookErrors: the reader's errors reach the caller as they
// are, so that it can tell them apart.
func TestImportWorkbookErrors(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	data, err := os.ReadFile(filepath.Join("sheet", "testdata", "adherents-libreoffice.ods"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ImportSupporters(ctx, bytes.NewReader(data), crm.ImportOptions{Sheet: "Donz"})
	var nf *sheet.SheetNotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), `"Adhérents", "Dons"`) {
		t.Errorf("unknown sheet: %v", err)
	}
	_, err = db.ImportDonations(ctx, bytes.NewReader(data[:len(data)/3]), crm.DonationImportOptions{})
	if !errors.Is(err, sheet.ErrCorrupt) {
		t.Errorf("truncated workbook: %v", err)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 0 {
		t.Errorf("%d supporters after failed imports", n)
	}
}

// TestImportSerialDate: a date cell left in the General format reaches
// the import as the spreadsheet's serial number, which is read as the
// date it is.
func TestImportSerialDate(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	csv := "email,amount,date\na@example.org,10,46000\nb@example.org,5,46000.75\nc@example.org,5,2026\n"
	rep, err := db.ImportDonations(ctx, strings.NewReader(csv), crm.DonationImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 2 || rep.Rejected != 1 || rep.Rejections[0].Line != 4 {
		t.Errorf("report %+v: want the year 2026 alone rejected", rep)
	}
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"46000", time.Date(2025, 12, 9, 0, 0, 0, 0, time.UTC), true},
		{"46000.5", time.Date(2025, 12, 9, 12, 0, 0, 0, time.UTC), true},
		{"45671.3125", time.Date(2025, 1, 14, 7, 30, 0, 0, time.UTC), true},
		{"2026-12-05 07:30:00", time.Date(2026, 12, 5, 7, 30, 0, 0, time.UTC), true},
		{"2026", time.Time{}, false},
		{"100000", time.Time{}, false},
		{"46000,5", time.Time{}, false},
	} {
		got, err := crm.ParseDate(c.in, time.UTC)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	// In Paris, a serial day is a calendar day, across the change of time.
	paris, _ := time.LoadLocation("Europe/Paris")
	if got, err := crm.ParseDate("45746.5", paris); err != nil || !got.Equal(time.Date(2025, 3, 30, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseDate(45746.5, Paris) = %v, %v; want noon in Paris on 2025-03-30 (summer time)", got, err)
	}
}
