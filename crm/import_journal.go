package crm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/uptrace/bun"
)

// An import and everybody else: the import journal.
//
// SQLite has one write lock for the whole file. An import of a big file
// used to write in one transaction, holding that lock for minutes, and a
// one-click unsubscribe or a web signup arriving meanwhile failed after
// the 5 s busy timeout and was lost. An import now writes in short
// transactions, and on SQLite, once it has had the lock for importHold
// (1 s), leaves it free for importPause, longer than the longest sleep of
// SQLite's busy handler, so a writer that is waiting gets its turn within
// about a second. The same pacing (importPacer, import_pace.go) holds for
// every phase that writes: the batches of rows, the finish of a committed
// import and the undo of a failed one.
//
// What a single transaction gave for free, that a fatal error or a crash
// leaves nothing of the file behind, is kept by an undo journal, one run
// per import (table imports):
//
//   - running: rows are being written. Each batch also records, in the
//     same transaction, the ids it created or changed (import_supporters),
//     what it overwrote of the supporters that existed (import_undo: the
//     row, its tags, interests and attributes and its status on the
//     import's list, as JSON), and its consent events, which wait in
//     import_consent_events: consent_events is append-only, so nothing
//     written there could ever be taken back.
//   - committed: every row is in. One small transaction writes the audit
//     summary and sets this status: from here on the import is kept, and
//     what is left is moved forward, never back: the waiting consent
//     events go to consent_events, the undo rows are removed.
//   - done, or undone: nothing of it is pending.
//
// When an import fails (a fatal read error such as an unterminated quote,
// a cancelled context, a database error), it undoes itself before
// returning: created supporters are deleted, changed ones get back what
// they had, waiting consent events are dropped. A supporter that someone
// else changed while the import ran (a consent event or an audit entry of
// theirs since the import began: an unsubscribe, a signup, an edit) is
// kept as it is, with the import's changes and their consent events,
// because putting the old row back would lose what that person or user
// did; the undo's audit line counts them.
//
// After a crash the run stays running (or committed). The next import
// recovers it first, undoing a running one and finishing a committed one,
// once it knows the writer is gone: the run records the writer's host and
// process id, and a process that no longer exists on this host is dead.
// A run held by a live process, or by another host, makes the new import
// fail with ErrConflict; RecoverImports with force takes it over when the
// user knows better. UnfinishedImports lets commands warn about such runs.
//
// A dry run still writes in one transaction that it rolls back: it holds
// the write lock for its whole length, but leaves no trace. Pacing it is
// not possible that way: its batches must see the earlier ones (to merge a
// file's duplicates and count what it would update), and a transaction
// committed to let others write would no longer be a dry run. Computing
// the report on a read transaction, from the file and what exists, would
// free the lock, but means a second implementation of the merge; until
// then the CLI's --dry-run help and the README say plainly that web
// writes wait (and fail after the 5 s busy timeout) during a dry run.

// importRun is one row of the imports table.
type importRun struct {
	bun.BaseModel `bun:"table:imports,alias:imp"`

	ID          int64     `bun:"id,pk,autoincrement"`
	File        string    `bun:"file"`
	Channel     string    `bun:"channel"`
	ListID      int64     `bun:"list_id,nullzero"`
	Status      string    `bun:"status"`
	Holder      string    `bun:"holder"`
	ConsentMark int64     `bun:"consent_mark"`
	AuditMark   int64     `bun:"audit_mark"`
	AuditID     int64     `bun:"audit_id,nullzero"`
	StartedAt   time.Time `bun:"started_at"`
	FinishedAt  time.Time `bun:"finished_at,nullzero"`
}

// Statuses of an import run.
const (
	importRunning   = "running"
	importCommitted = "committed"
	importDone      = "done"
	importUndone    = "undone"
)

