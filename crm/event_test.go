package crm_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// The tests' clock starts on 2026-03-01 at 10:00 UTC (openTest).
var (
	tomorrow = time.Date(2026, 3, 2, 6, 30, 0, 0, time.UTC)
	lastYear = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
)

func mustEvent(t testing.TB, db *crm.DB, e *crm.Event) *crm.Event {
	t.Helper()
	if e.StartsAt.IsZero() {
		e.StartsAt = tomorrow
	}
	if err := db.CreateEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func answer(t testing.TB, db *crm.DB, event string, id int64, a crm.Answer, guests int) *crm.RSVPResult {
	t.Helper()
	res, err := db.AnswerEvent(context.Background(), crm.RSVPRequest{Event: event, SupporterID: id, Answer: a,
		Guests: guests, Source: "test"})
	if err != nil {
		t.Fatalf("%d answers %s to %s: %v", id, a, event, err)
	}
	return res
}

func TestEventFields(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	e := mustEvent(t, db, &crm.Event{Name: "Expulsion Rue des Lilas", Title: " Expulsion  rue des Lilas ",
		Address: "12 rue des Lilas", City: "Calais", Postcode: "62100", Kind: crm.KindAction, Capacity: 30})
	if e.Name != "expulsion-rue-des-lilas" {
		t.Errorf("name = %q", e.Name)
	}
	got, err := db.GetEvent(ctx, e.Name)
	if err != nil || got.Title != "Expulsion rue des Lilas" || got.Status != crm.EventScheduled ||
		!got.StartsAt.Equal(tomorrow) || got.Place() != "12 rue des Lilas, 62100 Calais" {
		t.Errorf("stored event = %+v, %v (place %q)", got, err, got.Place())
	}
	for _, bad := range []struct {
		e     crm.Event
		field string
	}{
		{crm.Event{Name: "", StartsAt: tomorrow}, "name"},
		{crm.Event{Name: "x"}, "start"},
		{crm.Event{Name: "x", StartsAt: tomorrow, EndsAt: tomorrow.Add(-time.Hour)}, "end"},
		{crm.Event{Name: "x", StartsAt: tomorrow, Kind: "party"}, "kind"},
		{crm.Event{Name: "x", StartsAt: tomorrow, Capacity: -1}, "capacity"},
	} {
		err := db.CreateEvent(ctx, &bad.e)
		var ve *crm.ValidationError
		if !errors.As(err, &ve) || ve.Field != bad.field {
			t.Errorf("create %+v: %v, want a validation error on %s", bad.e, err, bad.field)
		}
	}
	if err := db.CreateEvent(ctx, &crm.Event{Name: e.Name, StartsAt: tomorrow}); !errors.Is(err, crm.ErrConflict) {
		t.Errorf("same name again: %v", err)
	}
	title := "Expulsion annulée ?"
	if _, _, err := db.EditEvent(ctx, e.Name, crm.EventEdit{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CancelEvent(ctx, e.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CancelEvent(ctx, e.Name); !errors.Is(err, crm.ErrEventClosed) {
		t.Errorf("cancel twice: %v", err)
	}
	s := mustSupporter(t, db, &crm.Supporter{Email: "amina@example.org"})
	if _, err := db.AnswerEvent(ctx, crm.RSVPRequest{Event: e.Name, SupporterID: s.ID, Answer: crm.AnswerYes}); !errors.Is(err, crm.ErrEventClosed) {
		t.Errorf("answer to a cancelled event: %v", err)
	}
	started := mustEvent(t, db, &crm.Event{Name: "hier", StartsAt: lastYear})
	if _, err := db.AnswerEvent(ctx, crm.RSVPRequest{Event: started.Name, SupporterID: s.ID, Answer: crm.AnswerYes}); !errors.Is(err, crm.ErrEventClosed) {
		t.Errorf("answer to a started event: %v", err)
	}
	es, err := db.Events(ctx, crm.EventFilter{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Scheduled: true})
	if err != nil || len(es) != 0 {
		t.Errorf("upcoming scheduled events = %v, %v; want none (one cancelled, one past)", es, err)
	}
}

// Answers replace one another and the history keeps them all; a yes
// beyond the capacity waits, and freed places go to the waiting list in
// order, stopping at a party that does not fit.
func TestEventCapacityAndWaitingList(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	e := mustEvent(t, db, &crm.Event{Name: "distribution", Capacity: 4})
	var ids []int64
	for i := range 6 {
		ids = append(ids, mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("p%d@example.org", i)}).ID)
	}
	answer(t, db, "distribution", ids[0], crm.AnswerYes, 1) // 2 places
	answer(t, db, "distribution", ids[1], crm.AnswerMaybe, 0)
	answer(t, db, "distribution", ids[1], crm.AnswerYes, 0) // 3
	if r := answer(t, db, "distribution", ids[2], crm.AnswerYes, 2); !r.RSVP.Waiting {
		t.Errorf("a party of 3 with 1 place left: %+v, want waiting", r.RSVP)
	}
	if r := answer(t, db, "distribution", ids[3], crm.AnswerYes, 0); r.RSVP.Waiting {
		t.Errorf("a party of 1 with 1 place left waits: %+v", r.RSVP) // 4: full
	}
	if r := answer(t, db, "distribution", ids[4], crm.AnswerYes, 0); !r.RSVP.Waiting {
		t.Errorf("full, yet %+v", r.RSVP)
	}
	// Someone holding a place asks for more guests than are left: refused,
	// and keeps their place.
	_, err := db.AnswerEvent(ctx, crm.RSVPRequest{Event: "distribution", SupporterID: ids[3], Answer: crm.AnswerYes, Guests: 1})
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || ve.Field != "guests" {
		t.Errorf("more guests than places: %v", err)
	}
	c, err := db.CountAnswers(ctx, e)
	if err != nil || c != (crm.EventCounts{Yes: 3, Guests: 1, Waiting: 2, Coming: 4, PlacesLeft: 0}) || !c.Full() {
		t.Errorf("counts = %+v, %v", c, err)
	}
	// A party bigger than the event could ever hold is refused.
	if _, err := db.AnswerEvent(ctx, crm.RSVPRequest{Event: "distribution", SupporterID: ids[5], Answer: crm.AnswerYes,
		Guests: 4}); !errors.As(err, &ve) || ve.Field != "guests" {
		t.Errorf("a party of 5 for 4 places: %v", err)
	}
	// p0 and a guest leave: 2 places. p2's party of 3, first in line,
	// does not fit: it keeps its rank, and p4 (1), behind it, takes a
	// place rather than leave it empty.
	r := answer(t, db, "distribution", ids[0], crm.AnswerNo, 0)
	if len(r.Promoted) != 1 || r.Promoted[0].SupporterID != ids[4] {
		t.Errorf("promoted %+v, want p4", r.Promoted)
	}
	// One place is left that nobody waiting fits: a newcomer gets it.
	if r := answer(t, db, "distribution", ids[5], crm.AnswerYes, 0); r.RSVP.Waiting {
		t.Errorf("a newcomer for the place no one waiting fits: %+v", r.RSVP)
	}
	// p1 leaves: 1 place; p2's party of 3 still does not fit.
	if r := answer(t, db, "distribution", ids[1], crm.AnswerMaybe, 0); len(r.Promoted) != 0 {
		t.Errorf("promoted %+v into 1 place", r.Promoted)
	}
	// The capacity grows to 6: 3 places, p2's party gets in.
	capacity := 6
	_, promoted, err := db.EditEvent(ctx, "distribution", crm.EventEdit{Capacity: &capacity})
	if err != nil || len(promoted) != 1 || promoted[0].SupporterID != ids[2] {
		t.Errorf("capacity 6: promoted %+v, %v", promoted, err)
	}
	// The same answer again changes nothing and adds no history.
	if r := answer(t, db, "distribution", ids[4], crm.AnswerYes, 0); r.Changed {
		t.Errorf("the same answer again changed %+v", r.RSVP)
	}
	hist, err := db.RSVPHistory(ctx, e.ID, ids[1])
	if err != nil || len(hist) != 3 || hist[0].Answer != crm.AnswerMaybe || hist[1].Answer != crm.AnswerYes || hist[2].Answer != crm.AnswerMaybe {
		t.Errorf("p1's history = %+v, %v", hist, err)
	}
	hist, _ = db.RSVPHistory(ctx, e.ID, ids[4])
	if len(hist) != 2 || !hist[0].Waiting || hist[1].Waiting || hist[1].Source != "waiting list" {
		t.Errorf("p4's history = %+v", hist)
	}
	as, err := db.EventAnswers(ctx, e)
	if err != nil || len(as) != 6 || as[0].Email == "" {
		t.Fatalf("answers = %+v, %v", as, err)
	}
	if !as[0].Coming() || as[len(as)-1].Answer != crm.AnswerNo {
		t.Errorf("answers not in order (coming first, no last): %+v", as)
	}
}

// Two people answer yes at the same instant for the last place: one gets
// it, the other waits.
func TestEventLastPlaceOnce(t *testing.T) {
	db := openTest(t)
	mustEvent(t, db, &crm.Event{Name: "expulsion", Capacity: 1})
	const n = 8
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("v%d@example.org", i)}).ID
	}
	var wg sync.WaitGroup
	results := make([]*crm.RSVPResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = db.AnswerEvent(context.Background(), crm.RSVPRequest{Event: "expulsion",
				SupporterID: ids[i], Answer: crm.AnswerYes, Source: "web"})
		}()
	}
	close(start)
	wg.Wait()
	coming := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("answer %d: %v", i, errs[i])
		}
		if results[i].RSVP.Coming() {
			coming++
		}
	}
	e, _ := db.GetEvent(context.Background(), "expulsion")
	c, _ := db.CountAnswers(context.Background(), e)
	if coming != 1 || c.Coming != 1 || c.Waiting != n-1 {
		t.Errorf("%d answers got the place, counts %+v; want 1 coming, %d waiting", coming, c, n-1)
	}
}

