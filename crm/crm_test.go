package crm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
)

// openTest opens a fresh database with a clock the test controls: a
// SQLite file in a temporary folder, or, when CRM_TEST_POSTGRES holds a
// PostgreSQL DSN, a new schema of that database, dropped at the end.
func openTest(t testing.TB) *crm.DB {
	t.Helper()
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex // tests write from several goroutines
	opt := crm.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	})
	db, err := crm.Open(context.Background(), crmtest.Database(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustSupporter(t testing.TB, db *crm.DB, s *crm.Supporter) *crm.Supporter {
	t.Helper()
	if err := db.CreateSupporter(context.Background(), s); err != nil {
		t.Fatalf("create %s: %v", s.Email, err)
	}
	return s
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"alice@example.org", "alice@example.org", true},
		{"  Alice@Example.ORG\u00a0", "alice@example.org", true},
		{"ÉLODIE@exemple.fr", "élodie@exemple.fr", true},
		{"e\u0301lodie@exemple.fr", "élodie@exemple.fr", true}, // NFD to NFC
		{"a.b+news@sub.example.org", "a.b+news@sub.example.org", true},
		{"", "", false},
		{"alice", "", false},
		{"alice@", "", false},
		{"@example.org", "", false},
		{"alice@localhost", "", false},
		{"alice@example..org", "", false},
		{"Alice <alice@example.org>", "", false},
		{"alice@example.org, bob@example.org", "", false},
		{"ali ce@example.org", "", false},
	}
	for _, tt := range tests {
		got, err := crm.NormalizeEmail(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("NormalizeEmail(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			var ve *crm.ValidationError
			if !errors.As(err, &ve) || ve.Field != "email" || !errors.Is(err, crm.ErrInvalid) {
				t.Errorf("NormalizeEmail(%q) error = %#v, want a ValidationError on email", tt.in, err)
			}
		}
		if got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		errPart string
	}{
		{"25.50", "EUR", 2550, ""},
		{"25,50", "EUR", 2550, ""},
		{"25", "eur", 2500, ""},
		{"25,5", "EUR", 2550, ""},
		{"1 234,56", "EUR", 123456, ""},
		{"1\u202f234,56", "EUR", 123456, ""},
		{"1.234,56", "EUR", 123456, ""},
		{"1,234.56", "USD", 123456, ""},
		{"14,95 €", "EUR", 1495, ""},
		{"300", "JPY", 300, ""},
		{"1.500", "KWD", 1500, ""},
		{"-1", "EUR", 0, "must be positive"},
		{"0", "EUR", 0, "must be positive"},
		{"abc", "EUR", 0, "not a number"},
		{"", "EUR", 0, "missing"},
		{"1,234", "EUR", 0, "more decimals"},
		{"25.5.0", "EUR", 0, "two decimal separators"},
		{"10.5", "JPY", 0, "more decimals"},
		{"99999999999999999999", "EUR", 0, "too large"},
		{"10", "EURO", 0, "ISO 4217"},
		{"10", "ZZZ", 0, "ISO 4217"},
	}
	for _, tt := range tests {
		got, err := crm.ParseAmount(tt.in, tt.cur)
		if tt.errPart != "" {
			if err == nil || !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("ParseAmount(%q, %s) = %d, %v; want error with %q", tt.in, tt.cur, got, err, tt.errPart)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d", tt.in, tt.cur, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		minor int64
		cur   string
		want  string
	}{{2550, "EUR", "25.50"}, {5, "EUR", "0.05"}, {300, "JPY", "300"}, {1500, "KWD", "1.500"}} {
		if got := crm.FormatAmount(tt.minor, tt.cur); got != tt.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
	}
}
