package crm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones where the system has no zoneinfo (Windows, slim containers)

	"github.com/uptrace/bun"
)

// Settings is the association's profile: what its newsletters, pages and
// receipts say of it and how they reach it. An empty field is not set.
// Flags and environment variables of the CLI win over them.
type Settings struct {
	Name          string `json:"name"`           // "Solidarité Calais"
	PostalAddress string `json:"postal_address"` // shown in every newsletter's footer
	PublicURL     string `json:"public_url"`     // where the pages are served: links in emails
	From          string `json:"from"`           // the sender of emails: "Asso <news@asso.org>"
	ReplyTo       string `json:"reply_to"`
	TimeZone      string `json:"time_zone"` // an IANA name; DefaultTimeZone when empty
	// SignupRedirect is the page of the association's own site where a
	// signup through the snippet (crm lists snippet) lands, with
	// ?signup=subscribed|confirm|both added; "" for the hosted thank-you
	// page. Only this stored page is ever a redirect's target, never an
	// address a request names: the form is no open redirect.
	SignupRedirect string `json:"signup_redirect"`
	// Receipt is what tax receipts state of the association (the
	// receipt-... keys); see IssueReceipts.
	Receipt ReceiptSettings `json:"receipt"`
}

// DefaultTimeZone is the time zone of an association that set none.
const DefaultTimeZone = "Europe/Paris"