// UnfinishedImport is an import that did not end: a crash left it
// running (to be undone) or committed (to be finished).
type UnfinishedImport struct {
	ID        int64     `json:"id"`
	File      string    `json:"file"`
	Status    string    `json:"status"` // "running" or "committed"
	Holder    string    `json:"holder"` // host:pid:nonce of the process that wrote it
	Alive     bool      `json:"alive"`  // that process still runs (or is on another host)
	StartedAt time.Time `json:"started_at"`
}

// String says which import it is and what recovering it will do.
func (u UnfinishedImport) String() string {
	what := "its rows will be undone"
	if u.Status == importCommitted {
		what = "it will be finished"
	}
	state := "the process that wrote it is gone"
	if u.Alive {
		state = "still running, or on another host (" + u.Holder + ")"
	}
	return fmt.Sprintf("import %d of %s, started %s, did not finish (%s): %s by the next import or RecoverImports",
		u.ID, u.File, u.StartedAt.Format(time.RFC3339), state, what)
}

// UnfinishedImports lists imports that did not end, so that commands can
// warn about them. It writes nothing.
func (db *DB) UnfinishedImports(ctx context.Context) ([]UnfinishedImport, error) {
	var runs []importRun
	if err := db.bun.NewSelect().Model(&runs).Where("imp.status IN (?)", bun.List([]string{importRunning, importCommitted})).
		Order("imp.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("unfinished imports: %w", err)
	}
	out := make([]UnfinishedImport, len(runs))
	for i, r := range runs {
		out[i] = UnfinishedImport{ID: r.ID, File: r.File, Status: r.Status, Holder: r.Holder, Alive: holderAlive(r.Holder),
			StartedAt: r.StartedAt}
	}
	return out, nil
}

// RecoverImports ends the imports a crash left unfinished: a running one
// is undone, a committed one finished. Without force it leaves alone, and
// reports with an error wrapping ErrConflict, one whose writer may still
// be running (a live process on this host, or any other host). It returns
// what it recovered. Like the import it ends, each recovery runs in short
// transactions, paced so that other writers are served meanwhile; each
// step can be repeated, so one that fails midway is taken up again by
// the next recovery.
func (db *DB) RecoverImports(ctx context.Context, force bool) ([]UnfinishedImport, error) {
	list, err := db.UnfinishedImports(ctx)
	if err != nil {
		return nil, err
	}
	var done []UnfinishedImport
	for _, u := range list {
		if u.Alive && !force {
			return done, fmt.Errorf("import %d of %s is still being written by %s (if that process is gone, "+
				"recover with force): %w", u.ID, u.File, u.Holder, ErrConflict)
		}
		run, err := db.getImportRun(ctx, u.ID)
		if err != nil {
			return done, err
		}
		if run.Status == importRunning {
			err = db.undoImport(ctx, run)
		} else {
			err = db.finishImport(ctx, run)
		}
		if err != nil {
			return done, fmt.Errorf("recover import %d: %w", u.ID, err)
		}
		done = append(done, u)
	}
	return done, nil
}

func (db *DB) getImportRun(ctx context.Context, id int64) (*importRun, error) {
	run := &importRun{}
	if err := db.bun.NewSelect().Model(run).Where("imp.id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("import %d: %w", id, err)
	}
	return run, nil
}

// liveHolders are the holders of the imports this process is writing:
// process-wide, as a process id is, so that two *DB on one file in one
// process still see each other's imports as alive.
var liveHolders sync.Map

var hostName = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
})

func newHolder() string {
	nonce := make([]byte, 6)
	rand.Read(nonce)
	return fmt.Sprintf("%s:%d:%s", hostName(), os.Getpid(), hex.EncodeToString(nonce))
}

