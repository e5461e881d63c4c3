package crm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// Someone erased between two batches of an import is not brought back
// by a later row of the same file.
func TestForgetBetweenImportBatches(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	defer crm.SetImportPacing(0, time.Millisecond)()
	mustSupporter(t, db, &crm.Supporter{Email: "victim@example.org", FirstName: "Vic"})
	var first bytes.Buffer
	first.WriteString("email,first_name\n")
	for i := range 3000 { // past the 64 KB the reader looks at first
		fmt.Fprintf(&first, "p%d@example.org,P%d-padding-padding-padding-padding\n", i, i)
	}
	gate := &gatedReader{r: bytes.NewReader(first.Bytes()), rest: strings.NewReader("victim@example.org,Victoria\n"),
		open: make(chan struct{})}
	type result struct {
		rep *crm.ImportReport
		err error
	}
	done := make(chan result, 1)
	errc := make(chan error, 1)
	go func() {
		rep, err := db.ImportSupporters(ctx, gate, crm.ImportOptions{FileName: "f.csv", BatchSize: 200})
		done <- result{rep, err}
	}()
	waitForImport(t, db, 200, errc)
	// The import may be writing a batch: the erasure is committed, and
	// only the log's truncation is left for later (ErrLogBusy).
	if err := db.Forget(ctx, "victim@example.org"); err != nil && !errors.Is(err, crm.ErrLogBusy) {
		t.Fatal(err)
	}
	close(gate.open)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if s, err := db.GetSupporterByEmail(ctx, "victim@example.org"); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("the erased person is back: %+v, %v", s, err)
	}
	if r.rep.Rejected != 1 || !strings.Contains(r.rep.Rejections[0].Reason, "erased") {
		t.Errorf("report: %+v", r.rep.Rejections)
	}
}

// concurrently runs write on the supporters of ids, one after another in
// a loop, while an import rewrites them all in one batch, and returns the
// ids whose write committed.
func concurrently(t *testing.T, db *crm.DB, csv string, opts crm.ImportOptions, ids []int64, write func(id int64) error) []int64 {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := db.ImportSupporters(context.Background(), strings.NewReader(csv), opts)
		done <- err
	}()
	var ok []int64
	for i := 0; ; i = (i + 7) % len(ids) {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return ok
		default:
		}
		if err := write(ids[i]); err == nil {
			ok = append(ok, ids[i])
		}
		// A busy web site, not a writer that never lets go: SQLite's
		// busy handler is not fair, and a loop without a pause could
		// keep the import from ever starting.
		time.Sleep(5 * time.Millisecond)
	}
}

// What the web writes about a person while an import rewrites them is
// kept: a language change, an unsubscribe, an erasure. (On PostgreSQL the
// import locks the rows it rewrites; before, it wrote back what it had
// read over changes committed in between.)
func TestImportKeepsConcurrentWebWrites(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	const n = 1500
	ids := make([]int64, n)
	var b strings.Builder
	b.WriteString("email,first_name,city\n")
	for i := range n {
		s := mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("x%d@example.org", i), FirstName: "Secret"})
		ids[i] = s.ID
		fmt.Fprintf(&b, "x%d@example.org,X%d,Lille\n", i, i)
	}
	opts := crm.ImportOptions{FileName: "f.csv", List: "lettre", Consent: "paper", Overwrite: true, BatchSize: n}

	en := "en"
	changed := concurrently(t, db, b.String(), opts, ids, func(id int64) error {
		_, err := db.UpdateSupporter(ctx, id, crm.SupporterUpdate{Language: &en})
		return err
	})
	for _, id := range changed {
		if s, _ := db.GetSupporter(ctx, id); s.Language != "en" {
			t.Errorf("supporter %d: the language set during the import was lost", id)
		}
	}

	left := concurrently(t, db, b.String(), opts, ids, func(id int64) error {
		_, err := db.Unsubscribe(ctx, id, "lettre", crm.Consent{Source: crm.SourceWeb})
		return err
	})
	for _, id := range left {
		if subs, _ := db.Subscriptions(ctx, id); len(subs) != 1 || subs[0].Status != crm.StatusUnsubscribed {
			t.Errorf("supporter %d unsubscribed during the import and is %+v after it", id, subs)
		}
	}

	erased := concurrently(t, db, b.String(), opts, ids, func(id int64) error {
		s, err := db.GetSupporter(ctx, id)
		if err != nil || !s.ErasedAt.IsZero() {
			return errors.New("skip")
		}
		return db.Forget(ctx, s.Email)
	})
	for _, id := range erased {
		if s, _ := db.GetSupporter(ctx, id); s.ErasedAt.IsZero() || s.FirstName != "" || s.City != "" {
			t.Errorf("supporter %d erased during the import is %+v after it", id, s)
		}
	}
	t.Logf("during the imports: %d language changes, %d unsubscribes, %d erasures", len(changed), len(left), len(erased))
}

// The audit log of a supporter finds every import that changed them, also
// when a later batch saw them again with others after them.
func TestAuditLogFindsEveryImportedChange(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var ids []int64
	for i := range 5 {
		ids = append(ids, mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("s%d@example.org", i)}).ID)
	}
	csv := "email,city,tags\n" +
		"s0@example.org,Lille,\ns1@example.org,Lille,\ns2@example.org,Lille,\nn1@example.org,,\nn2@example.org,,\n" +
		"s0@example.org,,b\ns1@example.org,,b\ns2@example.org,,b\ns3@example.org,Arras,\ns4@example.org,Arras,\n"
	if _, err := db.ImportSupporters(ctx, strings.NewReader(csv), crm.ImportOptions{FileName: "f.csv", BatchSize: 5}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		log, err := db.AuditLog(ctx, crm.AuditFilter{SupporterID: id})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range log {
			found = found || strings.HasPrefix(e.Action, "import")
		}
		if !found {
			t.Errorf("supporter %d: the import is missing from %+v", id, log)
		}
	}
}
