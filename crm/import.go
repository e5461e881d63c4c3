package crm

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// ImportOptions configures ImportSupporters. The zero value detects
// everything and only creates or completes supporters.
type ImportOptions struct {
	Format    ImportFormat      // "" or FormatAuto recognises the export from its header
	Delimiter rune              // 0 sniffs , ; TAB or |
	Encoding  string            // "" detects; see sheet.Options
	Sheet     string            // a workbook's sheet, by name or 1-based number; "" the first with a non-empty cell
	Map       map[string]string // header → field, winning over the built-in synonyms
	// FileName names the file in consent events ("import:<FileName>")
	// and as the source of new supporters of a generic file.
	FileName string
	// List subscribes every imported supporter to this list, recording
	// Consent as what they agreed to. Someone who unsubscribed, bounced
	// or complained is never resubscribed.
	List    string
	Consent string
	Tags    []string // added to every imported supporter
	// Overwrite lets non-empty values of the file replace stored ones;
	// without it they only fill empty fields. Empty cells never erase.
	Overwrite     bool
	IgnoreUnknown bool // drop unknown columns instead of keeping them as attributes
	// CreateInterests creates the interests the file names that do not
	// exist (name from the cell, labelled as written); without it they
	// are left out of the person's record and listed in
	// ImportReport.Warnings.
	CreateInterests bool
	DryRun          bool // do everything, report, then roll back
	// OnReject, if set, is called with every rejected row, in order, with
	// a copy of its cells. The report keeps only the first
	// MaxReportedRejections.
	OnReject func(Rejection)
	// BatchSize is how many rows are written at a time (default 2000);
	// on SQLite, batches share a transaction for about a second.
	BatchSize int
	// UntilError imports the rows before a quote that is never closed
	// (sheet.UnterminatedQuoteError) and reports it in
	// ImportReport.StoppedAt, instead of failing and writing nothing.
	UntilError bool
}

// MaxReportedRejections is how many rejections an ImportReport keeps;
// ImportOptions.OnReject sees them all.
const MaxReportedRejections = 1000

// Rejection is one row an import refused, and why.
type Rejection struct {
	Line   int      `json:"line"`   // line of the file where the row starts
	Column string   `json:"column"` // header of the column at fault, "" for the whole row
	Value  string   `json:"value"`
	Reason string   `json:"reason"`
	Record []string `json:"-"` // the row's cells, as read
}

// String gives the line, the column and the reason, as a report lists
// them.
func (r Rejection) String() string {
	if r.Column == "" {
		return fmt.Sprintf("line %d: %s", r.Line, r.Reason)
	}
	if r.Value == "" { // left out (too long to show) or the row as a whole
		return fmt.Sprintf("line %d: %s: %s", r.Line, r.Column, r.Reason)
	}
	return fmt.Sprintf("line %d: %s %q: %s", r.Line, r.Column, r.Value, r.Reason)
}

// FileInfo is how an import read its file.
type FileInfo struct {
	Format     ImportFormat `json:"format"`      // the export recognised from the header
	FileFormat string       `json:"file_format"` // "csv", "xlsx" or "ods" (sheet.Reader.Format)
	Sheet      string       `json:"sheet,omitempty"`
	Encoding   string       `json:"encoding"`  // CSV only
	Delimiter  string       `json:"delimiter"` // CSV only
	Header     []string     `json:"header"`
}

// ImportReport says what an import did.
type ImportReport struct {
	FileInfo
	Columns []ColumnUse `json:"columns"`
	DryRun  bool        `json:"dry_run"`

	Rows       int `json:"rows"`       // data rows read (blank rows are not counted)
	Created    int `json:"created"`    // new supporters
	Updated    int `json:"updated"`    // existing supporters that changed
	Unchanged  int `json:"unchanged"`  // existing supporters the file added nothing to
	Duplicates int `json:"duplicates"` // rows merged into an earlier row of the same file
	Rejected   int `json:"rejected"`

	Subscribed        int `json:"subscribed"`         // newly subscribed to ImportOptions.List
	AlreadySubscribed int `json:"already_subscribed"` // were subscribed before
	NotResubscribed   int `json:"not_resubscribed"`   // unsubscribed, bounced or complained: left alone
	Unsubscribed      int `json:"unsubscribed"`       // marked unsubscribed (Mailchimp unsubscribed file)
	Bounced           int `json:"bounced"`            // marked bounced (Mailchimp cleaned file)
	// KeptOwnChoices counts the people whose own choices the file went
	// against: interests or tags they had removed themselves, left out.
	KeptOwnChoices int `json:"kept_own_choices"`

	Rejections []Rejection `json:"rejections"` // the first MaxReportedRejections
	// Warned counts what rows held that was left out, the rows being
	// imported without it (an unknown interest); Warnings lists the
	// first MaxReportedRejections.
	Warned   int         `json:"warned"`
	Warnings []Rejection `json:"warnings"`
	// InterestsCreated lists the interests the import created
	// (ImportOptions.CreateInterests).
	InterestsCreated []string `json:"interests_created,omitempty"`

	// StoppedAt is, with ImportOptions.UntilError, the error that ended
	// the file early; the rows from its line on were not imported.
	StoppedAt string `json:"stopped_at,omitempty"`

	// ImportID names the import in the journal (0 for a dry run): see
	// Tx.ImportSubscribed.
	ImportID int64 `json:"import_id,omitempty"`
}

