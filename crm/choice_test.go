package crm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

func importString(t *testing.T, db *crm.DB, data string, opts crm.ImportOptions) *crm.ImportReport {
	t.Helper()
	if opts.FileName == "" {
		opts.FileName = "equipe.csv"
	}
	rep, err := db.ImportSupporters(context.Background(), strings.NewReader(data), opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

func interestsOf(t *testing.T, db *crm.DB, email string) []string {
	t.Helper()
	s, err := db.GetSupporterByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range s.Interests {
		names = append(names, in.Interest)
	}
	return names
}

// The team's sheet is imported again after Léa removed an interest and a
// tag herself: they stay removed, and the report counts her. A removal
// by the team is no choice of hers: the next import puts it back. When
// Léa adds the interest back herself, her choice is gone.
func TestImportKeepsOwnChoices(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	sheetCSV := "Courriel;Prénom;Intérêts;Étiquettes\n" +
		"lea@example.org;Léa;transport, terrain, traduction;cuisine\n" +
		"mo@example.org;Mo;transport;cuisine\n"
	if rep := importString(t, db, sheetCSV, crm.ImportOptions{}); rep.Created != 2 || rep.KeptOwnChoices != 0 {
		t.Fatalf("first import: %+v", rep)
	}
	lea, err := db.GetSupporterByEmail(ctx, "lea@example.org")
	if err != nil {
		t.Fatal(err)
	}
	// Léa, on her preferences page, leaves transport and the tag.
	if _, err := db.UpdateSupporter(ctx, lea.ID, crm.SupporterUpdate{RemoveInterests: []string{"transport"},
		RemoveTags: []string{"cuisine"}, BySupporter: "preferences page"}); err != nil {
		t.Fatal(err)
	}
	// The team removes traduction from her record.
	if _, err := db.UpdateSupporter(ctx, lea.ID, crm.SupporterUpdate{RemoveInterests: []string{"traduction"}}); err != nil {
		t.Fatal(err)
	}
	own, err := db.OwnChoices(ctx, lea.ID)
	if err != nil || len(own) != 2 || own[0].Kind != crm.ChoiceInterest || own[0].Name != "transport" ||
		own[0].Source != "preferences page" || own[1].Kind != crm.ChoiceTag || own[1].Name != "cuisine" {
		t.Fatalf("own choices = %+v, %v", own, err)
	}

	rep := importString(t, db, sheetCSV, crm.ImportOptions{Overwrite: true})
	if rep.KeptOwnChoices != 1 || rep.Updated != 1 || rep.Unchanged != 1 {
		t.Errorf("re-import: kept %d own choices, %d updated, %d unchanged; want 1, 1 (traduction back), 1",
			rep.KeptOwnChoices, rep.Updated, rep.Unchanged)
	}
	if got, want := interestsOf(t, db, "lea@example.org"), []string{"terrain", "traduction"}; !slices.Equal(got, want) {
		t.Errorf("léa's interests after the re-import = %v, want %v", got, want)
	}
	if s, _ := db.GetSupporterByEmail(ctx, "lea@example.org"); len(s.Tags) != 0 {
		t.Errorf("léa's tags after the re-import = %v, want none", s.Tags)
	}
	if got := interestsOf(t, db, "mo@example.org"); !slices.Equal(got, []string{"transport"}) {
		t.Errorf("mo's interests = %v", got)
	}
	// The same row twice in one file counts Léa once.
	rep = importString(t, db, sheetCSV+"LEA@example.org;;transport;\n", crm.ImportOptions{})
	if rep.KeptOwnChoices != 1 {
		t.Errorf("file naming léa twice: kept %d own choices, want 1", rep.KeptOwnChoices)
	}

	// She ticks transport again herself: the next import may add it back
	// (she has it already), and her choice about it is forgotten.
	if _, err := db.UpdateSupporter(ctx, lea.ID, crm.SupporterUpdate{
		SetInterests: []crm.SupporterInterest{{Interest: "transport"}}, BySupporter: "preferences page"}); err != nil {
		t.Fatal(err)
	}
	if own, _ := db.OwnChoices(ctx, lea.ID); len(own) != 1 || own[0].Name != "cuisine" {
		t.Errorf("own choices after adding transport back = %+v, want the tag only", own)
	}

	// Export shows them; erasure removes them.
	x, err := db.ExportSupporter(ctx, "lea@example.org")
	if err != nil || len(x.OwnChoices) != 1 {
		t.Errorf("export own choices = %+v, %v", x.OwnChoices, err)
	}
	if err := db.Forget(ctx, "lea@example.org"); err != nil {
		t.Fatal(err)
	}
	if own, err := db.OwnChoices(ctx, lea.ID); err != nil || len(own) != 0 {
		t.Errorf("own choices after erasure = %+v, %v", own, err)
	}
}

// --create-interests creates what the file names, labelled as written;
// a dry run creates nothing; an import that fails deletes the interests
// it created that nobody uses.
func TestImportCreatesInterests(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	data := "email,interests\na@example.org,Cuisine solidaire;terrain\nb@example.org,Aide (juridique)|cuisine solidaire\n"

	rep := importString(t, db, data, crm.ImportOptions{CreateInterests: true, DryRun: true})
	if !slices.Equal(rep.InterestsCreated, []string{"cuisine-solidaire", "aide-juridique"}) {
		t.Errorf("dry run would create %v", rep.InterestsCreated)
	}
	ins, err := db.Interests(ctx)
	if err != nil || len(ins) != 8 {
		t.Fatalf("after a dry run: %d interests (%v), want the 8 built in", len(ins), err)
	}

	rep = importString(t, db, data, crm.ImportOptions{CreateInterests: true})
	if rep.Created != 2 || rep.Warned != 0 || len(rep.InterestsCreated) != 2 {
		t.Errorf("import: %+v", rep)
	}
	if got := interestsOf(t, db, "b@example.org"); !slices.Equal(got, []string{"aide-juridique", "cuisine-solidaire"}) {
		t.Errorf("b's interests = %v", got)
	}
	ins, _ = db.Interests(ctx)
	i := slices.IndexFunc(ins, func(in crm.Interest) bool { return in.Name == "aide-juridique" })
	if i < 0 || ins[i].LabelFR != "Aide (juridique)" {
		t.Errorf("interests = %+v", ins)
	}
	// Again: nothing to create.
	if rep := importString(t, db, data, crm.ImportOptions{CreateInterests: true}); len(rep.InterestsCreated) != 0 {
		t.Errorf("second import created %v", rep.InterestsCreated)
	}

	// A failed import: its first batches commit, then a quote that never
	// closes ends it; the undo takes back the interest it made.
	defer crm.SetImportPacing(0, time.Millisecond)()
	var b strings.Builder
	b.WriteString("email,interests\nc@example.org,Maraudes\n")
	for range 50 {
		b.WriteString("d@example.org,terrain\n")
	}
	b.WriteString("\"e@example.org,terrain\n")
	_, err = db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{FileName: "broken.csv",
		CreateInterests: true, BatchSize: 1})
	var uq *sheet.UnterminatedQuoteError
	if !errors.As(err, &uq) {
		t.Fatalf("broken import: %v, want an unterminated quote", err)
	}
	ins, _ = db.Interests(ctx)
	if slices.ContainsFunc(ins, func(in crm.Interest) bool { return in.Name == "maraudes" }) {
		t.Errorf("the failed import's interest is still there: %+v", ins)
	}
	if _, err := db.GetSupporterByEmail(ctx, "c@example.org"); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("supporter of the failed import: %v", err)
	}
}