// holderAlive reports whether the process that wrote an import may still
// be writing it. Another host cannot be asked, so it counts as alive.
func holderAlive(holder string) bool {
	i := strings.LastIndexByte(holder, ':')
	j := strings.LastIndexByte(holder[:max(i, 0)], ':')
	if i < 0 || j < 0 || holder[:j] != hostName() {
		return true
	}
	pid, err := strconv.Atoi(holder[j+1 : i])
	if err != nil {
		return true
	}
	if pid == os.Getpid() {
		_, ok := liveHolders.Load(holder)
		return ok
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	if runtime.GOOS == "windows" {
		return true // FindProcess found it
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// importBeginLock is the key of the PostgreSQL advisory lock that makes
// the check for another import and the insert of a new run one step.
const importBeginLock int64 = 0x61737363726d0c01 // "asscrm", import

// errImportBusy says another run appeared between recovery and insert.
var errImportBusy = errors.New("another import is unfinished")

// beginImport recovers what crashed imports left, then records a new run.
// The check that no other import is unfinished and the insert of the new
// run are one transaction, so two imports started at once cannot both
// begin: on SQLite the transaction is IMMEDIATE (it takes the write lock
// at BEGIN), which serialises them; on PostgreSQL, where two transactions
// could both see no run and both insert, it first takes a
// transaction-level advisory lock (pg_advisory_xact_lock, released at
// commit or rollback). A run that appears meanwhile is recovered if its
// writer is dead, and otherwise refuses the import with ErrConflict.
func (db *DB) beginImport(ctx context.Context, file string, listID int64) (*importRun, error) {
	for attempt := 0; ; attempt++ {
		if _, err := db.RecoverImports(ctx, false); err != nil {
			return nil, err
		}
		run, err := db.insertImportRun(ctx, file, listID)
		if errors.Is(err, errImportBusy) && attempt < 2 {
			continue
		}
		if errors.Is(err, errImportBusy) {
			return nil, fmt.Errorf("import: %w: %w", err, ErrConflict)
		}
		if err != nil {
			return nil, fmt.Errorf("import: begin: %w", err)
		}
		return run, nil
	}
}

func (db *DB) insertImportRun(ctx context.Context, file string, listID int64) (*importRun, error) {
	run := &importRun{File: file, Channel: channelOf(ctx), ListID: listID, Status: importRunning,
		Holder: newHolder(), StartedAt: db.Now()}
	// Alive before it is visible: another import of this process must
	// never take it for a crashed one.
	liveHolders.Store(run.Holder, true)
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if !db.isSQLite() {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", importBeginLock); err != nil {
				return err
			}
		}
		n, err := tx.NewSelect().Model((*importRun)(nil)).
			Where("imp.status IN (?)", bun.List([]string{importRunning, importCommitted})).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errImportBusy
		}
		if listID != 0 {
			// The list was found before this transaction: it must still
			// be there, and stay until the run is visible, which
			// DeleteList waits for and then refuses.
			q := tx.NewSelect().Table("lists").Column("id").Where("id = ? AND deleted_at IS NULL", listID)
			if !db.isSQLite() {
				q.For("SHARE")
			}
			var ids []int64
			if err := q.Scan(ctx, &ids); err != nil {
				return err
			}
			if len(ids) == 0 {
				return fmt.Errorf("the list was deleted: %w", ErrNotFound)
			}
		}
		if err := tx.NewSelect().Table("consent_events").ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &run.ConsentMark); err != nil {
			return err
		}
		if err := tx.NewSelect().Table("audit_log").ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &run.AuditMark); err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(run).Returning("id").Exec(ctx)
		return err
	})
	if err != nil {
		liveHolders.Delete(run.Holder)
		return nil, err
	}
	return run, nil
}

// commitImport is the point of no return: the summary goes to the audit
// log and the run is marked committed in one transaction; then the run is
// finished.
func (db *DB) commitImport(ctx context.Context, run *importRun, action, details string) error {
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		e := &AuditEntry{At: db.Now(), Channel: channelOf(ctx), Action: action, Details: details}
		if _, err := tx.NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		_, err := tx.NewUpdate().Model(run).Set("status = ?", importCommitted).Set("audit_id = ?", e.ID).
			WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("import: commit: %w", err)
	}
	run.Status = importCommitted
	return db.finishImport(ctx, run)
}

// journalChunk is how many journal rows one transaction of finishing or
// undoing an import handles.
const journalChunk = 2000