func fileInfo(sr *sheet.Reader, format ImportFormat) FileInfo {
	fi := FileInfo{Format: format, FileFormat: sr.Format(), Sheet: sr.Sheet(), Encoding: sr.Encoding(),
		Header: append([]string(nil), sr.Header()...)}
	if d := sr.Delimiter(); d != 0 {
		fi.Delimiter = string(d)
	}
	return fi
}

// eachRow reads the data rows of sr, counting them in *rows and
// rejecting unreadable ones, parses each with parse and hands the good
// ones to use, in file order. Reading and parsing run in a goroutine of
// their own, a few hundred rows ahead, so they overlap the database work
// use does; reject and use run on the caller's goroutine. parse returns a
// rejection for a bad row (the row's cells are added to it); use returns
// an error that stops the import. idle, if not nil, is called when the
// input keeps the caller waiting (a slow disk, a pipe, a network file):
// the supporter import commits there, so that no transaction holds the
// write lock while waiting for input.
func eachRow[T any](ctx context.Context, sr *sheet.Reader, rows *int, reject func(Rejection),
	parse func(rec []string, line int) (T, *Rejection), use func(T) error, idle func() error) error {
	type item struct {
		row   T
		rej   *Rejection
		err   error // a fatal read error
		panic any   // what parse panicked with, raised again on the caller's goroutine
	}
	const chunk = 256
	ch := make(chan []item, 4)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer close(ch)
		items := make([]item, 0, chunk)
		defer func() {
			if p := recover(); p != nil {
				select {
				case ch <- append(items, item{panic: p}):
				case <-done:
				}
			}
		}()
		send := func() bool {
			select {
			case ch <- items:
				items = make([]item, 0, chunk)
				return true
			case <-done:
				return false
			}
		}
		for {
			rec, line, err := sr.Read()
			if errors.Is(err, io.EOF) {
				send()
				return
			}
			var it item
			switch {
			case err != nil && line > 0:
				it.rej = &Rejection{Line: line, Reason: "unreadable row: " + err.Error()}
			case err != nil:
				it.err = fmt.Errorf("read: %w", err)
			default:
				if it.row, it.rej = parse(rec, line); it.rej != nil {
					it.rej.Record = append([]string(nil), rec...)
				}
			}
			items = append(items, it)
			if it.err != nil {
				send()
				return
			}
			if len(items) == chunk && !send() {
				return
			}
		}
	}()
	defer func() {
		close(done)
		<-exited // nobody reads sr once this returns
	}()
	for {
		items, ok, err := receive(ch, idle)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		for _, it := range items {
			if it.panic != nil {
				panic(it.panic)
			}
			if it.err != nil {
				return it.err
			}
			*rows++
			if it.rej != nil {
				reject(*it.rej)
				continue
			}
			if err := use(it.row); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// inputWait is how long the writer waits for parsed rows before calling
// eachRow's idle function.
const inputWait = 20 * time.Millisecond

// receive takes the next chunk from ch; if none comes within inputWait, it
// calls idle (when not nil) and then waits as long as it takes.
func receive[T any](ch <-chan T, idle func() error) (T, bool, error) {
	select {
	case v, ok := <-ch:
		return v, ok, nil
	default:
	}
	if idle != nil {
		t := time.NewTimer(inputWait)
		select {
		case v, ok := <-ch:
			t.Stop()
			return v, ok, nil
		case <-t.C:
		}
		if err := idle(); err != nil {
			var zero T
			return zero, false, err
		}
	}
	v, ok := <-ch
	return v, ok, nil
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// ImportSupporters reads supporters from r (CSV, or an .xlsx or .ods
// workbook: see sheet.NewReader), streaming, and merges
// it into the database: a row whose address is known completes (or with
// Overwrite, updates) that supporter, tags and interests are added, and
// nobody is ever deleted. Rows with a bad value are rejected and reported;
// the rest go in. It writes in short transactions, so other writers (web
// signups, unsubscribes, webhooks) are served while it runs, and keeps an
// undo journal (see import_journal.go): when it returns an error (the file
// cannot be read, has no email column, an option is invalid, ctx is
// cancelled, the database fails), the import is undone and the database is
// as it was, except for people someone else changed meanwhile. It first
// recovers imports a crash left unfinished, and returns an error wrapping
// ErrConflict while another import is being written.
func (db *DB) ImportSupporters(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	if opts.List != "" && strings.TrimSpace(opts.Consent) == "" {
		return nil, invalid("consent", "", "required with a list: say what the people agreed to")
	}
	extraTags, err := normalizeTags(opts.Tags)
	if err != nil {
		return nil, err
	}
	sr, err := sheet.NewReader(r, sheet.Options{Delimiter: opts.Delimiter, Encoding: opts.Encoding, Sheet: opts.Sheet})
	if err != nil {
		return nil, err
	}
	defer sr.Close()
	cols, format, err := mapColumns(sr.Header(), opts.Format, opts.Map, opts.IgnoreUnknown, supporterColumns)
	if err != nil {
		return nil, err
	}
	if err := requireColumn(cols, fieldEmail); err != nil {
		return nil, err
	}
	rep := &ImportReport{FileInfo: fileInfo(sr, format), Columns: describeColumns(cols),
		DryRun: opts.DryRun, Rejections: []Rejection{}, Warnings: []Rejection{}}
	im := &supporterImport{
		db: db, opts: opts, rep: rep, cols: cols, format: format, tags: extraTags,
		status: mailchimpStatus(sr.Header(), format), now: db.Now(),
	}
	im.source = string(format)
	if format == FormatGeneric {
		im.source = ImportSource(opts.FileName)
	}
	im.consent = Consent{Source: ImportSource(opts.FileName), Text: strings.TrimSpace(opts.Consent)}
	if im.batchSize = opts.BatchSize; im.batchSize <= 0 {
		im.batchSize = 2000
	}
	im.maxBatch = im.batchSize
	if opts.DryRun {
		err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			// One transaction, rolled back: the journal run is only there
			// for the rows that refer to it.
			run := &importRun{File: opts.FileName, Channel: channelOf(ctx), Status: importRunning, StartedAt: im.now}
			if _, err := tx.NewInsert().Model(run).Returning("id").Exec(ctx); err != nil {
				return err
			}
			im.runID = run.ID
			im.write = func(fn func(context.Context, bun.IDB) error) error { return fn(ctx, tx) }
			im.commit = func() error { return nil }
			im.idle = nil
			if err := im.prepare(ctx, tx); err != nil {
				return err
			}
			if err := im.run(ctx, sr); err != nil {
				return err
			}
			return errDryRun
		})
	} else {
		err = db.writeImport(ctx, im, sr)
	}
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	rep.Encoding = sr.Encoding()
	if rep.Created > 10000 && !opts.DryRun && !db.isSQLite() {
		// PostgreSQL plans segments from table statistics; a big import
		// makes the old ones wrong until autovacuum comes round.
		if _, err := db.bun.ExecContext(ctx, "ANALYZE supporters, supporter_tags, supporter_interests, supporter_attributes"); err != nil {
			return rep, fmt.Errorf("import: analyze: %w", err)
		}
	}
	return rep, nil
}

// parseRowStatus reads a status column: anything that says the person
// left stops mail to them, a bounce marks the address, and an active or
// subscribed status changes nothing.
func parseRowStatus(v string) (rowStatus, error) {
	switch headerKey(v) {
	case "unsubscribed", "unsubscribe", "desabonne", "desabonnee", "desinscrit", "desinscrite", "inactive",
		"opted out", "optout", "opt out", "deleted", "supprime":
		return statusUnsubscribed, nil
	case "cleaned", "bounced", "bounce", "hard bounce", "invalid", "rejete", "complained", "spam":
		return statusCleaned, nil
	case "subscribed", "active", "actif", "active member", "abonne", "abonnee", "inscrit", "inscrite",
		"confirmed", "confirme":
		return statusNone, nil
	}
	return statusNone, errUnknownStatus
}

// errUnknownStatus means a status column value says nothing about consent
// ("premium", "4"); the value is kept as an attribute.
var errUnknownStatus = errors.New("unknown status")

// mailchimpStatus tells the three files of a Mailchimp export apart.
func mailchimpStatus(header []string, format ImportFormat) rowStatus {
	if format != FormatMailchimp {
		return statusNone
	}
	for _, h := range header {
		switch headerKey(h) {
		case "unsub time":
			return statusUnsubscribed
		case "clean time":
			return statusCleaned
		}
	}
	return statusNone
}

// rowStatus is what a file says of its people's consent.
type rowStatus int

const (
	statusNone         rowStatus = iota
	statusUnsubscribed           // never subscribe; unsubscribe from the list
	statusCleaned                // the address bounces
)

type supporterImport struct {
	db        *DB
	opts      ImportOptions
	rep       *ImportReport
	cols      []column
	format    ImportFormat
	tags      []string
	status    rowStatus
	source    string
	consent   Consent
	now       time.Time
	batchSize int
	maxBatch  int // BatchSize: on SQLite batchSize shrinks below it on a slow machine

	// runID is the journal run (see import_journal.go); write runs one
	// batch's statements in the current transaction, committing it
	// when it has lasted long enough, and commit commits it.
	runID  int64
	write  func(fn func(ctx context.Context, tx bun.IDB) error) error
	commit func() error
	idle   func() error // commits: no transaction waits for input

	list      *List
	interests map[string]string // folded slug or label → interest name
	seen      []uint64          // bitmap of the ids this import has created or met
	// fresh, on SQLite, spares looking up addresses while the import is
	// the only writer of a database that had no supporter (freshChecked:
	// whether the first batch has looked).
	fresh        *freshEmails
	freshChecked bool
	batch        []*importRow
	byEmail      map[string]*importRow
	statusOf     map[string]rowStatus // rows of the batch whose status column said something
	erased       map[string]bool      // keyed hashes of erased addresses
	// lateErased holds the addresses erased since the import began (a
	// forget between two batches), keyed by lateKey's hashes; only the
	// writer reads and changes it (parse runs ahead in a goroutine of its
	// own and reads erased).
	lateErased map[string]bool
	lateKey    []byte
	// keptOwn holds the supporters whose own choices the file went
	// against (see OwnChoice), counted once each.
	keptOwn map[int64]bool
	// createdInterests holds the names of interests the import created
	// or found existing (ImportOptions.CreateInterests).
	createdInterests map[string]bool
	erasedKey        []byte
}

// isErased reports whether an address of the file was erased by Forget.
func (im *supporterImport) isErased(email string) bool {
	if len(im.erased) == 0 {
		return false
	}
	return im.erased[erasedAddressHash(im.erasedKey, email)]
}

type importRow struct {
	line   int
	s      Supporter
	status rowStatus
	stated bool // the row had a status column value
	// newInterests are the interests the row names that do not exist,
	// to be created (ImportOptions.CreateInterests).
	newInterests []Interest
	// warnings are what the row holds that the import left out.
	warnings []Rejection
	// record is the row's cells, kept only for a row with attributes: a
	// merge may still reject it (see attributesFit), and the rejects
	// file needs them.
	record []string
}

func (im *supporterImport) prepare(ctx context.Context, tx bun.IDB) error {
	if im.opts.List != "" {
		l, err := getList(ctx, tx, im.opts.List)
		if err != nil {
			return err
		}
		im.list = l
	}
	var ins []Interest
	if err := tx.NewSelect().Model(&ins).Scan(ctx); err != nil {
		return err
	}
	im.interests = map[string]string{}
	for _, in := range ins {
		for _, k := range []string{in.Name, in.LabelFR, in.LabelEN} {
			im.interests[headerKey(k)] = in.Name
		}
	}
	var hashes []string
	if err := tx.NewSelect().Table("suppressions").Column("hash").Scan(ctx, &hashes); err != nil {
		return err
	}
	if len(hashes) > 0 {
		key, _, err := dbutil.Setting(ctx, im.db.bun, suppressionKeySetting)
		if err != nil {
			return err
		}
		im.erasedKey, im.erased = []byte(key), map[string]bool{}
		for _, h := range hashes {
			im.erased[h] = true
		}
	}
	im.byEmail = map[string]*importRow{}
	im.statusOf = map[string]rowStatus{}
	return nil
}

func (im *supporterImport) run(ctx context.Context, sr *sheet.Reader) error {
	err := eachRow(ctx, sr, &im.rep.Rows, im.reject, im.parse, func(row *importRow) error {
		for _, w := range row.warnings {
			im.rep.Warned++
			if len(im.rep.Warnings) < MaxReportedRejections {
				im.rep.Warnings = append(im.rep.Warnings, w)
			}
		}
		if row.stated && row.status > im.statusOf[row.s.Email] {
			im.statusOf[row.s.Email] = row.status // the strongest "stop" of the file wins
		}
		if prev := im.byEmail[row.s.Email]; prev != nil {
			if ok, rej := attributesFit(&prev.s, row); !ok {
				im.reject(rej)
				return nil
			}
			mergeSupporter(&prev.s, &row.s, im.opts.Overwrite)
			im.rep.Duplicates++
			return nil
		}
		im.byEmail[row.s.Email] = row
		im.batch = append(im.batch, row)
		if len(im.batch) >= im.batchSize {
			return im.write(im.flush)
		}
		return nil
	}, im.idle)
	var uq *sheet.UnterminatedQuoteError
	if errors.As(err, &uq) && im.opts.UntilError {
		im.rep.StoppedAt, err = uq.Error(), nil
	}
	if err != nil {
		return err
	}
	if err := im.write(im.flush); err != nil {
		return err
	}
	return im.commit()
}

// Pacing of an import on SQLite, whose write lock is one for the file
// (see import_journal.go). importHold is how long one transaction of
// batches holds the lock. importPause is how long the lock is then left
// free: longer than the longest sleep (100 ms) of the busy handler of a
// writer waiting for it, so that writer gets it. Together they cost an
// import about a tenth of its time, and bound a waiting writer's delay to
// about 1.1 s instead of the whole import.
var (
	importHold  = time.Second
	importPause = 110 * time.Millisecond
)

// importCrash, set only by tests, is asked after each committed batch
// whether the process dies there: the import then stops where it is,
// without undoing anything, as a killed process would.
var importCrash func(batch int) bool

var errImportCrashed = errors.New("import: simulated crash")

// writeImport writes an import in short transactions, under a journal run
// that is committed at the end, or undone if anything fails.
func (db *DB) writeImport(ctx context.Context, im *supporterImport, sr *sheet.Reader) error {
	var listID int64
	if im.opts.List != "" {
		l, err := getList(ctx, db.bun, im.opts.List)
		if err != nil {
			return err
		}
		listID = l.ID
	}
	run, err := db.beginImport(ctx, im.opts.FileName, listID)
	if err != nil {
		return err
	}
	// Once this returns, nobody writes the run: if it is left unfinished
	// (its undo or finish failed), the next import may recover it.
	defer liveHolders.Delete(run.Holder)
	im.runID, im.rep.ImportID = run.ID, run.ID
	err = db.writeImportRows(ctx, im, sr)
	if errors.Is(err, errImportCrashed) {
		return err // the process is "dead": nothing more happens
	}
	if err == nil {
		err = db.commitImport(context.WithoutCancel(ctx), run, "import supporters",
			fmt.Sprintf("%s: %d rows, %d created, %d updated, %d rejected",
				im.opts.FileName, im.rep.Rows, im.rep.Created, im.rep.Updated, im.rep.Rejected))
		if err == nil || run.Status != importRunning {
			return err // committed: kept, and finished by the next import if not now
		}
	}
	if uerr := db.undoImport(context.WithoutCancel(ctx), run); uerr != nil {
		return errors.Join(err, fmt.Errorf("undo failed too (the next import, or a recovery, undoes it): %w", uerr))
	}
	return err
}

// writeImportRows runs the import's batches on one connection of their
// own, each in its own transaction.
func (db *DB) writeImportRows(ctx context.Context, im *supporterImport, sr *sheet.Reader) error {
	conn, err := db.bun.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	sqlite := db.isSQLite()
	if sqlite {
		// A big file's merge touches pages all over the email index:
		// with SQLite's default 2 MB cache they are spilled and read
		// back again and again. 16 MB makes the import about 15%
		// faster for about 30 MB more memory; the connection goes
		// back to the pool with the size it had.
		var size int
		if err := conn.NewRaw("PRAGMA cache_size").Scan(ctx, &size); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -16000"); err != nil {
			return err
		}
		defer conn.NewRaw("PRAGMA cache_size = ?", size).Exec(context.WithoutCancel(ctx))
		// The statement journal of the prepared multi-row INSERTs
		// (import_prepared.go) lives in memory rather than in a
		// temporary file written page by page.
		if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = DEFAULT")
		// Each commit copies the pages it changed to the WAL, and a
		// checkpoint copies the WAL to the file. The import checkpoints
		// during its pauses, when it would only sleep (see write below),
		// instead of in its commits.
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_autocheckpoint = 1000")
		// The import checks the references it writes itself: each batch
		// writes the tags, interests, attributes and subscriptions of
		// supporters it has just inserted or read, in the transaction
		// that holds the write lock, so nobody can remove them meanwhile.
		// Without SQLite's own checks every row it inserts is one index
		// search and six counter tests lighter. The connection goes back
		// to the pool with them on, or is not given back at all.
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return err
		}
		defer func() {
			// The pragma does nothing, without an error, inside a
			// transaction (a failed COMMIT may leave one open): it is
			// read back.
			ctx := context.WithoutCancel(ctx)
			var on int
			_, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = ON")
			if err == nil {
				err = conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on)
			}
			if err != nil || on != 1 {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	// Batches of BatchSize rows share a transaction until it has held
	// the lock importHold; it then commits and, on SQLite, leaves the
	// lock free for importPause.
	var tx *bun.Tx
	pace := db.newImportPacer()
	commits := 0
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	im.commit = func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx = nil
		if err != nil {
			return err
		}
		if commits++; importCrash != nil && importCrash(commits) {
			return errImportCrashed
		}
		return nil
	}
	im.idle = im.commit
	im.write = func(fn func(context.Context, bun.IDB) error) error {
		if tx == nil {
			t, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			tx = &t
		}
		start := time.Now()
		if err := fn(ctx, *tx); err != nil {
			return err
		}
		if sqlite {
			// One batch must stay well inside importHold, on a slow or
			// busy machine too: halve it when it takes more than a
			// quarter of it, grow it back towards BatchSize when fast.
			switch took := time.Since(start); {
			case took > importHold/4:
				im.batchSize = max(im.batchSize/2, 50)
			case took < importHold/16:
				im.batchSize = min(im.batchSize*2, im.maxBatch)
			}
			if !pace.due() {
				return nil
			}
		}
		if err := im.commit(); err != nil || !sqlite {
			return err
		}
		// The pause is time the import has to wait anyway: it copies the
		// WAL into the file then (PASSIVE: writers are not blocked; a
		// busy checkpoint is simply left for the next pause).
		return pace.pause(ctx, func() { conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)") })
	}
	if err := im.prepare(ctx, conn); err != nil {
		return err
	}
	return im.run(ctx, sr)
}

func (im *supporterImport) reject(r Rejection) {
	recordRejection(r, &im.rep.Rejected, &im.rep.Rejections, im.opts.OnReject)
}

// recordRejection counts a rejected row, keeps the first
// MaxReportedRejections for the report, and hands every one, with its
// cells, to onReject.
func recordRejection(r Rejection, count *int, kept *[]Rejection, onReject func(Rejection)) {
	*count++
	if len(*kept) < MaxReportedRejections {
		short := r
		short.Record = nil
		*kept = append(*kept, short)
	}
	if onReject != nil {
		onReject(r)
	}
}

// parse turns one record into a normalised supporter, or a rejection
// naming the column at fault.
func (im *supporterImport) parse(rec []string, line int) (*importRow, *Rejection) {
	row := &importRow{line: line}
	s := &row.s
	var fullName string
	var rawInterests []string
	for _, c := range im.cols {
		if c.index >= len(rec) || c.field == fieldIgnore {
			continue
		}
		raw := rec[c.index]
		v := CleanText(raw)
		if v == "" {
			continue
		}
		switch c.field {
		case fieldEmail:
			if s.Email == "" {
				e, err := NormalizeEmail(v)
				if err != nil {
					return nil, &Rejection{Line: line, Column: c.header, Value: v, Reason: reason(err)}
				}
				s.Email = e
			}
		case fieldName:
			fullName = v
		case fieldLanguage:
			l, err := parseLanguageName(v)
			if err != nil {
				return nil, &Rejection{Line: line, Column: c.header, Value: v, Reason: reason(err)}
			}
			s.Language = l
		case fieldTags:
			for _, t := range splitList(v) {
				n, err := NormalizeTag(t)
				if err != nil {
					return nil, &Rejection{Line: line, Column: c.header, Value: t, Reason: reason(err)}
				}
				s.Tags = append(s.Tags, n)
			}
		case fieldInterests:
			rawInterests = append(rawInterests, splitList(v)...)
		case fieldAttributes:
			attrs, err := parseAttributesJSON(raw)
			if err != nil {
				return nil, &Rejection{Line: line, Column: c.header, Value: v, Reason: err.Error()}
			}
			for k, val := range attrs {
				setAttr(s, k, val)
			}
		case fieldStatus:
			st, err := parseRowStatus(v)
			if err != nil {
				setAttr(s, c.header, v)
				continue
			}
			row.status, row.stated = st, true
		case fieldNotes:
			if s.Notes == "" {
				s.Notes = cleanMultiline(raw)
			}
		default:
			if key, ok := strings.CutPrefix(c.field, attrPrefix); ok {
				setAttr(s, key, v)
				continue
			}
			if dst := stringField(s, c.field); dst != nil && *dst == "" {
				*dst = v
			}
		}
	}
	if s.Email == "" {
		return nil, &Rejection{Line: line, Column: emailHeader(im.cols), Reason: "missing email"}
	}
	if im.isErased(s.Email) {
		return nil, &Rejection{Line: line, Column: emailHeader(im.cols), Value: s.Email,
			Reason: "erased address: the person asked to be forgotten; import them again only with fresh consent"}
	}
	if fullName != "" && s.FirstName == "" && s.LastName == "" {
		s.FirstName, s.LastName, _ = strings.Cut(fullName, " ")
	}
	for _, in := range rawInterests {
		name, ok := im.interests[headerKey(in)]
		if ok {
			s.Interests = append(s.Interests, SupporterInterest{Interest: name})
			continue
		}
		warn := Rejection{Line: line, Column: columnHeader(im.cols, fieldInterests), Value: in}
		name, err := slug("interest", slugify(in))
		switch {
		case err != nil:
			warn.Reason = "not a possible interest name (" + reason(err) + "): left out"
		case im.opts.CreateInterests:
			s.Interests = append(s.Interests, SupporterInterest{Interest: name})
			row.newInterests = append(row.newInterests, Interest{Name: name, LabelFR: in, LabelEN: in})
			continue
		default:
			warn.Reason = "unknown interest: left out (create it with crm interests add, or import with --create-interests)"
		}
		row.warnings = append(row.warnings, warn)
	}
	s.Tags = append(s.Tags, im.tags...)
	lang := s.Language
	if err := s.Normalize(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, &Rejection{Line: line, Column: columnHeader(im.cols, ve.Field), Value: ve.Value, Reason: ve.Reason}
		}
		return nil, &Rejection{Line: line, Reason: err.Error()}
	}
	if lang == "" {
		s.Language = "" // not given: neither overwrite nor default yet
	}
	s.EmailStatus = ""
	if len(s.Attributes) > 0 {
		row.record = slices.Clone(rec)
	}
	return row, nil
}

