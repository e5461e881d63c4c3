package crm_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// An import into an empty database looks up only the addresses it may
// have inserted itself. A person met again in a later batch is merged,
// and one another program adds while the import runs (a signup between
// two batches) is found and merged too, never inserted twice.
func TestImportIntoEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	defer crm.SetImportPacing(0, time.Millisecond)()
	var first bytes.Buffer
	first.WriteString("email,first_name,city\n")
	for i := range 3000 { // past the 64 KB the reader looks at first
		fmt.Fprintf(&first, "p%d@example.org,P%d-padding-padding-padding-padding,\n", i, i)
	}
	rest := "p7@example.org,,Calais\n" + // met again, 14 batches later
		"signup@example.org,Sam,Lille\n" // added by someone else meanwhile
	gate := &gatedReader{r: bytes.NewReader(first.Bytes()), rest: strings.NewReader(rest), open: make(chan struct{})}
	type result struct {
		rep *crm.ImportReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := db.ImportSupporters(ctx, gate, crm.ImportOptions{FileName: "f.csv", BatchSize: 200})
		done <- result{rep, err}
	}()
	waitForImport(t, db, 200, nil)
	if err := db.CreateSupporter(ctx, &crm.Supporter{Email: "signup@example.org", FirstName: "Samira"}); err != nil {
		t.Fatal(err)
	}
	close(gate.open)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.rep.Created != 3000 || r.rep.Duplicates != 1 || r.rep.Updated != 1 || r.rep.Rejected != 0 {
		t.Errorf("report: %+v", r.rep)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 3001 {
		t.Errorf("%d supporters, want 3001", n)
	}
	p7, _ := db.GetSupporterByEmail(ctx, "p7@example.org")
	sam, _ := db.GetSupporterByEmail(ctx, "signup@example.org")
	if p7 == nil || p7.City != "Calais" || sam == nil || sam.FirstName != "Samira" || sam.City != "Lille" {
		t.Errorf("merged: %+v %+v", p7, sam)
	}
}