// undoChunk is how many supporters one transaction of an undo restores
// or deletes: putting a supporter back rewrites its row and relations, so
// this is kept small for a transaction to stay short next to importHold.
const undoChunk = 100

// finishImport moves a committed import forward: its consent events into
// consent_events, its undo rows away, then the run is done. Each step is
// short and can be repeated after a crash.
func (db *DB) finishImport(ctx context.Context, run *importRun) error {
	// The last batches may just have had the lock for importHold: leave
	// it free first.
	pace := db.newImportPacer()
	if err := pace.pause(ctx, nil); err != nil {
		return err
	}
	for {
		n, err := db.moveStagedConsent(ctx, run.ID, nil)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if err := pace.step(ctx); err != nil {
			return err
		}
	}
	for {
		var n int64
		err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.NewDelete().Table("import_undo").Where("import_id = ?", run.ID).
				Where("supporter_id IN (?)", tx.NewSelect().Table("import_undo").Column("supporter_id").
					Where("import_id = ?", run.ID).Order("supporter_id").Limit(journalChunk)).Exec(ctx)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("import %d: finish: %w", run.ID, err)
		}
		if n == 0 {
			break
		}
		if err := pace.step(ctx); err != nil {
			return err
		}
	}
	return db.endImport(ctx, run, importDone, nil)
}

// endImport marks the run done or undone, with an audit line if given.
func (db *DB) endImport(ctx context.Context, run *importRun, status string, audit *AuditEntry) error {
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if audit != nil {
			if _, err := tx.NewInsert().Model(audit).Returning("NULL").Exec(ctx); err != nil {
				return err
			}
		}
		_, err := tx.NewUpdate().Model(run).Set("status = ?", status).Set("finished_at = ?", db.Now()).
			WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("import %d: end: %w", run.ID, err)
	}
	liveHolders.Delete(run.Holder)
	run.Status = status
	return nil
}

// moveStagedConsent moves up to journalChunk waiting consent events of an
// import (of the given supporters only, if ids is not nil) into
// consent_events, in their order, in one transaction of its own.
func (db *DB) moveStagedConsent(ctx context.Context, importID int64, ids []int64) (int, error) {
	var n int
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		n, err = moveStagedConsentTx(ctx, tx, importID, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("import %d: record consent: %w", importID, err)
	}
	return n, nil
}

func moveStagedConsentTx(ctx context.Context, tx bun.IDB, importID int64, ids []int64) (int, error) {
	if ids != nil && len(ids) == 0 {
		return 0, nil
	}
	var events []stagedConsentEvent
	q := tx.NewSelect().Model(&events).Where("import_id = ?", importID).Order("id").Limit(journalChunk)
	if ids != nil {
		q.Where("supporter_id IN (?)", bun.List(ids))
	}
	if err := q.Scan(ctx); err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	out := make([]ConsentEvent, len(events))
	stagedIDs := make([]int64, len(events))
	for i, e := range events {
		out[i] = ConsentEvent{SupporterID: e.SupporterID, ListID: e.ListID, Action: e.Action, Source: e.Source,
			ConsentText: e.ConsentText, IP: e.IP, UserAgent: e.UserAgent, CreatedAt: e.CreatedAt}
		stagedIDs[i] = e.ID
	}
	if _, err := tx.NewInsert().Model(&out).Returning("NULL").Exec(ctx); err != nil {
		return 0, err
	}
	if _, err := tx.NewDelete().Table("import_consent_events").Where("id IN (?)", bun.List(stagedIDs)).Exec(ctx); err != nil {
		return 0, err
	}
	return len(events), nil
}

// stagedConsentEvent is a consent event waiting for its import to commit.
type stagedConsentEvent struct {
	bun.BaseModel `bun:"table:import_consent_events,alias:ice"`
	ID            int64     `bun:"id,pk,autoincrement"`
	ImportID      int64     `bun:"import_id"`
	SupporterID   int64     `bun:"supporter_id"`
	ListID        int64     `bun:"list_id,nullzero"`
	Action        string    `bun:"action"`
	Source        string    `bun:"source"`
	ConsentText   string    `bun:"consent_text"`
	IP            string    `bun:"ip"`
	UserAgent     string    `bun:"user_agent"`
	CreatedAt     time.Time `bun:"created_at"`
}

