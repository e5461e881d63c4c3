package crm_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// FuzzImportSupporters feeds arbitrary bytes to the reader and the column
// mapper. The import must never panic, its counts must add up, and every
// supporter it writes must be whole: a normalised address and the
// defaults filled in. Run it with
//
//	go test ./crm -run '^$' -fuzz FuzzImportSupporters -fuzztime 60s
func FuzzImportSupporters(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("email;tags;intérêts\r\na@example.org;\"x,y\";terrain\r\n"))
	f.Add([]byte("\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00"))
	ctx := context.Background()
	db := openTest(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := db.CountSupporters(ctx, crm.SupporterFilter{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := db.ImportSupporters(ctx, bytes.NewReader(data), crm.ImportOptions{FileName: "fuzz.csv", BatchSize: 3})
		after, _ := db.CountSupporters(ctx, crm.SupporterFilter{})
		if err != nil {
			if after != before {
				t.Fatalf("failed import changed the count from %d to %d: %v", before, after, err)
			}
			return
		}
		if rep.Created+rep.Updated+rep.Unchanged+rep.Duplicates+rep.Rejected != rep.Rows {
			t.Fatalf("counts do not add up: %+v", rep)
		}
		if after-before != rep.Created {
			t.Fatalf("created %d but the count went from %d to %d", rep.Created, before, after)
		}
		ss, _, err := db.ListSupporters(ctx, crm.SupporterFilter{Offset: before})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if e, err := crm.NormalizeEmail(s.Email); err != nil || e != s.Email || s.Language == "" || s.EmailStatus == "" {
				t.Fatalf("half-written supporter %+v (%v)", s, err)
			}
		}
	})
}
