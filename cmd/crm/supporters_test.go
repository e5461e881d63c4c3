package main

import (
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// --address is kept on add and edit, shown by supporters show, and in
// the address column of the listings and in the export.
func TestSupporterAddressFlag(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "supporters", "add", "--email", "lea@example.org", "--address", " 5  rue Royale ", "--postcode", "1000",
		"--city", "Bruxelles", "--country", "Belgique")
	if out := mustRun(t, db, "supporters", "show", "lea@example.org"); !strings.Contains(out, "address       5 rue Royale\n") {
		t.Errorf("show:\n%s", out)
	}
	mustRun(t, db, "supporters", "edit", "lea@example.org", "--address", "12 rue des Lilas")
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "supporters", "list", "--format", "csv"))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv %q, %v", recs, err)
	}
	i := slices.Index(recs[0], "address")
	if i < 0 || recs[0][i+1] != "city" || recs[1][i] != "12 rue des Lilas" || recs[1][i+1] != "Bruxelles" || recs[1][i+2] != "1000" {
		t.Errorf("csv %q", recs)
	}
	var export struct {
		Supporter struct{ Address, Country string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "supporters", "export", "lea@example.org")), &export); err != nil ||
		export.Supporter.Address != "12 rue des Lilas" || export.Supporter.Country != "BE" {
		t.Errorf("export: %+v, %v", export, err)
	}
	mustRun(t, db, "supporters", "edit", "lea@example.org", "--address", "")
	if out := mustRun(t, db, "supporters", "show", "lea@example.org"); strings.Contains(out, "address") {
		t.Errorf("show after --address \"\":\n%s", out)
	}
}
