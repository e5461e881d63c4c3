package dbutil

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
	"github.com/uptrace/bun/schema"
)

// The errors crm exports as crm.ErrSchemaTooNew and crm.ErrSchemaTooOld:
// declared here, where the migrations are checked, so that a package
// built on crm returns the same values for its own tables.
var (
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
	ErrSchemaTooOld = errors.New("database schema is older than this program")
)

// MigrationFiles returns the migrations of one engine's folder of files,
// "migrations/sqlite" or "migrations/pg", as bun's migrate package reads
// them.
func MigrationFiles(files embed.FS, d schema.Dialect) fs.FS {
	dir := "migrations/sqlite"
	if d.Name() == dialect.PG {
		dir = "migrations/pg"
	}
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the folder is embedded
	}
	return sub
}

func discover(files fs.FS) (*migrate.Migrations, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(files); err != nil {
		return nil, err
	}
	return ms, nil
}

func migrator(bdb *bun.DB, files fs.FS, table string) (*migrate.Migrator, error) {
	ms, err := discover(files)
	if err != nil {
		return nil, err
	}
	return migrate.NewMigrator(bdb, ms,
		migrate.WithTableName(table),
		migrate.WithLocksTableName(table+"_locks"),
		migrate.WithMarkAppliedOnSuccess(true),
	), nil
}

// SchemaVersion returns the newest migration of files applied to bdb, as
// recorded in table, and the newest one files holds.
func SchemaVersion(ctx context.Context, bdb *bun.DB, files fs.FS, table string) (applied, known string, err error) {
	m, err := migrator(bdb, files, table)
	if err != nil {
		return "", "", err
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return "", "", err
	}
	for _, mig := range ms {
		if mig.GroupID != 0 {
			applied = mig.Name
		}
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].Name
	}
	return applied, known, nil
}

// ApplyMigrations applies the bun migrations embedded in files (*.up.sql
// and *.down.sql at its root) to bdb, recording them in table: crm calls
// it with its files and table, newsletter with its own. It refuses a
// database that has migrations files does not know (ErrSchemaTooNew), and
// applies what is missing under bun's migration lock so two processes
// opening a fresh file at once do not both run the same migration. It
// returns the id of the group it applied, or 0.
func ApplyMigrations(ctx context.Context, bdb *bun.DB, files fs.FS, table string) (int64, error) {
	m, err := migrator(bdb, files, table)
	if err != nil {
		return 0, err
	}
	if err := m.Init(ctx); err != nil {
		return 0, fmt.Errorf("migrate: init: %w", err)
	}
	unknown, err := m.MissingMigrations(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if len(unknown) > 0 {
		return 0, fmt.Errorf("migration %s is not known to this program (upgrade it): %w",
			unknown[0].Name, ErrSchemaTooNew)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if len(ms.Unapplied()) == 0 {
		return 0, nil
	}
	if err := lockMigrations(ctx, m, table+"_locks"); err != nil {
		return 0, err
	}
	defer m.Unlock(context.WithoutCancel(ctx))
	group, err := m.Migrate(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return group.ID, nil
}

// CheckMigrations is ApplyMigrations for a database opened read-only: it
// writes nothing, and returns an error wrapping ErrSchemaTooOld, which
// tells the user what to do, when some of the migrations in files are
// not applied to bdb (or ErrSchemaTooNew when bdb has some that files
// does not know).
func CheckMigrations(ctx context.Context, bdb *bun.DB, files fs.FS, table string) error {
	ms, err := discover(files)
	if err != nil {
		return err
	}
	sorted := ms.Sorted()
	need := "none"
	if len(sorted) > 0 {
		need = sorted[len(sorted)-1].Name
	}
	exists, err := tableExists(ctx, bdb, table)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if !exists {
		if len(sorted) == 0 {
			return nil
		}
		return fmt.Errorf("schema version none, this program needs %s: open it once writable to create it: %w",
			need, ErrSchemaTooOld)
	}
	applied, known, err := SchemaVersion(ctx, bdb, files, table)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	m, err := migrator(bdb, files, table)
	if err != nil {
		return err
	}
	unknown, err := m.MissingMigrations(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("migration %s is not known to this program (upgrade it): %w",
			unknown[0].Name, ErrSchemaTooNew)
	}
	status, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(status.Unapplied()) > 0 {
		if applied == "" {
			applied = "none"
		}
		return fmt.Errorf("schema version %s, this program needs %s: open it once writable to migrate: %w",
			applied, known, ErrSchemaTooOld)
	}
	return nil
}

// tableExists reports whether the table bun's migrator would use exists
// (in the current schema, on PostgreSQL), without creating it.
func tableExists(ctx context.Context, bdb *bun.DB, table string) (bool, error) {
	q := bdb.NewSelect().TableExpr("sqlite_master").Where("type = 'table'").Where("name = ?", table)
	if bdb.Dialect().Name() == dialect.PG {
		q = bdb.NewSelect().TableExpr("information_schema.tables").
			Where("table_schema = current_schema()").Where("table_name = ?", table)
	}
	return q.Exists(ctx)
}

// lockMigrations waits up to 30 s for another process's migration to end.
func lockMigrations(ctx context.Context, m *migrate.Migrator, locks string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrate: another process holds the migration lock "+
				"(if none is running, a crashed one left it: delete the row in %s): %w", locks, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
