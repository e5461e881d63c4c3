package crm

import (
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// CleanText trims white space, including the no-break spaces spreadsheets
// leave after names, folds inner runs of white space to one space and puts
// the text in Unicode NFC, so the same name typed on two machines compares
// equal.
func CleanText(s string) string {
	s = strings.TrimFunc(stripControl(s), unicode.IsSpace)
	if s == "" {
		return s
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	}
	return norm.NFC.String(s)
}

// stripControl removes control characters other than white space (NUL
// above all, which the database refuses), keeping newlines and tabs.
func stripControl(s string) string {
	if !strings.ContainsFunc(s, isStrayControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isStrayControl(r) {
			return -1
		}
		return r
	}, s)
}

func isStrayControl(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }

// cleanMultiline trims a free text (notes, consent texts) and removes
// stray control characters, keeping its lines.
func cleanMultiline(s string) string {
	return strings.TrimSpace(norm.NFC.String(stripControl(s)))
}

// NormalizeEmail returns the canonical form of an email address: trimmed,
// NFC, lower case. It is the one place addresses are normalised; every
// lookup and insert goes through it. It returns a *ValidationError (field
// "email") when the address is not a plain address such as
// "name@example.org".
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(CleanText(s))
	if e == "" {
		return "", invalid("email", s, "missing")
	}
	if len(e) > 254 {
		return "", invalid("email", s, "longer than 254 bytes")
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " <>,;\"") {
		return "", invalid("email", s, "invalid address")
	}
	domain := e[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", invalid("email", s, "invalid domain")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", invalid("email", s, "invalid address")
	}
	return e, nil
}

// normalizePostcode cleans a postcode and upper-cases its ASCII letters
// ("sw1a 1aa" is stored "SW1A 1AA"), as SQLite's upper() does.
func normalizePostcode(s string) string {
	s = CleanText(s)
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// fold lowers the case and strips accents, for case- and
// accent-insensitive comparisons ("Hébergement" and "hebergement"). ASCII
// text, the common case, takes a path that allocates at most once.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return norm.NFC.String(b.String())
}

// Slug returns the identifier form of a name, as used for lists,
// interests, segments and campaigns: no case, no accents, spaces as
// dashes, only [a-z0-9_-]. It returns a *ValidationError naming field.
func Slug(field, name string) (string, error) { return slug(field, name) }

// slug turns a user-given name into the identifier form used for interests
// and lists: folded, with spaces as dashes, only [a-z0-9_-].
func slug(field, s string) (string, error) {
	v := strings.ReplaceAll(fold(CleanText(s)), " ", "-")
	if v == "" {
		return "", invalid(field, s, "missing")
	}
	if len(v) > 64 {
		return "", invalid(field, s, "longer than 64 characters")
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return "", invalid(field, s, "use letters, digits, '-' and '_' only")
		}
	}
	return v, nil
}

// slugify turns a label into a candidate for slug: accents and case
// folded, every run of other characters than letters and digits one '-'
// ("Aide (juridique)" → "aide-juridique").
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range fold(CleanText(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// NormalizeTag returns the stored form of a tag: cleaned and in lower case.
// Tags may not hold the separators ',', ';' or '|' that CSV files use
// between tags.
func NormalizeTag(s string) (string, error) {
	t := strings.ToLower(CleanText(s))
	if t == "" {
		return "", invalid("tag", s, "empty tag")
	}
	if len(t) > 64 {
		return "", invalid("tag", s, "longer than 64 characters")
	}
	if strings.ContainsAny(t, ",;|") {
		return "", invalid("tag", s, "a tag may not contain ',', ';' or '|'")
	}
	return t, nil
}

// NormalizeLanguage returns the ISO 639 base language, in lower case, of a
// BCP 47 tag such as "fr", "FR" or "fr-BE". It returns a *ValidationError
// (field "language") for anything else.
func NormalizeLanguage(s string) (string, error) {
	v := CleanText(s)
	if v == "" {
		return "", invalid("language", s, "missing")
	}
	tag, err := language.Parse(v)
	if err != nil {
		return "", invalid("language", s, "not a language code such as fr or en")
	}
	base, conf := tag.Base()
	if conf == language.No {
		return "", invalid("language", s, "not a language code such as fr or en")
	}
	return base.String(), nil
}

// countryNames maps the country names seen in French-speaking exports to
// ISO 3166 codes. Codes themselves (FR, FRA, 250) are parsed by x/text.
var countryNames = map[string]string{
	"france": "FR", "belgique": "BE", "belgium": "BE", "suisse": "CH",
	"switzerland": "CH", "luxembourg": "LU", "allemagne": "DE",
	"germany": "DE", "espagne": "ES", "spain": "ES", "italie": "IT",
	"italy": "IT", "royaume-uni": "GB", "united kingdom": "GB",
	"pays-bas": "NL", "netherlands": "NL", "canada": "CA",
}

// NormalizeCountry returns the ISO 3166-1 alpha-2 code of a country given
// as a code ("fr", "FRA") or a common French or English name. Text it does
// not recognise is kept as given (cleaned), so nothing is lost.
func NormalizeCountry(s string) string {
	v := CleanText(s)
	if v == "" {
		return ""
	}
	if code, ok := countryNames[fold(v)]; ok {
		return code
	}
	if len(v) <= 3 {
		if r, err := language.ParseRegion(v); err == nil && r.IsCountry() {
			return r.String()
		}
	}
	return v
}

// dateLayouts are the date forms people and spreadsheets write, tried in
// order: ISO first, then the French day-first forms.
var dateLayouts = []string{
	time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	"02/01/2006 15:04:05", "02/01/2006 15:04", "02/01/2006", "2/1/2006", "02.01.2006",
}

// ParseDate reads a date or date-time written as ISO 8601 (2026-01-31,
// 2026-01-31 14:05, RFC 3339), day first as in France and Belgium
// (31/01/2026, 31/01/2026 14:05), or as a spreadsheet serial number
// (46000, 46000.5: days since 1899-12-30), which a workbook cell holds when
// it was not formatted as a date. Times without a zone are taken in loc.
// It returns a *ValidationError (field "date") otherwise.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	v := CleanText(s)
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if t, ok := spreadsheetDate(v, loc); ok {
		return t.UTC(), nil
	}
	return time.Time{}, invalid("date", s, "not a date such as 2026-01-31 or 31/01/2026")
}

// spreadsheetDate reads a spreadsheet serial date: days since 1899-12-30
// (as Excel and LibreOffice count them; Excel's 1900 leap day makes no
// difference from March 1900 on), the fraction being the time of day, in
// loc. Only numbers from 10000 to 99999 with an optional fraction are
// taken (1927-05-18 to 2173-10-14): a smaller number such as 2026 is more
// likely a year, or anything else, than a date.
func spreadsheetDate(s string, loc *time.Location) (time.Time, bool) {
	days, frac, _ := strings.Cut(s, ".")
	if len(days) != 5 || strings.Trim(days, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 10000 {
		return time.Time{}, false
	}
	whole := math.Floor(f)
	secs := math.Round((f - whole) * 86400)
	// Wall-clock arithmetic: a day is a calendar day, whatever the DST.
	return time.Date(1899, 12, 30+int(whole), 0, 0, int(secs), 0, loc), true
}