// Location returns the settings' time zone: DefaultTimeZone when none is
// set, UTC for a name the system does not know (SetSetting refuses those).
func (s *Settings) Location() *time.Location {
	name := s.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// A SettingKey is one key of the settings: its name as SetSetting takes it
// and what it holds.
type SettingKey struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// settingKeys are the keys, in the order they are listed; check
// normalises a value or refuses it, and field points into Settings.
var settingKeys = []struct {
	SettingKey
	check func(string) (string, error)
	field func(*Settings) *string
}{
	{SettingKey{"name", "the association's name"}, checkLine(200), func(s *Settings) *string { return &s.Name }},
	{SettingKey{"postal-address", "its postal address, shown in every newsletter's footer (anti-spam rules expect it of bulk senders)"},
		checkText(500), func(s *Settings) *string { return &s.PostalAddress }},
	{SettingKey{"public-url", "the address where crm serve's pages are reached (https://asso.org/newsletter): links in emails"},
		checkPublicURL, func(s *Settings) *string { return &s.PublicURL }},
	{SettingKey{"from", `the sender of emails, such as "Asso <news@asso.org>"`}, checkAddress, func(s *Settings) *string { return &s.From }},
	{SettingKey{"reply-to", "where replies to emails go"}, checkAddress, func(s *Settings) *string { return &s.ReplyTo }},
	{SettingKey{"time-zone", "the time zone dates are shown and read in (default " + DefaultTimeZone + ")"},
		checkTimeZone, func(s *Settings) *string { return &s.TimeZone }},
	{SettingKey{"signup-redirect", "the page of your site where a signup through the snippet lands (https://asso.org/merci), with ?signup=subscribed|confirm|both; default: the thank-you page of crm serve"},
		checkRedirect, func(s *Settings) *string { return &s.SignupRedirect }},
	{SettingKey{"receipt-legal-name", "tax receipts: the association's name as registered (statuts, RNA or BCE)"},
		checkLine(200), func(s *Settings) *string { return &s.Receipt.LegalName }},
	{SettingKey{"receipt-address", `tax receipts: the registered office's address ("\n" starts a new line)`},
		checkText(500), func(s *Settings) *string { return &s.Receipt.Address }},
	{SettingKey{"receipt-object", "tax receipts: the association's object, as in its statutes"},
		checkText(1000), func(s *Settings) *string { return &s.Receipt.Object }},
	{SettingKey{"receipt-rna", "tax receipts: the RNA number (W621001234), France"},
		checkRNA, func(s *Settings) *string { return &s.Receipt.RNA }},
	{SettingKey{"receipt-siren", "tax receipts: the SIREN (France, 9 digits) or the enterprise number (Belgium, 10 digits), check digits verified"},
		checkCompanyNumber, func(s *Settings) *string { return &s.Receipt.SIREN }},
	{SettingKey{"receipt-country", "tax receipts: FR (Cerfa 11580*05, or 16216 for companies) or BE (attestation 281.71)"},
		checkOneOf(ReceiptFR, ReceiptBE), func(s *Settings) *string { return &s.Receipt.Country }},
	{SettingKey{"receipt-article", "tax receipts, France: the CGI article the gifts fall under: 200 (individuals) or 238bis (companies)"},
		checkArticle, func(s *Settings) *string { return &s.Receipt.Article }},
	{SettingKey{"receipt-rate", "tax receipts, France: the reduction rate the association states applies: 66, or 75 (free meals, housing, care); never assumed"},
		checkOneOf("66", "75"), func(s *Settings) *string { return &s.Receipt.Rate }},
	{SettingKey{"receipt-kind", "tax receipts, France: the Cerfa's box for the kind of body: " + receiptKindCodes() +
		` ("utilite-publique: décret du ..., JO du ..."; "autre: ..." names it); default interet-general`},
		checkReceiptKind, func(s *Settings) *string { return &s.Receipt.Kind }},
	{SettingKey{"receipt-ifi", "tax receipts, France: yes if the gifts also reduce the IFI (article 978 of the CGI: only some bodies, " +
		"such as foundations recognised of public utility, research, higher education, integration through work); default no"},
		checkYesNo, func(s *Settings) *string { return &s.Receipt.IFI }},
	{SettingKey{"receipt-approval", "tax receipts, Belgium: the reference of the approval (agrément) that allows the reduction"},
		checkLine(200), func(s *Settings) *string { return &s.Receipt.Approval }},
	{SettingKey{"receipt-signer", "tax receipts: the name of the person who signs them"},
		checkLine(200), func(s *Settings) *string { return &s.Receipt.Signer }},
	{SettingKey{"receipt-signer-role", "tax receipts: the signer's role (présidente, trésorier)"},
		checkLine(100), func(s *Settings) *string { return &s.Receipt.SignerRole }},
	{SettingKey{"receipt-signature", "tax receipts: the path of a PNG or JPEG image of the signature (optional)"},
		checkSignature, func(s *Settings) *string { return &s.Receipt.SignatureFile }},
}

// Value returns the value of the setting key (see SettingKeys), "" for
// one not set or not known.
func (s *Settings) Value(key string) string {
	for _, k := range settingKeys {
		if k.Name == key {
			return *k.field(s)
		}
	}
	return ""
}

// SettingKeys returns the keys SetSetting takes, in the order a listing
// shows them.
func SettingKeys() []SettingKey {
	out := make([]SettingKey, len(settingKeys))
	for i, k := range settingKeys {
		out[i] = k.SettingKey
	}
	return out
}

// settingPrefix keeps the association's settings apart from the values
// the library keeps in the same table (secrets, keys).
const settingPrefix = "association."

type settingRow struct {
	bun.BaseModel `bun:"table:settings"`
	Key           string `bun:"key,pk"`
	Value         string `bun:"value"`
}

// Settings returns the association's settings.
func (db *DB) Settings(ctx context.Context) (*Settings, error) {
	return readSettings(ctx, db.bun)
}

// Settings is DB.Settings in the transaction.
func (tx *Tx) Settings(ctx context.Context) (*Settings, error) {
	return readSettings(ctx, tx.tx)
}

func readSettings(ctx context.Context, idb bun.IDB) (*Settings, error) {
	var rows []settingRow
	if err := idb.NewSelect().Model(&rows).Where("key LIKE ?", settingPrefix+"%").Scan(ctx); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	s := &Settings{}
	for _, r := range rows {
		for _, k := range settingKeys {
			if settingPrefix+k.Name == r.Key {
				*k.field(s) = r.Value
			}
		}
	}
	return s, nil
}

// SetSetting sets the setting key (see SettingKeys) to value, cleaned
// and checked; an empty value removes it. The change is audited. It
// returns a *ValidationError (field: the key) for an unknown key or a bad
// value, and nothing is changed.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.SetSetting(ctx, key, value) })
}

