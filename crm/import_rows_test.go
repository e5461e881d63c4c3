package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/sheet"
)

func testSheet(t *testing.T, rows int) *sheet.Reader {
	t.Helper()
	var b strings.Builder
	b.WriteString("email,n\n")
	for i := range rows {
		fmt.Fprintf(&b, "p%d@example.org,%d\n", i, i)
	}
	sr, err := sheet.NewReader(strings.NewReader(b.String()), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

// eachRow hands rows over in file order, reports rejections in their
// place, stops at use's error, and raises parse's panic on the caller's
// goroutine (a panic in its reader goroutine would end the process).
func TestEachRow(t *testing.T) {
	ctx := context.Background()
	parse := func(rec []string, line int) (int, *Rejection) {
		if line%7 == 0 {
			return 0, &Rejection{Line: line, Reason: "seven"}
		}
		return line, nil
	}
	var got, rejected []int
	rows := 0
	err := eachRow(ctx, testSheet(t, 1000), &rows, func(r Rejection) { rejected = append(rejected, r.Line) },
		parse, func(line int) error { got = append(got, line); return nil }, nil)
	if err != nil || rows != 1000 || len(got)+len(rejected) != 1000 {
		t.Fatalf("rows %d, got %d, rejected %d, %v", rows, len(got), len(rejected), err)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("out of order: %d after %d", got[i], got[i-1])
		}
	}
	stop := errors.New("stop")
	n := 0
	err = eachRow(ctx, testSheet(t, 1000), &rows, func(Rejection) {}, parse,
		func(int) error { n++; return map[bool]error{true: stop}[n == 300] }, nil)
	if !errors.Is(err, stop) || n != 300 {
		t.Fatalf("after use's error: %v, %d rows used", err, n)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want parse's panic", p)
		}
	}()
	eachRow(ctx, testSheet(t, 1000), &rows, func(Rejection) {}, func(rec []string, line int) (int, *Rejection) {
		if line == 500 {
			panic("boom")
		}
		return line, nil
	}, func(int) error { return nil }, nil)
	t.Fatal("no panic")
}
