package crm

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/assocrm/assocrm/internal/dbutil"
)

//go:embed migrations/sqlite/*.sql migrations/pg/*.sql
var migrationFiles embed.FS

// migrationsTable is where bun's migrator records this package's
// migrations (and, with "_locks" appended, its lock). It carries the
// package name so that a service embedding several packages keeps their
// migrations apart.
const migrationsTable = "crm_migrations"

// DB is the supporter database. It is safe for concurrent use. Create it
// with Open or New; the zero value is not usable.
type DB struct {
	bun      *bun.DB
	owned    bool // Close closes the *bun.DB only when Open created it.
	now      func() time.Time
	logger   *slog.Logger
	readOnly bool
}

// Option configures a DB. Options validate their argument and make Open or
// New fail with ErrInvalid when it is unusable.
type Option func(*DB) error

// WithClock sets the function that gives the current time, so tests can
// control it. The default is time.Now. Times are stored in UTC whatever the
// clock's location.
func WithClock(now func() time.Time) Option {
	return func(db *DB) error {
		if now == nil {
			return invalid("WithClock", "", "nil clock")
		}
		db.now = now
		return nil
	}
}

// WithLogger sets where the package reports what it does: the migrations
// it applies, and a read (an export, a backup) whose audit entry could not
// be written. It never logs personal data: a supporter is named by
// id. Without it the package logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(db *DB) error {
		if l == nil {
			return invalid("WithLogger", "", "nil logger")
		}
		db.logger = l
		return nil
	}
}

// ReadOnly opens the database for reading only, for programs that only
// read (listings, counts, exports, audits, checks) and for files the user
// may not write (a read-only copy, a backup, a file on read-only media).
// Nothing is written: migrations are not applied, and Open fails with an
// error wrapping ErrSchemaTooOld when some are missing; reads that would
// record something (the audit entry of an export) skip it; writes fail.
//
// SQLite is opened with mode=ro and query_only, so the engine itself
// refuses any write; PostgreSQL sessions run with
// default_transaction_read_only on, so every transaction is READ ONLY.
// An embedder's *bun.DB given to New is not changed: open it read-only
// yourself, and pass ReadOnly so that New does not migrate.
func ReadOnly() Option {
	return func(db *DB) error {
		db.readOnly = true
		return nil
	}
}

// ReadOnly reports whether the database was opened with the ReadOnly
// option. Packages that build on crm (newsletter) check their own
// migrations instead of applying them when it is true.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Open opens the database at path and applies the embedded migrations. A
// path starting with postgres:// or postgresql:// is the DSN of a
// PostgreSQL database (one server that many processes share); anything
// else is the path of a SQLite file, created if needed, readable and
// writable by its owner only (0600, as are its -wal and -shm files). A
// file path is taken literally: '#', '%', '?' and spaces in it are part of
// the file's name, not URI syntax.
//
// SQLite is opened with a pure-Go driver, with WAL journaling, a 5 s busy
// timeout, foreign keys on and transactions that take the write lock when
// they begin, so concurrent writers queue instead of failing halfway.
// With ReadOnly, nothing is created, migrated or written.
//
// It returns an error wrapping ErrSchemaTooNew when the file was migrated
// by a newer version of this library, and, with ReadOnly, one wrapping
// ErrSchemaTooOld when it lacks migrations this one needs.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if strings.TrimSpace(path) == "" {
		return nil, invalid("path", path, "empty database path")
	}
	var cfg DB
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if IsPostgresDSN(path) {
		connOpts := []pgdriver.Option{pgdriver.WithDSN(path)}
		if cfg.readOnly {
			// Added to the DSN's own parameters (search_path...), which
			// WithConnParams would replace.
			connOpts = append(connOpts, func(c *pgdriver.Config) {
				params := maps.Clone(c.ConnParams)
				if params == nil {
					params = map[string]any{}
				}
				params["default_transaction_read_only"] = "on"
				c.ConnParams = params
			})
		}
		sqldb := sql.OpenDB(pgdriver.NewConnector(connOpts...))
		db, err := newDB(ctx, bun.NewDB(sqldb, pgdialect.New()), true, opts)
		if err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("open PostgreSQL database: %w", err)
		}
		return db, nil
	}
	dsn := sqliteDSN(path)
	if cfg.readOnly {
		// SQLite would say "unable to open database file (14)".
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open %s read-only: %w", path, err)
		}
		var err error
		if dsn, err = sqliteReadOnlyDSN(ctx, path); err != nil {
			return nil, fmt.Errorf("open %s read-only: %w", path, err)
		}
	} else if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Opening a SQLite connection runs the pragmas and reads the schema:
	// keep a few idle ones instead of opening one per query.
	sqldb.SetMaxIdleConns(8)
	bdb := bun.NewDB(sqldb, sqlitedialect.New())
	db, err := newDB(ctx, bdb, true, opts)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// createPrivate creates path as an empty file (which SQLite takes as an