func stageConsent(importID int64, e ConsentEvent) stagedConsentEvent {
	return stagedConsentEvent{ImportID: importID, SupporterID: e.SupporterID, ListID: e.ListID, Action: e.Action,
		Source: e.Source, ConsentText: e.ConsentText, IP: e.IP, UserAgent: e.UserAgent, CreatedAt: e.CreatedAt}
}

// importUndoRow is what an import overwrote of one supporter.
type importUndoRow struct {
	bun.BaseModel `bun:"table:import_undo"`
	ImportID      int64  `bun:"import_id,pk"`
	SupporterID   int64  `bun:"supporter_id,pk"`
	Before        string `bun:"before"`
}

// importBefore is the JSON of importUndoRow.Before.
type importBefore struct {
	Supporter *Supporter         `json:"s"`
	Sub       SubscriptionStatus `json:"sub,omitempty"` // on the import's list; "" for none
}

// importSupporterRun is a run of consecutive supporter ids an import
// created or changed.
type importSupporterRun struct {
	bun.BaseModel `bun:"table:import_supporters,alias:isr"`
	ImportID      int64 `bun:"import_id,pk"`
	FirstID       int64 `bun:"first_id,pk"`
	LastID        int64 `bun:"last_id"`
	Created       bool  `bun:"created,pk"`
}

// idRuns compresses ids into runs of consecutive ones.
func idRuns(importID int64, ids []int64, created bool) []importSupporterRun {
	if len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var runs []importSupporterRun
	for _, id := range ids {
		if n := len(runs); n > 0 && runs[n-1].LastID+1 == id {
			runs[n-1].LastID = id
			continue
		}
		runs = append(runs, importSupporterRun{ImportID: importID, FirstID: id, LastID: id, Created: created})
	}
	return runs
}

// snapshot is a deep copy of a supporter loaded with its relations, taken
// before the import merges into it.
func snapshot(s *Supporter) *Supporter {
	c := *s
	c.Tags = slices.Clone(s.Tags)
	c.Interests = slices.Clone(s.Interests)
	c.Attributes = maps.Clone(s.Attributes)
	return &c
}

// touchedByOthers returns which of ids someone other than the import
// changed since it began: a consent event or an audit entry about them.
func touchedByOthers(ctx context.Context, tx bun.IDB, run *importRun, ids []int64) (map[int64]bool, error) {
	var got []int64
	if err := tx.NewSelect().Table("consent_events").Column("supporter_id").
		Where("supporter_id IN (?) AND id > ?", bun.List(ids), run.ConsentMark).
		UnionAll(tx.NewSelect().Table("audit_log").Column("supporter_id").
			Where("supporter_id IN (?) AND id > ?", bun.List(ids), run.AuditMark)).
		Scan(ctx, &got); err != nil {
		return nil, err
	}
	kept := make(map[int64]bool, len(got))
	for _, id := range got {
		kept[id] = true
	}
	return kept, nil
}

