package crm_test

import (
	"testing"

	"github.com/assocrm/assocrm/crm"
)

func TestNumberInWords(t *testing.T) {
	for _, tt := range []struct {
		n      int64
		fr, be string
	}{
		{0, "zéro", "zéro"},
		{1, "un", "un"},
		{16, "seize", "seize"},
		{17, "dix-sept", "dix-sept"},
		{21, "vingt et un", "vingt et un"},
		{22, "vingt-deux", "vingt-deux"},
		{70, "soixante-dix", "septante"},
		{71, "soixante et onze", "septante et un"},
		{72, "soixante-douze", "septante-deux"},
		{77, "soixante-dix-sept", "septante-sept"},
		{80, "quatre-vingts", "quatre-vingts"},
		{81, "quatre-vingt-un", "quatre-vingt-un"},
		{90, "quatre-vingt-dix", "nonante"},
		{91, "quatre-vingt-onze", "nonante et un"},
		{99, "quatre-vingt-dix-neuf", "nonante-neuf"},
		{100, "cent", "cent"},
		{101, "cent un", "cent un"},
		{180, "cent quatre-vingts", "cent quatre-vingts"},
		{200, "deux cents", "deux cents"},
		{201, "deux cent un", "deux cent un"},
		{1000, "mille", "mille"},
		{1001, "mille un", "mille un"},
		{1980, "mille neuf cent quatre-vingts", "mille neuf cent quatre-vingts"},
		{2000, "deux mille", "deux mille"},
		{21000, "vingt et un mille", "vingt et un mille"},
		{80000, "quatre-vingt mille", "quatre-vingt mille"},
		{80080, "quatre-vingt mille quatre-vingts", "quatre-vingt mille quatre-vingts"},
		{200000, "deux cent mille", "deux cent mille"},
		{200200, "deux cent mille deux cents", "deux cent mille deux cents"},
		{1000000, "un million", "un million"},
		{2000000, "deux millions", "deux millions"},
		{80000000, "quatre-vingts millions", "quatre-vingts millions"},
		{200000000, "deux cents millions", "deux cents millions"},
		{1200300, "un million deux cent mille trois cents", "un million deux cent mille trois cents"},
		{3000000000, "trois milliards", "trois milliards"},
		{97971, "quatre-vingt-dix-sept mille neuf cent soixante et onze", "nonante-sept mille neuf cent septante et un"},
	} {
		if got := crm.NumberInWords(tt.n, false); got != tt.fr {
			t.Errorf("%d in French: %q, want %q", tt.n, got, tt.fr)
		}
		if got := crm.NumberInWords(tt.n, true); got != tt.be {
			t.Errorf("%d in Belgian French: %q, want %q", tt.n, got, tt.be)
		}
	}
}

func TestAmountInWords(t *testing.T) {
	for _, tt := range []struct {
		minor   int64
		belgian bool
		want    string
	}{
		{0, false, "zéro euro"},
		{1, false, "un centime"},
		{50, false, "cinquante centimes"},
		{100, false, "un euro"},
		{101, false, "un euro et un centime"},
		{12350, false, "cent vingt-trois euros et cinquante centimes"},
		{7100, true, "septante et un euros"},
		{9195, true, "nonante et un euros et nonante-cinq centimes"},
		{8000, false, "quatre-vingts euros"},
		{8000000, false, "quatre-vingt mille euros"},
		{20000000, false, "deux cent mille euros"},
		{100000000, false, "un million d'euros"},
		{100050000, false, "un million cinq cents euros"},
		{100000001, false, "un million d'euros et un centime"},
	} {
		if got := crm.AmountInWords(tt.minor, "EUR", tt.belgian); got != tt.want {
			t.Errorf("%d (belgian %v): %q, want %q", tt.minor, tt.belgian, got, tt.want)
		}
	}
}