// attributesFit reports whether merging row into dst keeps dst within
// MaxAttributes, and otherwise returns the rejection of the row: each row
// is checked on its own when it is parsed, but two rows of one person (in
// the file, or the file and the database) could add up past the bound.
func attributesFit(dst *Supporter, row *importRow) (bool, Rejection) {
	if len(row.s.Attributes) == 0 {
		return true, Rejection{}
	}
	n := len(dst.Attributes)
	for k := range row.s.Attributes {
		if _, ok := dst.Attributes[k]; ok {
			continue
		}
		alias := false
		for dk := range dst.Attributes {
			if headerKey(dk) == headerKey(k) {
				alias = true
				break
			}
		}
		if !alias {
			n++
		}
	}
	if n <= MaxAttributes {
		return true, Rejection{}
	}
	return false, Rejection{Line: row.line, Column: "attributes", Record: row.record,
		Reason: fmt.Sprintf("this row would give the person %d attributes, at most %d", n, MaxAttributes)}
}

func reason(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return err.Error()
}

func setAttr(s *Supporter, k, v string) {
	if s.Attributes == nil {
		s.Attributes = map[string]string{}
	}
	k = CleanText(k)
	if _, ok := s.Attributes[k]; !ok && k != "" && v != "" {
		s.Attributes[k] = v
	}
}

