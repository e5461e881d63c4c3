package crm

import "strings"

// Amounts in words, as a tax receipt states them ("cent vingt-trois euros
// et cinquante centimes").
//
// The rules are the traditional French spelling (the one the Cerfa forms
// and banks use), not the 1990 reform that hyphenates everything:
//
//   - hyphens between tens and units below one hundred (vingt-deux), "et"
//     before un and onze after vingt to soixante-dix (vingt et un,
//     soixante et onze) but not after quatre-vingt (quatre-vingt-un);
//   - vingt and cent take an s when multiplied and last: quatre-vingts,
//     deux cents; not when another number follows (quatre-vingt-deux,
//     deux cent un) nor before mille, an adjective (quatre-vingt mille,
//     deux cent mille: the converters checked got these two wrong); but
//     they do before million and milliard, which are nouns (deux cents
//     millions);
//   - mille never varies and takes no un (mille, deux mille); million and
//     milliard are nouns (un million, deux millions) and take "d'" before
//     the currency when nothing follows (un million d'euros).
//
// Belgian French says septante (70) and nonante (90), with "et un" like
// the other tens (septante et un, nonante et un); 80 stays quatre-vingts.

var unitWords = [...]string{"zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
	"onze", "douze", "treize", "quatorze", "quinze", "seize"}

var tenWords = [...]string{2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}

// NumberInWords writes n (0 or more) in French words; belgian uses
// septante and nonante.
func NumberInWords(n int64, belgian bool) string {
	if n < 0 {
		return "moins " + NumberInWords(-n, belgian)
	}
	if n == 0 {
		return unitWords[0]
	}
	var parts []string
	for _, big := range []struct {
		size int64
		name string
	}{{1_000_000_000, "milliard"}, {1_000_000, "million"}} {
		if q := n / big.size; q > 0 {
			var w string
			if q < 1000 {
				w = below1000(q, true, belgian)
			} else { // a thousand billions or more: the multiplier read as one number
				w = NumberInWords(q, belgian)
			}
			name := big.name
			if q > 1 {
				name += "s"
			}
			parts = append(parts, w+" "+name)
			n %= big.size
		}
	}
	if k := n / 1000; k > 0 {
		if k == 1 {
			parts = append(parts, "mille")
		} else {
			parts = append(parts, below1000(k, false, belgian)+" mille")
		}
		n %= 1000
	}
	if n > 0 {
		parts = append(parts, below1000(n, true, belgian))
	}
	return strings.Join(parts, " ")
}

// below1000 writes 1 ≤ n < 1000; last says nothing but a noun (million,
// milliard, the currency) follows, so vingt and cent may take their s.
func below1000(n int64, last, belgian bool) string {
	h, r := n/100, n%100
	var w string
	switch {
	case h == 1:
		w = "cent"
	case h > 1:
		w = unitWords[h] + " cent"
		if r == 0 && last {
			w += "s"
		}
	}
	if r == 0 {
		return w
	}
	if w != "" {
		w += " "
	}
	return w + below100(r, last, belgian)
}

// below100 writes 1 ≤ n < 100.
func below100(n int64, last, belgian bool) string {
	if n <= 16 {
		return unitWords[n]
	}
	if n < 20 {
		return "dix-" + unitWords[n-10]
	}
	t, u := n/10, n%10
	var ten string
	switch {
	case t <= 6:
		ten = tenWords[t]
	case t == 7 && belgian:
		ten = "septante"
	case t == 9 && belgian:
		ten = "nonante"
	case t == 7: // soixante-dix, soixante et onze, soixante-douze
		if u == 1 {
			return "soixante et onze"
		}
		return "soixante-" + below100(10+u, last, belgian)
	case t == 8:
		if u == 0 {
			if last {
				return "quatre-vingts"
			}
			return "quatre-vingt"
		}
		return "quatre-vingt-" + unitWords[u]
	default: // 9: quatre-vingt-dix, quatre-vingt-onze
		return "quatre-vingt-" + below100(10+u, last, belgian)
	}
	switch u {
	case 0:
		return ten
	case 1:
		return ten + " et un"
	}
	return ten + "-" + unitWords[u]
}

// AmountInWords writes an amount in minor units of EUR in French words,
// as a receipt states it: "cent vingt-trois euros et cinquante centimes",
// "un million d'euros", "cinquante centimes". Another currency is written
// with its code after the number of major and minor units.
func AmountInWords(minor int64, currency string, belgian bool) string {
	neg := ""
	if minor < 0 {
		neg, minor = "moins ", -minor
	}
	major, cents := minor/100, minor%100
	if currency != "EUR" {
		w := NumberInWords(major, belgian) + " " + currency
		if cents > 0 {
			w += " et " + NumberInWords(cents, belgian) + " centièmes"
		}
		return neg + w
	}
	var parts []string
	if major > 0 || cents == 0 {
		w := NumberInWords(major, belgian)
		switch {
		case major >= 1_000_000 && major%1_000_000 == 0:
			w += " d'euros"
		case major > 1:
			w += " euros"
		default:
			w += " euro"
		}
		parts = append(parts, w)
	}
	if cents > 0 {
		w := NumberInWords(cents, belgian) + " centime"
		if cents > 1 {
			w += "s"
		}
		parts = append(parts, w)
	}
	return neg + strings.Join(parts, " et ")
}
