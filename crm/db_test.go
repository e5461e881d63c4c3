package crm_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// TestOpenPathWithURICharacters opens databases whose names hold the
// characters a SQLite URI or modernc's DSN parsing give a meaning to: each
// must create and reopen the file named, and no other.
func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	names := []string{
		"asso#2026.db",
		"100%.db",
		"a%23b.db", // a literal %23, not a '#'
		"what?.db",
		"x?mode=ro&_pragma=query_only(1).db",
		"with space.db",
		"adhérents 2026 – été.db",
		"plus+and&amp;=.db",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			db, err := crm.Open(ctx, path)
			if err != nil {
				t.Fatalf("open %q: %v", name, err)
			}
			if err := db.CreateSupporter(ctx, &crm.Supporter{Email: "ann@example.org"}); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if !slices.Equal(got, []string{name}) {
				t.Fatalf("files in the folder = %q, want only %q", got, name)
			}
			db, err = crm.Open(ctx, path)
			if err != nil {
				t.Fatalf("reopen %q: %v", name, err)
			}
			defer db.Close()
			if n, err := db.CountSupporters(ctx, crm.SupporterFilter{}); err != nil || n != 1 {
				t.Fatalf("reopened %q: %d supporters, %v; want 1", name, n, err)
			}
		})
	}
}
