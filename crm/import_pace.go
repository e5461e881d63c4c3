package crm

import (
	"context"
	"time"
)

// importPacer paces everything an import writes on SQLite, whose write
// lock is one for the whole file: the batches of rows, the finish of a
// committed import (moving its consent events, removing its undo rows)
// and the undo of a failed one. Each of these is a series of short
// transactions; run back to back, they keep the lock as surely as one
// long transaction does, because a writer waiting in SQLite's busy
// handler sleeps up to 100 ms between tries and the next transaction of
// the import takes the lock back before it wakes. So whatever the phase,
// once the import has had the lock for importHold since it last left it
// free, it leaves it free for importPause (longer than that sleep), and
// a waiting writer gets its turn within about importHold plus one
// transaction. On PostgreSQL, whose row locks do not block the other
// writers, the pacer never waits.
type importPacer struct {
	sqlite bool
	since  time.Time // when the import last left the lock free
}

func (db *DB) newImportPacer() *importPacer {
	return &importPacer{sqlite: db.isSQLite(), since: time.Now()}
}

// due reports whether the import has had the lock, in one transaction or
// several back to back, for importHold since its last pause.
func (p *importPacer) due() bool {
	return p.sqlite && time.Since(p.since) >= importHold
}

// pause leaves the lock free for importPause; call it with no
// transaction open. during, if not nil, runs at the start of the pause
// (work the import would otherwise wait for, such as a checkpoint).
func (p *importPacer) pause(ctx context.Context, during func()) error {
	if !p.sqlite {
		return nil
	}
	start := time.Now()
	if during != nil {
		during()
	}
	t := time.NewTimer(importPause - time.Since(start))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	p.since = time.Now()
	return nil
}

// step is called after each committed transaction: it pauses if due.
func (p *importPacer) step(ctx context.Context) error {
	if !p.due() {
		return nil
	}
	return p.pause(ctx, nil)
}
