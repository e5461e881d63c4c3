package crm_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// readOnlyDSN makes the database at dsn read-only for the rest of the
// test, as a user meets it, and returns the DSN to open it with: a SQLite
// file and its folder lose their write bits (which do not stop root, so
// tests also compare the file's bytes); PostgreSQL sessions are made read
// only by the server (default_transaction_read_only, set at connection
// start from the DSN), whatever crm asks.
func readOnlyDSN(t *testing.T, dsn string) string {
	t.Helper()
	if crm.IsPostgresDSN(dsn) {
		return dsn + "&default_transaction_read_only=on"
	}
	dir := filepath.Dir(dsn)
	if err := os.Chmod(dsn, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Chmod(dir, 0o700)
		os.Chmod(dsn, 0o600)
	})
	return dsn
}

// fileSum returns a hash of a SQLite file's bytes, or "" for PostgreSQL.
func fileSum(t *testing.T, dsn string) string {
	t.Helper()
	if crm.IsPostgresDSN(dsn) {
		return ""
	}
	b, err := os.ReadFile(dsn)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return string(sum[:])
}

// TestReadOnlyDatabase opens a read-only database with crm.ReadOnly and
// runs every read the CLI's read commands make (list, count, show,
// export, audit, check, the erased-address check): all work, and nothing
// is written, not even the audit entry of the export.
func TestReadOnlyDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := crmtest.Database(t)
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	ann := mustSupporter(t, db, &crm.Supporter{Email: "ann@example.org", FirstName: "Ann"})
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: ann.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI, Text: "yes"}, Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddDonation(ctx, &crm.Donation{SupporterID: ann.ID, Amount: 1500, Currency: "EUR",
		ReceivedAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Method: crm.MethodCash}); err != nil {
		t.Fatal(err)
	}
	mustSupporter(t, db, &crm.Supporter{Email: "bob@example.org"})
	if err := db.Forget(ctx, "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	entries, err := db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	ro := readOnlyDSN(t, dsn)
	before := fileSum(t, dsn)
	rdb, err := crm.Open(ctx, ro, crm.ReadOnly())
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	if !rdb.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	if n, err := rdb.CountSupporters(ctx, crm.SupporterFilter{}); err != nil || n != 1 {
		t.Errorf("count: %d, %v; want 1 (the erased one is not counted)", n, err)
	}
	if list, _, err := rdb.ListSupporters(ctx, crm.SupporterFilter{}); err != nil || len(list) != 1 {
		t.Errorf("list: %d, %v; want 1", len(list), err)
	}
	if _, err := rdb.SupporterID(ctx, "ann@example.org"); err != nil {
		t.Errorf("supporter id: %v", err)
	}
	if p, err := rdb.GetProfile(ctx, "ann@example.org"); err != nil || p.Supporter.FirstName != "Ann" {
		t.Errorf("show: %+v, %v", p, err)
	}
	if x, err := rdb.ExportSupporter(ctx, "ann@example.org"); err != nil || len(x.Donations) != 1 || len(x.Subscriptions) != 1 {
		t.Errorf("export: %+v, %v", x, err)
	}
	if got, err := rdb.AuditLog(ctx, crm.AuditFilter{}); err != nil || len(got) != len(entries) {
		t.Errorf("audit: %d entries, %v; want the %d written before (an export on a read-only database records none)",
			len(got), err, len(entries))
	}
	if r, err := rdb.Check(ctx); err != nil || r.Integrity != "ok" || r.SchemaApplied != r.SchemaKnown {
		t.Errorf("check: %+v, %v", r, err)
	}
	for email, want := range map[string]bool{"bob@example.org": true, "ann@example.org": false, "new@example.org": false} {
		if erased, err := rdb.IsErased(ctx, email); err != nil || erased != want {
			t.Errorf("IsErased(%s) = %v, %v; want %v", email, erased, err, want)
		}
	}
	if err := rdb.CreateSupporter(ctx, &crm.Supporter{Email: "carl@example.org"}); err == nil {
		t.Error("a write on a read-only database succeeded")
	}
	rdb.Close()
	if fileSum(t, dsn) != before {
		t.Error("the read-only database file changed")
	}
}

// TestReadOnlyBeforeAnyErasure checks the erased-address check on a
// database where nothing was ever erased: it used to create the hash key
// there, a write.
func TestReadOnlyBeforeAnyErasure(t *testing.T) {
	ctx := context.Background()
	dsn := crmtest.Database(t)
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	rdb, err := crm.Open(ctx, readOnlyDSN(t, dsn), crm.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if erased, err := rdb.IsErased(ctx, "ann@example.org"); err != nil || erased {
		t.Errorf("IsErased = %v, %v; want false, nil", erased, err)
	}
}

// TestReadOnlyOlderSchema opens read-only a database that misses this
// program's newest migration: a clear error saying what to do, and no
// migration attempted.
func TestReadOnlyOlderSchema(t *testing.T) {
	ctx := context.Background()
	dsn := crmtest.Database(t)
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil || applied != known {
		t.Fatal(applied, known, err)
	}
	if _, err := dbutil.DB(db).NewDelete().TableExpr("crm_migrations").Where("name = ?", known).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	older, _, _ := db.SchemaVersion(ctx)
	db.Close()
	ro := readOnlyDSN(t, dsn)
	before := fileSum(t, dsn)
	_, err = crm.Open(ctx, ro, crm.ReadOnly())
	if !errors.Is(err, crm.ErrSchemaTooOld) {
		t.Fatalf("open = %v, want ErrSchemaTooOld", err)
	}
	want := "schema version " + older + ", this program needs " + known + ": open it once writable to migrate"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if fileSum(t, dsn) != before {
		t.Error("the read-only database file changed")
	}
}

// TestReadOnlyMissingFile: opening read-only creates nothing.
func TestReadOnlyMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.db")
	_, err := crm.Open(context.Background(), path, crm.ReadOnly())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the file was created: %v", err)
	}
}
