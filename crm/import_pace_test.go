package crm_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
)

// TestImportPacedInEveryPhase checks the promise that web writes go
// through during an import, in every phase that writes: the batches, the
// finish of a committed import (its consent events moved, its undo rows
// removed) and the undo of a failed one. A writer edits a supporter
// without pause from before the import starts until after it returned;
// none of its writes may fail, and none may wait longer than slowBound.
//
// The pacing is shortened (the lock held 150 ms, then left free 110 ms,
// still longer than the longest sleep of SQLite's busy handler) so that a
// small import shows it: each phase here lasts well over slowBound (see
// the logged timings), so a phase that runs its transactions back to back
// without pausing makes a write wait the whole phase and fails the test,
// under -race too. slowBound is far above what the pacing allows (150 ms
// plus one transaction plus 110 ms) and far under the 5 s busy timeout.
// Batches of 250 rows keep the first batch (before the import adapts its
// batch size to the machine) short under -race too: that first batch is
// the batch sizing's business, not the pacing's.
func TestImportPacedInEveryPhase(t *testing.T) {
	const slowBound = 1500 * time.Millisecond
	rows := 20000 // each phase lasts seconds, unpaced
	if raceDetector {
		rows = 2000 // the race detector makes every statement slower
	}
	if testing.Short() {
		t.Skip("imports thousands of rows twice")
	}
	defer crm.SetImportPacing(150*time.Millisecond, 110*time.Millisecond)()
	ctx := context.Background()
	db := openTest(t)
	for _, l := range []string{"lettre", "alertes"} {
		if err := db.CreateList(ctx, &crm.List{Name: l}); err != nil {
			t.Fatal(err)
		}
	}
	changer := mustSupporter(t, db, &crm.Supporter{Email: "changer@example.net"})
	var file bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&file, rows, 7); err != nil {
		t.Fatal(err)
	}

	var (
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		slowest time.Duration
		slowAt  time.Time
		t0      = time.Now()
		writes  int
		errs    []error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			city := fmt.Sprintf("Calais %d", i)
			start := time.Now()
			_, err := db.UpdateSupporter(ctx, changer.ID, crm.SupporterUpdate{City: &city})
			if took := time.Since(start); took > slowest {
				slowest, slowAt = took, start
			}
			writes++
			if err != nil {
				errs = append(errs, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(50 * time.Millisecond)

	// Batches, then the finish: every row created, with its consent event.
	start := time.Now()
	rep, err := db.ImportSupporters(ctx, bytes.NewReader(file.Bytes()),
		crm.ImportOptions{FileName: "big.csv", List: "lettre", Consent: "paper forms", BatchSize: 250})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != rows {
		t.Fatalf("created %d, want %d", rep.Created, rows)
	}
	t.Logf("import and finish: %s, ended %s after the test began", time.Since(start).Round(time.Millisecond),
		time.Since(t0).Round(time.Millisecond))

	// Batches, then the undo: the same people, all changed, then a fatal
	// error on the last line (an unterminated quote) undoes them all.
	broken := append(bytes.Clone(file.Bytes()), "\"late@example.net,Ann\n"...)
	start = time.Now()
	_, err = db.ImportSupporters(ctx, bytes.NewReader(broken),
		crm.ImportOptions{FileName: "broken.csv", List: "alertes", Consent: "paper forms", Overwrite: true,
			BatchSize: 250})
	if err == nil {
		t.Fatal("import of a file with an unterminated quote succeeded")
	}
	t.Logf("import and undo: %s", time.Since(start).Round(time.Millisecond))
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	for _, err := range errs {
		t.Errorf("write during an import: %v", err)
	}
	t.Logf("%d writes during the imports, slowest %s, begun %s after the test began", writes,
		slowest.Round(time.Millisecond), slowAt.Sub(t0).Round(time.Millisecond))
	if slowest > slowBound {
		t.Errorf("slowest write during the imports took %s, want under %s", slowest.Round(time.Millisecond), slowBound)
	}
	n, err := db.CountSupporters(ctx, crm.SupporterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n != rows+1 {
		t.Errorf("%d supporters after the imports, want %d", n, rows+1)
	}
}