// undoImport takes back what a running import wrote, in short
// transactions: changed supporters get their old rows, created ones are
// deleted, waiting consent events are dropped; anyone someone else changed
// meanwhile is kept (see the top of this file).
func (db *DB) undoImport(ctx context.Context, run *importRun) error {
	// Paced as the batches are (see importPacer), starting with a pause:
	// the failed import may just have had the lock for importHold.
	pace := db.newImportPacer()
	if err := pace.pause(ctx, nil); err != nil {
		return err
	}
	kept := 0
	// Supporters that existed: put back what they had.
	var last int64
	for {
		var rows []importUndoRow
		if err := db.bun.NewSelect().Model(&rows).Where("import_id = ? AND supporter_id > ?", run.ID, last).
			Order("supporter_id").Limit(undoChunk).Scan(ctx); err != nil {
			return fmt.Errorf("undo import %d: %w", run.ID, err)
		}
		if len(rows) == 0 {
			break
		}
		last = rows[len(rows)-1].SupporterID
		err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.SupporterID
			}
			others, err := touchedByOthers(ctx, tx, run, ids)
			if err != nil {
				return err
			}
			var keep []int64
			for _, r := range rows {
				if others[r.SupporterID] {
					keep = append(keep, r.SupporterID)
					continue
				}
				if err := restoreSupporter(ctx, tx, run, r); err != nil {
					return err
				}
			}
			kept += len(keep)
			if err := moveAllStaged(ctx, tx, run.ID, keep); err != nil {
				return err
			}
			_, err = tx.NewDelete().Table("import_undo").Where("import_id = ? AND supporter_id IN (?)", run.ID,
				bun.List(ids)).Exec(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("undo import %d: %w", run.ID, err)
		}
		if err := pace.step(ctx); err != nil {
			return err
		}
	}
	// Supporters it created: delete them.
	var runs []importSupporterRun
	if err := db.bun.NewSelect().Model(&runs).Where("import_id = ? AND created", run.ID).Order("first_id").
		Scan(ctx); err != nil {
		return fmt.Errorf("undo import %d: %w", run.ID, err)
	}
	var ids []int64
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		defer func() { ids = ids[:0] }()
		err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			others, err := touchedByOthers(ctx, tx, run, ids)
			if err != nil {
				return err
			}
			var keep, drop []int64
			for _, id := range ids {
				if others[id] {
					keep = append(keep, id)
				} else {
					drop = append(drop, id)
				}
			}
			kept += len(keep)
			if err := moveAllStaged(ctx, tx, run.ID, keep); err != nil {
				return err
			}
			if len(drop) == 0 {
				return nil
			}
			if _, err := tx.NewDelete().Table("import_consent_events").Where("import_id = ? AND supporter_id IN (?)",
				run.ID, bun.List(drop)).Exec(ctx); err != nil {
				return err
			}
			_, err = tx.NewDelete().Table("supporters").Where("id IN (?)", bun.List(drop)).Exec(ctx)
			return err
		})
		if err != nil {
			return err
		}
		return pace.step(ctx)
	}
	for _, r := range runs {
		for id := r.FirstID; id <= r.LastID; id++ {
			if ids = append(ids, id); len(ids) == undoChunk {
				if err := flush(); err != nil {
					return fmt.Errorf("undo import %d: %w", run.ID, err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("undo import %d: %w", run.ID, err)
	}
	// What is left waiting belongs to nobody kept.
	for {
		var n int64
		err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.NewDelete().Table("import_consent_events").Where("import_id = ?", run.ID).
				Where("id IN (?)", tx.NewSelect().Table("import_consent_events").Column("id").
					Where("import_id = ?", run.ID).Order("id").Limit(journalChunk)).Exec(ctx)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("undo import %d: %w", run.ID, err)
		}
		if n == 0 {
			break
		}
		if err := pace.step(ctx); err != nil {
			return err
		}
	}
	// Interests it created (--create-interests) that nobody uses now.
	if err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewDelete().Table("interests").Where("import_id = ?", run.ID).
			Where("NOT EXISTS (SELECT 1 FROM supporter_interests si WHERE si.interest = interests.name)").Exec(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("undo import %d: interests: %w", run.ID, err)
	}
	details := run.File
	if kept > 0 {
		details += fmt.Sprintf(": %d supporter(s) changed by someone else meanwhile keep the import's changes", kept)
	}
	return db.endImport(ctx, run, importUndone, &AuditEntry{At: db.Now(), Channel: run.Channel,
		Action: "import undone", Details: details})
}

// moveAllStaged moves the waiting consent events of the given supporters
// into consent_events, inside tx.
func moveAllStaged(ctx context.Context, tx bun.IDB, importID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	for {
		n, err := moveStagedConsentTx(ctx, tx, importID, ids)
		if err != nil || n == 0 {
			return err
		}
	}
}

// restoreSupporter puts back a supporter's row, relations and status on
// the import's list as they were before the import.
func restoreSupporter(ctx context.Context, tx bun.IDB, run *importRun, r importUndoRow) error {
	var b importBefore
	if err := json.Unmarshal([]byte(r.Before), &b); err != nil || b.Supporter == nil {
		return fmt.Errorf("supporter %d: unreadable undo record: %v", r.SupporterID, err)
	}
	s := b.Supporter
	s.ID = r.SupporterID
	s.CityKey, s.SourceKey = fold(s.City), fold(s.Source)
	if _, err := tx.NewUpdate().Model(s).WherePK().ExcludeColumn("id", "created_at", "email", "erased_at").
		Exec(ctx); err != nil {
		return fmt.Errorf("restore supporter %d: %w", s.ID, err)
	}
	for _, table := range []string{"supporter_tags", "supporter_interests", "supporter_attributes"} {
		if _, err := tx.NewDelete().Table(table).Where("supporter_id = ?", s.ID).Exec(ctx); err != nil {
			return fmt.Errorf("restore supporter %d: %w", s.ID, err)
		}
	}
	if err := insertTags(ctx, tx, s.ID, s.Tags); err != nil {
		return err
	}
	if len(s.Interests) > 0 {
		for i := range s.Interests {
			s.Interests[i].SupporterID = s.ID
		}
		if _, err := tx.NewInsert().Model(&s.Interests).Exec(ctx); err != nil {
			return fmt.Errorf("restore supporter %d: %w", s.ID, err)
		}
	}
	if len(s.Attributes) > 0 {
		attrs := make([]supporterAttribute, 0, len(s.Attributes))
		for k, v := range s.Attributes {
			attrs = append(attrs, newAttribute(s.ID, k, v))
		}
		if _, err := tx.NewInsert().Model(&attrs).Exec(ctx); err != nil {
			return fmt.Errorf("restore supporter %d: %w", s.ID, err)
		}
	}
	if run.ListID == 0 {
		return nil
	}
	var err error
	if b.Sub == "" {
		_, err = tx.NewDelete().Table("subscriptions").Where("supporter_id = ? AND list_id = ?", s.ID, run.ListID).Exec(ctx)
	} else {
		_, err = tx.NewUpdate().Table("subscriptions").Set("status = ?", b.Sub).
			Where("supporter_id = ? AND list_id = ?", s.ID, run.ListID).Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("restore supporter %d: %w", s.ID, err)
	}
	return nil
}

// ImportSubscribed returns the supporters a finished import subscribed to
// its list (ImportOptions.List), newly: what a welcome email is for. It
// reads the import's own consent events, so people the import found
// already subscribed, or who subscribed some other way meanwhile, are not
// among them. An import not finished yet (or undone) returns none.
func (tx *Tx) ImportSubscribed(ctx context.Context, importID int64) ([]int64, error) {
	var ids []int64
	err := tx.tx.NewSelect().TableExpr("consent_events AS ce").ColumnExpr("DISTINCT ce.supporter_id").
		Join("JOIN imports AS imp ON imp.id = ?", importID).
		Join("JOIN subscriptions AS sub ON sub.supporter_id = ce.supporter_id AND sub.list_id = ce.list_id").
		Where("imp.status = ?", importDone).
		Where("ce.id > imp.consent_mark AND ce.list_id = imp.list_id AND ce.source LIKE 'import:%'").
		Where("ce.action IN (?, ?) AND sub.status = ?", ActionSubscribe, ActionConfirm, StatusSubscribed).
		Where("EXISTS (SELECT 1 FROM import_supporters AS x WHERE x.import_id = imp.id "+
			"AND ce.supporter_id BETWEEN x.first_id AND x.last_id)").
		OrderExpr("ce.supporter_id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("import %d: subscribed: %w", importID, err)
	}
	return ids, nil
}
