package crm_test

import (
	"context"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// An event's Sequence counts its edits and its cancellation, one each,
// whatever the time between them.
func TestEventSequenceCountsChanges(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	e := mustEvent(t, db, &crm.Event{Name: "manif"})
	if e.Sequence != 0 {
		t.Errorf("a new event's sequence = %d", e.Sequence)
	}
	title, later := "Manif", tomorrow.Add(24*time.Hour)
	for i, edit := range []crm.EventEdit{{Title: &title}, {StartsAt: &later}} {
		got, _, err := db.EditEvent(ctx, "manif", edit)
		if err != nil {
			t.Fatal(err)
		}
		if got.Sequence != i+1 {
			t.Errorf("after edit %d: sequence %d", i+1, got.Sequence)
		}
	}
	if got, err := db.CancelEvent(ctx, "manif"); err != nil || got.Sequence != 3 {
		t.Fatalf("cancel: sequence %v, %v", got, err)
	}
	if got, err := db.GetEvent(ctx, "manif"); err != nil || got.Sequence != 3 {
		t.Errorf("stored sequence: %+v, %v", got, err)
	}
}

// EventPeople lists those coming by when they answered (not by name),
// then the waiting list, maybe, no, and last those whose attendance was
// recorded without an answer; CountAttendance counts the attendance, and
// a supporter's profile names the events of their answers and
// attendance.
func TestEventPeopleOrderAndAttendance(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	// The test clock moves a second per reading: the event starts a
	// minute from now, after the answers.
	start := db.Now().Add(time.Minute)
	e := mustEvent(t, db, &crm.Event{Name: "distribution", Title: "Distribution d'hiver", StartsAt: start, Capacity: 3})
	ids := map[string]int64{}
	for _, p := range []struct{ email, last string }{
		{"zed@example.org", "Zola"}, {"amy@example.org", "Abel"}, {"may@example.org", "Meyer"},
		{"non@example.org", "Ndiaye"}, {"big@example.org", "Bach"}, {"walk@example.org", "Adam"},
	} {
		ids[p.email] = mustSupporter(t, db, &crm.Supporter{Email: p.email, LastName: p.last}).ID
	}
	answer(t, db, "distribution", ids["zed@example.org"], crm.AnswerYes, 0)
	answer(t, db, "distribution", ids["may@example.org"], crm.AnswerMaybe, 0)
	answer(t, db, "distribution", ids["amy@example.org"], crm.AnswerYes, 0)
	if r := answer(t, db, "distribution", ids["big@example.org"], crm.AnswerYes, 2); !r.RSVP.Waiting {
		t.Fatalf("a party of 3 for 1 place left: %+v", r.RSVP)
	}
	answer(t, db, "distribution", ids["non@example.org"], crm.AnswerNo, 0)
	for db.Now().Before(start) {
	}
	if err := db.RecordAttendance(ctx, "distribution", []int64{ids["zed@example.org"], ids["walk@example.org"]}, crm.Attended); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordAttendance(ctx, "distribution", []int64{ids["amy@example.org"]}, crm.NoShow); err != nil {
		t.Fatal(err)
	}

	people, err := db.EventPeople(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range people {
		got = append(got, p.Email+" "+string(p.Answer)+" "+p.Attendance)
	}
	want := []string{"zed@example.org yes attended", "amy@example.org yes no-show", "big@example.org yes ",
		"may@example.org maybe ", "non@example.org no ", "walk@example.org  attended"}
	if len(got) != len(want) {
		t.Fatalf("people = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("person %d = %q, want %q", i+1, got[i], want[i])
		}
	}
	if !people[2].Waiting {
		t.Errorf("the party of 3 is not shown waiting: %+v", people[2])
	}
	if c, err := db.CountAttendance(ctx, e); err != nil || c != (crm.AttendanceCounts{Attended: 2, NoShow: 1}) {
		t.Errorf("attendance counts = %+v, %v", c, err)
	}

	p, err := db.GetProfile(ctx, "zed@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if ev := p.Events; ev == nil || len(ev.Answers) != 1 || ev.Answers[0].Event != "distribution" ||
		ev.Answers[0].EventTitle != "Distribution d'hiver" || ev.Answers[0].Answer != crm.AnswerYes ||
		len(ev.Attendance) != 1 || ev.Attendance[0].Event != "distribution" || ev.Attendance[0].Status != crm.Attended {
		t.Errorf("profile events = %+v", p.Events)
	}
	x, err := db.ExportSupporter(ctx, "walk@example.org")
	if err != nil || len(x.Events.Answers) != 0 || len(x.Events.Attendance) != 1 ||
		x.Events.Attendance[0].EventTitle != "Distribution d'hiver" {
		t.Errorf("export events = %+v, %v", x.Events, err)
	}
}
