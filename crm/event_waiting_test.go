package crm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// WaitingPosition follows the order in which the waiting list is offered
// places, and moves people up as those ahead leave it.
func TestWaitingPosition(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	e := mustEvent(t, db, &crm.Event{Name: "distribution", Capacity: 2})
	var ids []int64
	for i := range 5 {
		ids = append(ids, mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("w%d@example.org", i)}).ID)
	}
	answer(t, db, "distribution", ids[0], crm.AnswerYes, 1) // both places
	answer(t, db, "distribution", ids[1], crm.AnswerMaybe, 0)
	for _, id := range ids[2:] {
		answer(t, db, "distribution", id, crm.AnswerYes, 0)
	}
	positions := func() []int {
		t.Helper()
		var got []int
		for _, id := range ids {
			p, err := db.WaitingPosition(ctx, e.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p)
		}
		return got
	}
	if got := fmt.Sprint(positions()); got != "[0 0 1 2 3]" {
		t.Errorf("positions = %s, want [0 0 1 2 3]", got)
	}
	// The second in line leaves the list: the third moves up; the first
	// answers yes again and keeps their place in line.
	answer(t, db, "distribution", ids[3], crm.AnswerNo, 0)
	answer(t, db, "distribution", ids[2], crm.AnswerYes, 1)
	if got := fmt.Sprint(positions()); got != "[0 0 1 0 2]" {
		t.Errorf("after one left = %s, want [0 0 1 0 2]", got)
	}
	// The order is the one EventAnswers lists the waiting list in.
	as, err := db.EventAnswers(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range as {
		if !a.Waiting {
			continue
		}
		n++
		if p, _ := db.WaitingPosition(ctx, e.ID, a.SupporterID); p != n {
			t.Errorf("%s is %d in EventAnswers' waiting list, WaitingPosition says %d", a.Email, n, p)
		}
	}
	if p, err := db.WaitingPosition(ctx, e.ID, 999999); p != 0 || err != nil {
		t.Errorf("someone who never answered: %d, %v", p, err)
	}
}