// SetSetting is DB.SetSetting in the transaction.
func (tx *Tx) SetSetting(ctx context.Context, key, value string) error {
	key = strings.ToLower(strings.TrimSpace(key))
	for _, k := range settingKeys {
		if k.Name != key {
			continue
		}
		v := strings.TrimSpace(value)
		if v != "" {
			var err error
			if v, err = k.check(v); err != nil {
				return invalid(key, value, err.Error())
			}
		}
		if v != "" && slices.Contains(FrenchReceiptKeys, key) {
			st, err := readSettings(ctx, tx.tx)
			if err != nil {
				return err
			}
			if st.Receipt.Country == ReceiptBE {
				return invalid(key, value, "French receipts only: a Belgian attestation (281.71, 45 % under art. 145/33 CIR 92) "+
					"states no article, rate or kind of body; crm settings set receipt-country FR first if the receipts are French")
			}
		}
		if v == "" {
			if _, err := tx.tx.NewDelete().Model((*settingRow)(nil)).Where("key = ?", settingPrefix+key).Exec(ctx); err != nil {
				return fmt.Errorf("setting %s: %w", key, err)
			}
		} else if _, err := tx.tx.NewInsert().Model(&settingRow{Key: settingPrefix + key, Value: v}).
			On("CONFLICT (key) DO UPDATE").Set("value = EXCLUDED.value").Exec(ctx); err != nil {
			return fmt.Errorf("setting %s: %w", key, err)
		}
		action := "set " + key
		if v == "" {
			action = "unset " + key
		}
		return tx.audit(ctx, action, 0, "")
	}
	names := make([]string, len(settingKeys))
	for i, k := range settingKeys {
		names[i] = k.Name
	}
	return invalid("key", key, "not a setting; the settings are "+strings.Join(names, ", "))
}

func checkLine(max int) func(string) (string, error) {
	return func(v string) (string, error) {
		v = CleanText(v)
		if len([]rune(v)) > max {
			return "", fmt.Errorf("longer than %d characters", max)
		}
		return v, nil
	}
}

// checkText keeps the lines of a multi-line value (a postal address),
// each cleaned; "\n" typed on a command line counts as a line break.
func checkText(max int) func(string) (string, error) {
	return func(v string) (string, error) {
		lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(v, `\n`, "\n"), "\r\n", "\n"), "\n")
		var kept []string
		for _, l := range lines {
			if l = CleanText(l); l != "" {
				kept = append(kept, l)
			}
		}
		v = strings.Join(kept, "\n")
		if len([]rune(v)) > max {
			return "", fmt.Errorf("longer than %d characters", max)
		}
		return v, nil
	}
}

// checkOneOf takes one of values, in any case.
func checkOneOf(values ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		for _, w := range values {
			if strings.EqualFold(CleanText(v), w) {
				return w, nil
			}
		}
		return "", fmt.Errorf("want %s", strings.Join(values, " or "))
	}
}

// checkArticle takes "200" or "238 bis", written with or without the
// space.
func checkArticle(v string) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(CleanText(v), " ", "")) {
	case "200":
		return "200", nil
	case "238bis":
		return "238 bis", nil
	}
	return "", fmt.Errorf("want 200 (gifts of individuals, Cerfa 11580) or 238bis (gifts of companies, Cerfa 16216)")
}

// checkRNA takes an RNA number: W and 9 digits.
func checkRNA(v string) (string, error) {
	v = strings.ToUpper(strings.ReplaceAll(CleanText(v), " ", ""))
	if len(v) != 10 || v[0] != 'W' || !allDigits(v[1:]) {
		return "", fmt.Errorf("want an RNA number: W and 9 digits, such as W621001234")
	}
	return v, nil
}

// FrenchReceiptKeys are the settings only French receipts state: a
// Belgian attestation ignores them, and SetSetting refuses them while
// receipt-country is BE.
var FrenchReceiptKeys = []string{"receipt-article", "receipt-rate", "receipt-kind", "receipt-ifi"}

// checkCompanyNumber takes a SIREN (9 digits, its last one the Luhn key
// of the others) or a Belgian enterprise number (10 digits,
// "0123.456.749", the last two 97 minus the first eight modulo 97),
// spaces and dots dropped. A Belgian number written without its leading
// 0 is stored with it.
func checkCompanyNumber(v string) (string, error) {
	d := strings.NewReplacer(" ", "", ".", "", "-", "", "\u00a0", "").Replace(CleanText(v))
	d = strings.TrimPrefix(strings.ToUpper(d), "BE")
	switch {
	case !allDigits(d) || (len(d) != 9 && len(d) != 10):
		return "", fmt.Errorf("want a SIREN (9 digits) or a Belgian enterprise number (10 digits)")
	case len(d) == 10:
		if !validBelgianCompanyNumber(d) {
			return "", fmt.Errorf("not a Belgian enterprise number: its last two digits are not its check digits " +
				"(97 minus the first eight modulo 97); check it on the BCE/KBO")
		}
	case validSIREN(d):
	case validBelgianCompanyNumber("0" + d):
		return "0" + d, nil
	default:
		return "", fmt.Errorf("not a SIREN: its last digit is not its Luhn key; check it on the INSEE's register " +
			"(annuaire-entreprises.data.gouv.fr)")
	}
	return d, nil
}