func stringField(s *Supporter, field string) *string {
	switch field {
	case fieldFirstName:
		return &s.FirstName
	case fieldLastName:
		return &s.LastName
	case fieldPhone:
		return &s.Phone
	case fieldOrganisation:
		return &s.Organisation
	case fieldAddress:
		return &s.Address
	case fieldCity:
		return &s.City
	case fieldPostcode:
		return &s.Postcode
	case fieldCountry:
		return &s.Country
	case fieldSource:
		return &s.Source
	}
	return nil
}

func emailHeader(cols []column) string { return columnHeader(cols, fieldEmail) }

func columnHeader(cols []column, field string) string {
	field = strings.ReplaceAll(field, "-", "_")
	for _, c := range cols {
		if c.field == field {
			return c.header
		}
	}
	return field
}

// splitList splits a cell of tags or interests on ';', ',' or '|', and
// unwraps the quotes Mailchimp puts around each tag.
func splitList(v string) []string {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == '|' })
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(strings.Trim(strings.TrimSpace(p), `"'`))
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// languageNames maps language names seen in spreadsheets to ISO codes.
var languageNames = map[string]string{
	"francais": "fr", "french": "fr", "anglais": "en", "english": "en", "neerlandais": "nl", "dutch": "nl",
	"nederlands": "nl", "allemand": "de", "german": "de", "espagnol": "es", "spanish": "es", "arabe": "ar",
	"arabic": "ar", "italien": "it", "italian": "it", "portugais": "pt", "portuguese": "pt",
}

