package crm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
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
	const slowBound = 2 * time.Second // the promise: recorded within 2 s
	rows := 20000                     // each phase lasts seconds, unpaced
	if raceDetector || os.Getenv("CRM_TEST_POSTGRES") != "" {
		// The race detector makes every statement slower; PostgreSQL's
		// row locks never block the other writers, so there the test
		// only checks that no write fails or waits.
		rows = 2000
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

// TestImportsStartedTogetherOneRuns starts imports all at once, each held
// open after its header: exactly one may run, the others are refused with
// ErrConflict. Before, the check for an unfinished import and the insert
// of the new run were two transactions, and several imports began.
func TestImportsStartedTogetherOneRuns(t *testing.T) {
	const n = 6
	ctx := context.Background()
	db := openTest(t)
	open := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		// Enough before the gate for the reader to get past its header.
		var head bytes.Buffer
		head.WriteString("email\n")
		for j := range 10000 { // more than the 64 KB the reader sniffs
			fmt.Fprintf(&head, "f%d.%d@example.net\n", i, j)
		}
		rest := fmt.Sprintf("last.%d@example.net\n", i)
		g := &gatedReader{r: bytes.NewReader(head.Bytes()), rest: bytes.NewReader([]byte(rest)), open: open}
		go func() {
			_, err := db.ImportSupporters(ctx, g, crm.ImportOptions{FileName: fmt.Sprintf("f%d.csv", i)})
			errs <- err
		}()
	}
	// The refused ones return; the one that runs waits at its gate.
	for range n - 1 {
		select {
		case err := <-errs:
			if !errors.Is(err, crm.ErrConflict) {
				t.Fatalf("import refused with %v, want ErrConflict", err)
			}
		case <-time.After(20 * time.Second):
			u, _ := db.UnfinishedImports(ctx)
			t.Fatalf("several imports began together: %d unfinished", len(u))
		}
	}
	u, err := db.UnfinishedImports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 1 {
		t.Errorf("%d imports running, want 1", len(u))
	}
	close(open)
	if err := <-errs; err != nil {
		t.Fatalf("the import that began: %v", err)
	}
	if c, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); c != 10001 {
		t.Errorf("%d supporters, want 10001", c)
	}
}