// validSIREN checks a SIREN's Luhn key: every second digit from the
// right doubled (its digits summed), the total a multiple of 10.
func validSIREN(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return len(d) == 9 && sum%10 == 0
}

// validBelgianCompanyNumber checks a Belgian enterprise number: it starts
// with 0 or 1, and its last two digits are 97 minus its first eight
// modulo 97.
func validBelgianCompanyNumber(d string) bool {
	if len(d) != 10 || (d[0] != '0' && d[0] != '1') {
		return false
	}
	base, err := strconv.Atoi(d[:8])
	if err != nil {
		return false
	}
	check, err := strconv.Atoi(d[8:])
	return err == nil && 97-base%97 == check
}

// checkReceiptKind takes one of ReceiptKinds' codes, the box's details
// after a colon ("autre" needs them).
func checkReceiptKind(v string) (string, error) {
	code, detail, _ := strings.Cut(CleanText(v), ":")
	code = strings.ToLower(strings.TrimSpace(code))
	detail = strings.TrimSpace(detail)
	for _, k := range receiptKinds {
		if k.code != code {
			continue
		}
		if k.detail && detail == "" {
			return "", fmt.Errorf("say which after a colon: \"%s: ...\"", code)
		}
		if len([]rune(detail)) > 300 {
			return "", fmt.Errorf("the details are longer than 300 characters")
		}
		if detail != "" {
			return code + ": " + detail, nil
		}
		return code, nil
	}
	return "", fmt.Errorf("want one of %s", receiptKindCodes())
}

// receiptKindCodes lists the codes receipt-kind takes.
func receiptKindCodes() string {
	codes := make([]string, len(receiptKinds))
	for i, k := range receiptKinds {
		codes[i] = k.code
	}
	return strings.Join(codes, ", ")
}

// checkYesNo takes yes or no (oui, non); no is stored as no setting.
func checkYesNo(v string) (string, error) {
	switch strings.ToLower(CleanText(v)) {
	case "yes", "oui", "y", "true":
		return "yes", nil
	case "no", "non", "n", "false":
		return "", nil
	}
	return "", fmt.Errorf("want yes or no")
}

// checkSignature takes the path of a readable PNG or JPEG file, made
// absolute so that a command run from another folder finds it.
func checkSignature(v string) (string, error) {
	path, err := filepath.Abs(v)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read it: %w", errors.Unwrap(err))
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	if _, ok := signatureImageType(head[:n]); !ok {
		return "", fmt.Errorf("not a PNG or JPEG image")
	}
	return path, nil
}

// signatureImageType tells a PNG or a JPEG by its first bytes.
func signatureImageType(head []byte) (string, bool) {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "PNG", true
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return "JPG", true
	}
	return "", false
}

func checkPublicURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want the address of the pages, such as https://asso.org/newsletter")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// checkRedirect takes an absolute http or https address without
// credentials or fragment: the page people land on after a signup.
func checkRedirect(v string) (string, error) {
	const want = "want the address of a page of your site, such as https://asso.org/merci"
	u, err := url.Parse(v)
	switch {
	case err != nil || strings.ContainsAny(v, " \t\r\n\\"):
		return "", fmt.Errorf("not a web address (no spaces or backslashes): %s", want)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("it must start with https:// (or http://): %s", want)
	case u.Host == "":
		return "", fmt.Errorf("no site named: %s", want)
	case u.User != nil:
		return "", fmt.Errorf("a name or password before @ is refused (it would show in every visitor's address bar): %s", want)
	}
	// A #fragment is kept: the signup's outcome goes in the query, before
	// it (https://asso.org/merci?signup=subscribed#x).
	return u.String(), nil
}

func checkAddress(v string) (string, error) {
	a, err := mail.ParseAddress(v)
	if err != nil {
		return "", fmt.Errorf(`want an address such as "Asso <news@asso.org>"`)
	}
	if _, err := NormalizeEmail(a.Address); err != nil {
		return "", err
	}
	return CleanText(v), nil
}

func checkTimeZone(v string) (string, error) {
	if _, err := time.LoadLocation(v); err != nil || v == "Local" {
		return "", fmt.Errorf("not a time zone such as Europe/Paris or Europe/Brussels")
	}
	return v, nil
}