func parseLanguageName(v string) (string, error) {
	if code, ok := languageNames[headerKey(v)]; ok {
		return code, nil
	}
	return NormalizeLanguage(v)
}

// parseAttributesJSON reads listmonk's attributes column: a JSON object
// whose values become text.
func parseAttributesJSON(raw string) (map[string]string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
		default:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out, nil
}

// mergeSupporter merges src, read from a file, into dst. Empty values
// never erase; with overwrite, non-empty values replace. Tags and
// interests are unioned. It reports whether dst changed.
func mergeSupporter(dst, src *Supporter, overwrite bool) bool {
	changed := false
	for _, f := range []struct{ d, s *string }{
		{&dst.FirstName, &src.FirstName}, {&dst.LastName, &src.LastName}, {&dst.Phone, &src.Phone},
		{&dst.Organisation, &src.Organisation}, {&dst.Address, &src.Address}, {&dst.City, &src.City}, {&dst.Postcode, &src.Postcode},
		{&dst.Country, &src.Country}, {&dst.Language, &src.Language}, {&dst.Notes, &src.Notes},
		{&dst.Source, &src.Source},
	} {
		if *f.s != "" && *f.d != *f.s && (*f.d == "" || overwrite) {
			*f.d = *f.s
			changed = true
		}
	}
	for _, t := range src.Tags {
		if !containsString(dst.Tags, t) {
			dst.Tags = append(dst.Tags, t)
			changed = true
		}
	}
	for _, in := range src.Interests {
		i := indexInterest(dst.Interests, in.Interest)
		switch {
		case i < 0:
			dst.Interests = append(dst.Interests, in)
			changed = true
		case in.Availability != "" && dst.Interests[i].Availability != in.Availability &&
			(dst.Interests[i].Availability == "" || overwrite):
			dst.Interests[i].Availability = in.Availability
			changed = true
		}
	}
	for k, v := range src.Attributes {
		// A column "pointure" completes the attribute "Pointure".
		for dk := range dst.Attributes {
			if dk != k && headerKey(dk) == headerKey(k) {
				k = dk
				break
			}
		}
		old, ok := dst.Attributes[k]
		if v != "" && old != v && (!ok || old == "" || overwrite) {
			if dst.Attributes == nil {
				dst.Attributes = map[string]string{}
			}
			dst.Attributes[k] = v
			changed = true
		}
	}
	if changed {
		dst.CityKey, dst.SourceKey = fold(dst.City), fold(dst.Source)
	}
	return changed
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func indexInterest(ins []SupporterInterest, name string) int {
	for i, in := range ins {
		if in.Interest == name {
			return i
		}
	}
	return -1
}