// empty database) readable and writable by its owner only, whatever the
// umask, when it does not exist yet. SQLite gives the -wal and -shm files
// it makes beside a database the database file's mode, so they are
// private too. A file that exists keeps the mode its owner chose.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		// It exists, or can't be created here (a missing or read-only
		// folder): SQLite opens it or reports why it can't, as before.
		return nil
	}
	defer f.Close()
	// The umask can only take bits away; Chmod makes it exactly 0600.
	return f.Chmod(0o600)
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database rather
// than a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// sqliteDSN turns a file path into a modernc DSN with the pragmas the
// package relies on. The _pragma= form is the one modernc honours.
//
// The DSN is a SQLite URI ("file:PATH?QUERY"): modernc splits it at its
// first '?' to read its own parameters, and SQLite then reads the path up
// to the first '?' or '#', percent-decoding it. So the path is written
// with every byte that could end it or be decoded ('?', '#', '%', and
// anything but unreserved characters) percent-encoded: "asso#2026.db"
// opens that file, not "asso".
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Deleted content is overwritten with zeros, so an erased person leaves
	// no bytes behind in free pages.
	q.Add("_pragma", "secure_delete(1)")
	q.Set("_txlock", "immediate")
	return "file:" + uriPath(path) + "?" + q.Encode()
}

// sqliteReadOnlyDSN is sqliteDSN for ReadOnly: SQLite opens the file
// with mode=ro, and query_only makes it refuse any write on the
// connection, even from a user (root) whom the file's mode would not
// stop. Transactions are deferred: an immediate one takes the write lock.
// The journal mode is left as the file has it.
//
// A WAL database needs its -shm (and -wal) files to be read. When they
// do not exist and the folder is not writable, SQLite cannot create them
// and refuses the file (SQLITE_READONLY_DIRECTORY or CANTOPEN): the file
// is then opened immutable, as SQLite documents for read-only media. That
// is safe because no writer is at work (a WAL writer keeps a -wal file
// beside the database, and none is there), and a command that only reads
// is short; a writer that would start meanwhile is not seen.
func sqliteReadOnlyDSN(ctx context.Context, path string) (string, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "query_only(1)")
	dsn := "file:" + uriPath(path) + "?" + q.Encode()
	probe, err := sql.Open("sqlite", dsn)
	if err != nil {
		return "", err
	}
	defer probe.Close()
	var n int
	err = probe.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return dsn, err
	}
	if code := se.Code(); code != sqlite3.SQLITE_READONLY_DIRECTORY && code&0xff != sqlite3.SQLITE_CANTOPEN {
		return "", err
	}
	if _, werr := os.Stat(path + "-wal"); !errors.Is(werr, fs.ErrNotExist) {
		return "", err
	}
	q.Set("immutable", "1")
	return "file:" + uriPath(path) + "?" + q.Encode(), nil
}

// uriPath escapes a file path for the path part of a SQLite URI. A path
// starting with "//" would read as a URI authority (a host name): it is
// cleaned to one slash first, which names the same file.
func uriPath(path string) string {
	if strings.HasPrefix(path, "//") {
		path = filepath.Clean(path)
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/', c == ':':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// New wraps a *bun.DB the caller already has and applies the embedded
// migrations (with ReadOnly, only checks them, as Open does). The caller keeps ownership: Close does not close it. For
// SQLite, open it with foreign keys on and immediate transactions, as Open
// does.
func New(ctx context.Context, bdb *bun.DB, opts ...Option) (*DB, error) {
	if bdb == nil {
		return nil, invalid("db", "", "nil *bun.DB")
	}
	return newDB(ctx, bdb, false, opts)
}

func newDB(ctx context.Context, bdb *bun.DB, owned bool, opts []Option) (*DB, error) {
	db := &DB{bun: bdb, owned: owned, now: time.Now}
	for _, opt := range opts {
		if err := opt(db); err != nil {
			return nil, err
		}
	}
	if db.readOnly {
		err := dbutil.CheckMigrations(ctx, bdb, dbutil.MigrationFiles(migrationFiles, bdb.Dialect()), migrationsTable)
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// Now returns the current time from the configured clock, in UTC.
func (db *DB) Now() time.Time { return db.now().UTC() }

// Close closes the database if Open created it.
func (db *DB) Close() error {
	if db.owned {
		return db.bun.Close()
	}
	return nil
}

// SchemaVersion returns the name of the newest migration applied to the
// database, and the newest one this program knows.
func (db *DB) SchemaVersion(ctx context.Context) (applied, known string, err error) {
	return dbutil.SchemaVersion(ctx, db.bun, dbutil.MigrationFiles(migrationFiles, db.bun.Dialect()), migrationsTable)
}

func (db *DB) migrate(ctx context.Context) error {
	group, err := dbutil.ApplyMigrations(ctx, db.bun, dbutil.MigrationFiles(migrationFiles, db.bun.Dialect()), migrationsTable)
	if err != nil {
		return err
	}
	if db.logger != nil && group > 0 {
		db.logger.InfoContext(ctx, "crm: applied migrations", "group", group)
	}
	return nil
}

// inTx runs fn in a transaction that commits only if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return db.bun.RunInTx(ctx, nil, fn)
}

// isUniqueViolation reports whether err is the engine's unique-constraint
// error, read from its code and never from its message.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C') == "23505" // unique_violation
	}
	return false
}

// isSQLite reports whether the database is SQLite, for the few statements
// (PRAGMAs, VACUUM INTO) that only it has.
func (db *DB) isSQLite() bool { return db.bun.Dialect().Name() == dialect.SQLite }