// The event segment terms select what a brute-force count over the same
// random answers and attendance finds.
func TestEventSegmentTerms(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	events := []string{"a", "b", "c", "d"}
	for _, name := range events {
		mustEvent(t, db, &crm.Event{Name: name, Capacity: 25})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type person struct {
		answers  map[string]crm.RSVP
		attended map[string]bool
	}
	people := map[int64]*person{}
	for i := range 80 {
		id := mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("s%d@example.org", i)}).ID
		p := &person{answers: map[string]crm.RSVP{}, attended: map[string]bool{}}
		people[id] = p
		for _, ev := range events {
			switch rng.IntN(5) {
			case 0:
			case 1:
				p.answers[ev] = answer(t, db, ev, id, crm.AnswerNo, 0).RSVP
			case 2:
				p.answers[ev] = answer(t, db, ev, id, crm.AnswerMaybe, 0).RSVP
			default:
				p.answers[ev] = answer(t, db, ev, id, crm.AnswerYes, rng.IntN(2)).RSVP
			}
		}
	}
	// The events happened: attendance is recorded afterwards.
	past := lastYear
	for _, ev := range events {
		if _, _, err := db.EditEvent(ctx, ev, crm.EventEdit{StartsAt: &past}); err != nil {
			t.Fatal(err)
		}
		var came, missed []int64
		for id, p := range people {
			if r, ok := p.answers[ev]; ok && r.Answer != crm.AnswerNo {
				if rng.IntN(3) > 0 {
					came = append(came, id)
					p.attended[ev] = true
				} else {
					missed = append(missed, id)
				}
			}
		}
		if err := db.RecordAttendance(ctx, ev, came, crm.Attended); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordAttendance(ctx, ev, missed, crm.NoShow); err != nil {
			t.Fatal(err)
		}
	}
	attendedCount := func(p *person) int { return len(p.attended) }
	for _, tt := range []struct {
		expr string
		want func(p *person) bool
	}{
		{"event:a", func(p *person) bool { r, ok := p.answers["a"]; return ok && r.Coming() }},
		{"event.no:b", func(p *person) bool { return p.answers["b"].Answer == crm.AnswerNo }},
		{"event.maybe:c", func(p *person) bool { return p.answers["c"].Answer == crm.AnswerMaybe }},
		{"attended:d", func(p *person) bool { return p.attended["d"] }},
		{"attended.count>=3", func(p *person) bool { return attendedCount(p) >= 3 }},
		{"attended.count<2", func(p *person) bool { return attendedCount(p) < 2 }},
		{"attended.count=0", func(p *person) bool { return attendedCount(p) == 0 }},
		{"event:a AND NOT attended:a", func(p *person) bool { r, ok := p.answers["a"]; return ok && r.Coming() && !p.attended["a"] }},
		{"event.maybe:a OR attended.count>1", func(p *person) bool {
			return p.answers["a"].Answer == crm.AnswerMaybe || attendedCount(p) > 1
		}},
	} {
		want := 0
		for _, p := range people {
			if tt.want(p) {
				want++
			}
		}
		got, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: tt.expr})
		if err != nil || got != want {
			t.Errorf("%s: %d supporters (%v), brute force %d", tt.expr, got, err, want)
		}
	}
	for _, bad := range []string{"event:nope", "attended.count>=x", "event>a"} {
		if _, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: bad}); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("%s: %v, want an invalid segment", bad, err)
		}
	}
}

// Erasure removes the person's answers, their history and attendance; the
// export holds them before.
func TestEventErasure(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	e := mustEvent(t, db, &crm.Event{Name: "manif"})
	s := mustSupporter(t, db, &crm.Supporter{Email: "lea@example.org"})
	answer(t, db, "manif", s.ID, crm.AnswerMaybe, 0)
	answer(t, db, "manif", s.ID, crm.AnswerYes, 2)
	x, err := db.ExportSupporter(ctx, "lea@example.org")
	if err != nil || len(x.Events.Answers) != 2 {
		t.Fatalf("export events = %+v, %v", x.Events, err)
	}
	if err := db.Forget(ctx, "lea@example.org"); err != nil {
		t.Fatal(err)
	}
	if r, err := db.GetRSVP(ctx, e.ID, s.ID); err != nil || r != nil {
		t.Errorf("answer after erasure: %+v, %v", r, err)
	}
	if h, err := db.RSVPHistory(ctx, e.ID, s.ID); err != nil || len(h) != 0 {
		t.Errorf("history after erasure: %+v, %v", h, err)
	}
	if c, _ := db.CountAnswers(ctx, e); c.Yes != 0 {
		t.Errorf("counts after erasure: %+v", c)
	}
}
