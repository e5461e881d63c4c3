package newsletter_test

import (
	"context"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// An answer that frees a place lets the first waiting party in and
// queues, in the same transaction, the email that tells them; so does a
// larger capacity.
func TestAnswerEventQueuesPlaceNotices(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	n := e.newsletter(t)
	if err := e.db.CreateEvent(ctx, &crm.Event{Name: "expulsion", StartsAt: time.Date(2026, 3, 2, 6, 30, 0, 0, time.UTC),
		Capacity: 1, Kind: crm.KindAction}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, email := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		s := &crm.Supporter{Email: email}
		if err := e.db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
		if _, err := n.AnswerEvent(ctx, crm.RSVPRequest{Event: "expulsion", SupporterID: s.ID, Answer: crm.AnswerYes, Source: "web"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := n.AnswerEvent(ctx, crm.RSVPRequest{Event: "expulsion", SupporterID: ids[0], Answer: crm.AnswerNo, Source: "web"})
	if err != nil || len(res.Promoted) != 1 || res.Promoted[0].SupporterID != ids[1] {
		t.Fatalf("a leaves: %+v, %v", res, err)
	}
	two := 2
	if _, promoted, err := n.EditEvent(ctx, "expulsion", crm.EventEdit{Capacity: &two}); err != nil || len(promoted) != 1 {
		t.Fatalf("capacity 2: %+v, %v", promoted, err)
	}
	var got []int64
	if err := dbutil.DB(e.db).NewSelect().Table("newsletter_notices").Column("supporter_id").
		Where("kind = 'event-place'").Order("id").Scan(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != ids[1] || got[1] != ids[2] {
		t.Errorf("place notices for %v, want b then c (%v)", got, ids[1:])
	}
}
