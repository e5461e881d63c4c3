package crm_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// BenchmarkDonationReports runs the treasurer's reports over a large
// association's history: 50,000 gifts of 5,000 donors over six years.
func BenchmarkDonationReports(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	rng := rand.New(rand.NewPCG(5, 6))
	var in strings.Builder
	in.WriteString("email,amount,date,fund\n")
	for range 50000 {
		fmt.Fprintf(&in, "d%04d@example.org,%d.%02d,%d-%02d-%02d,%s\n", rng.IntN(5000), 5+rng.IntN(200), rng.IntN(100),
			2020+rng.IntN(6), 1+rng.IntN(12), 1+rng.IntN(28), []string{"", "hiver", "loyer"}[rng.IntN(3)])
	}
	if rep, err := db.ImportDonations(ctx, strings.NewReader(in.String()), crm.DonationImportOptions{}); err != nil || rep.Created != 50000 {
		b.Fatalf("import: %+v, %v", rep, err)
	}
	for _, bm := range []struct {
		name string
		run  func() error
	}{
		{"by-month", func() error { _, err := db.DonationReport(ctx, crm.DonationFilter{}, crm.ByMonth); return err }},
		{"by-donor", func() error { _, err := db.DonorReport(ctx, crm.DonationFilter{}); return err }},
		{"retention", func() error { _, err := db.RetentionReport(ctx, crm.RetentionOptions{Year: 2025}); return err }},
		{"chart-png", func() error {
			_, err := db.WriteDonationChart(ctx, io.Discard, crm.DonationChartOptions{Format: "png"})
			return err
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bm.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
