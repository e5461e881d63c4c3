package crm_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
)

// BenchmarkImportSupporters imports 20,000 generated supporters into an
// empty database per iteration; BenchmarkReimportSupporters imports them
// again into a database that already has them all (every row unchanged).
// The 1,000,000-row figures come from cmd/crmbench (see README).
func BenchmarkImportSupporters(b *testing.B) {
	var data bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&data, 20000, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(data.Len()))
	for b.Loop() {
		b.StopTimer()
		db := openTest(b)
		b.StartTimer()
		rep, err := db.ImportSupporters(context.Background(), bytes.NewReader(data.Bytes()), crm.ImportOptions{})
		if err != nil || rep.Created != 20000 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
}

func BenchmarkReimportSupporters(b *testing.B) {
	var data bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&data, 20000, 1); err != nil {
		b.Fatal(err)
	}
	db := openTest(b)
	if _, err := db.ImportSupporters(context.Background(), bytes.NewReader(data.Bytes()), crm.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(data.Len()))
	for b.Loop() {
		rep, err := db.ImportSupporters(context.Background(), bytes.NewReader(data.Bytes()), crm.ImportOptions{})
		if err != nil || rep.Unchanged != 20000 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
}
