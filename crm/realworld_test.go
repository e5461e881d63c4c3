package crm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

// realWorldDir is the shared corpus of other tools' exports; it sits beside
// the repository in CI and is absent on a user's machine.
var realWorldDir = filepath.Join("..", "..", "shared", "realworld", "csv")

// Every file of the real-world corpus either imports with the expected
// counts or is refused with a clear message; none panics or half-writes.
func TestRealWorldSupporterFiles(t *testing.T) {
	if _, err := os.Stat(realWorldDir); err != nil {
		t.Skipf("real-world corpus not present (%v): it ships beside the repository in CI only", err)
	}
	type want struct {
		format        crm.ImportFormat
		rows, created int
		rejected      int
		refused       string // part of the error, when the file is refused
		bounced       int
	}
	wants := map[string]want{
		"mailchimp_ghost-migrate_subscribed.csv":                   {format: crm.FormatMailchimp, rows: 5, created: 5},
		"mailchimp_ghost-migrate_unsubscribed.csv":                 {format: crm.FormatMailchimp, rows: 5, created: 5},
		"mailchimp_ghost-migrate_cleaned.csv":                      {format: crm.FormatMailchimp, rows: 5, created: 5, bounced: 5},
		"listmonk_cypress-fixtures_subs.csv":                       {format: crm.FormatListmonk, rows: 100, created: 100},
		"listmonk_cypress-fixtures_subs-domain-blocklist.csv":      {format: crm.FormatListmonk, rows: 4, created: 4},
		"listmonk_import-ui-example.csv":                           {format: crm.FormatListmonk, rows: 2, created: 2},
		"beehiiv_ghost-migrate_members.csv":                        {format: crm.FormatGeneric, rows: 9, created: 9},
		"tinynews_ghost-migrate_subs-v1.csv":                       {format: crm.FormatGeneric, rows: 3, created: 3},
		"tinynews_ghost-migrate_subs-v2.csv":                       {format: crm.FormatGeneric, rows: 2, created: 2},
		"googleforms-sheets_gw-data-workshop_form-responses-1.csv": {refused: "no email column"},
		"helloasso_boutique-export-2025_HEADER-ONLY.csv":           {format: crm.FormatHelloAsso},
		"helloasso_adhesions-export-2019-legacy_HEADER-ONLY.csv":   {format: crm.FormatHelloAsso},
		"ghost-migrate_malformed-extra-field.csv":                  {format: crm.FormatGeneric, rows: 1, created: 1},
	}
	files, _ := filepath.Glob(filepath.Join(realWorldDir, "*.csv"))
	more, _ := filepath.Glob(filepath.Join(realWorldDir, "*", "*.csv"))
	more2, _ := filepath.Glob(filepath.Join(realWorldDir, "*", "*", "*.csv"))
	files = append(append(files, more...), more2...)
	if len(files) < 20 {
		t.Fatalf("only %d files in the corpus", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			db := openTest(t)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := db.ImportSupporters(context.Background(), f, crm.ImportOptions{FileName: name})
			n, _ := db.CountSupporters(context.Background(), crm.SupporterFilter{})
			w, known := wants[name]
			if err != nil {
				if n != 0 {
					t.Errorf("refused import left %d supporters", n)
				}
				if !errors.Is(err, crm.ErrInvalid) && !errors.Is(err, sheet.ErrNoHeader) {
					t.Errorf("refused with an unclear error: %v", err)
				}
				if known && (w.refused == "" || !strings.Contains(err.Error(), w.refused)) {
					t.Errorf("error %v, want %+v", err, w)
				}
				t.Logf("refused: %v", err)
				return
			}
			if known && w.refused != "" {
				t.Fatalf("imported, want refused with %q", w.refused)
			}
			if rep.Created+rep.Duplicates+rep.Rejected != rep.Rows || n != rep.Created {
				t.Errorf("counts do not add up: %+v, %d in the database", rep, n)
			}
			if known && (rep.Format != w.format || rep.Rows != w.rows || rep.Created != w.created ||
				rep.Rejected != w.rejected || rep.Bounced != w.bounced) {
				t.Errorf("got %s rows %d created %d rejected %d bounced %d, want %+v",
					rep.Format, rep.Rows, rep.Created, rep.Rejected, rep.Bounced, w)
			}
			t.Logf("%s %s: %d rows, %d created, %d merged, %d rejected %v", rep.Format, rep.Encoding, rep.Rows,
				rep.Created, rep.Duplicates, rep.Rejected, rep.Rejections)
		})
	}
}
