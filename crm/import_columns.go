package crm

import (
	"fmt"
	"slices"
	"strings"
)

// ImportFormat names a kind of file ImportSupporters and ImportDonations
// know the columns of.
type ImportFormat string

// Import formats. FormatAuto recognises the others from the header.
const (
	FormatAuto        ImportFormat = "auto"
	FormatGeneric     ImportFormat = "generic"
	FormatMailchimp   ImportFormat = "mailchimp"
	FormatHelloAsso   ImportFormat = "helloasso"
	FormatListmonk    ImportFormat = "listmonk"
	FormatGoogleForms ImportFormat = "googleforms"
)

var importFormats = []ImportFormat{FormatAuto, FormatGeneric, FormatMailchimp, FormatHelloAsso, FormatListmonk, FormatGoogleForms}

// ImportFormats returns the formats a supporter import accepts, in a slice
// of the caller's.
func ImportFormats() []ImportFormat { return slices.Clone(importFormats) }

// Fields a column can be mapped to, with --map "Header=field" or
// ImportOptions.Map. "attr.KEY" maps a column to the attribute KEY and
// "ignore" drops it.
const (
	fieldEmail        = "email"
	fieldFirstName    = "first_name"
	fieldLastName     = "last_name"
	fieldName         = "name" // a full name, split into first and last
	fieldPhone        = "phone"
	fieldOrganisation = "organisation"
	fieldAddress      = "address"
	fieldCity         = "city"
	fieldPostcode     = "postcode"
	fieldCountry      = "country"
	fieldLanguage     = "language"
	fieldTags         = "tags"
	fieldInterests    = "interests"
	fieldNotes        = "notes"
	fieldSource       = "source"
	fieldAttributes   = "attributes" // a JSON object of attributes (listmonk)
	fieldIgnore       = "ignore"
	attrPrefix        = "attr."

	// Donation fields.
	fieldAmount    = "amount"
	fieldCurrency  = "currency"
	fieldDate      = "date"
	fieldMethod    = "method"
	fieldFund      = "fund"
	fieldReference = "reference"
	fieldRecurring = "recurring"
	fieldStatus    = "status"
)

var importFields = []string{fieldEmail, fieldFirstName, fieldLastName, fieldName, fieldPhone, fieldOrganisation,
	fieldAddress, fieldCity, fieldPostcode, fieldCountry, fieldLanguage, fieldTags, fieldInterests, fieldNotes, fieldSource,
	fieldAttributes, fieldStatus, fieldIgnore, attrPrefix + "KEY"}

// ImportFields returns the fields a column of a supporter import can be
// mapped to (ImportOptions.Map), in a slice of the caller's; "attr.KEY"
// stands for any attr.NAME.
func ImportFields() []string { return slices.Clone(importFields) }

// headerKey folds a header for matching: no case, no accents, punctuation
// as spaces. "E-mail", "e_mail" and "E MAIL" all give "e mail".
func headerKey(h string) string {
	h = fold(CleanText(h))
	h = strings.Map(func(r rune) rune {
		if strings.ContainsRune("-_.:/'’()?!*#", r) {
			return ' '
		}
		return r
	}, h)
	return strings.Join(strings.Fields(h), " ")
}

// synonyms maps folded headers, in English and French, to fields.
var synonyms = func() map[string]string {
	m := map[string]string{}
	add := func(field string, keys ...string) {
		for _, k := range keys {
			m[headerKey(k)] = field
		}
	}
	add(fieldEmail, "email", "e-mail", "courriel", "mail", "adresse email", "adresse e-mail", "adresse mail",
		"adresse électronique", "email address", "e-mail address", "email payeur", "email adhérent",
		"email participant", "email acheteur")
	add(fieldFirstName, "prénom", "first name", "firstname", "given name", "prénom payeur", "prénom adhérent",
		"prénom acheteur")
	add(fieldLastName, "nom", "last name", "lastname", "surname", "family name", "nom de famille", "nom payeur",
		"nom adhérent", "nom acheteur")
	add(fieldName, "name", "full name", "nom complet", "nom et prénom", "prénom et nom", "display name")
	add(fieldPhone, "téléphone", "tel", "tél", "phone", "phone number", "mobile", "portable", "numéro de téléphone",
		"numéro de téléphone mobile", "téléphone mobile", "telephone number")
	add(fieldOrganisation, "organisation", "organization", "company", "société", "raison sociale", "structure")
	add(fieldAddress, "adresse", "address", "adresse postale", "street", "street address", "rue", "adresse acheteur",
		"adresse payeur", "champ additionnel: adresse")
	add(fieldCity, "ville", "city", "commune", "town", "ville acheteur")
	add(fieldPostcode, "code postal", "postcode", "post code", "postal code", "zip", "zip code", "cp",
		"code postal acheteur")
	add(fieldCountry, "pays", "country", "pays acheteur")
	add(fieldLanguage, "langue", "language", "lang", "locale")
	add(fieldTags, "tags", "tag", "étiquettes", "étiquette", "labels")
	add(fieldInterests, "intérêts", "intérêt", "interests", "interest", "centres d'intérêt",
		"comment souhaitez-vous aider", "comment veux-tu aider", "how would you like to help")
	add(fieldNotes, "notes", "note", "commentaire", "commentaires", "comments", "remarques")
	add(fieldSource, "source", "origine")
	add(fieldStatus, "status", "statut", "subscription status", "statut d'abonnement",
		"email_status") // crm's own export: ok, bounced, complained
	// crm's own export: when a supporter was added is the database's to say.
	add(fieldIgnore, "created_at", "updated_at")
	// The reason column of a rejects file, so it can be imported again.
	add(fieldIgnore, "reason")
	return m
}()

// donationSynonyms maps folded headers of donation files to fields.
var donationSynonyms = func() map[string]string {
	m := map[string]string{}
	add := func(field string, keys ...string) {
		for _, k := range keys {
			m[headerKey(k)] = field
		}
	}
	add(fieldEmail, "email", "e-mail", "courriel", "email address", "email payeur", "email donateur", "adresse email")
	add(fieldFirstName, "prénom", "first name", "prénom payeur", "prénom donateur")
	add(fieldLastName, "nom", "last name", "nom payeur", "nom donateur")
	add(fieldName, "name", "full name", "nom complet")
	add(fieldOrganisation, "raison sociale", "société", "organisation", "company")
	// The payer's postal address, which a tax receipt needs: HelloAsso's
	// payment and membership exports carry it.
	add(fieldAddress, "adresse", "address", "adresse postale", "street", "street address", "adresse acheteur",
		"adresse payeur", "adresse donateur")
	add(fieldPostcode, "code postal", "postcode", "post code", "postal code", "zip", "zip code", "cp",
		"code postal acheteur", "code postal payeur", "code postal donateur")
	add(fieldCity, "ville", "city", "commune", "town", "ville acheteur", "ville payeur", "ville donateur")
	add(fieldCountry, "pays", "country", "pays acheteur", "pays payeur", "pays donateur")
	add(fieldAmount, "amount", "montant", "montant tarif", "montant adhésion", "montant du don", "don", "somme")
	add(fieldCurrency, "currency", "devise", "monnaie")
	add(fieldDate, "date", "date de la commande", "date du don", "date received", "received", "date de paiement")
	add(fieldMethod, "method", "moyen de paiement", "mode de paiement", "payment method", "méthode", "moyen", "paiement",
		"mode de règlement", "règlement")
	add(fieldFund, "fund", "fonds", "campagne", "campaign", "formule", "tarif", "affectation")
	add(fieldReference, "reference", "référence", "ref", "référence commande", "numéro", "transaction id",
		"numéro de reçu")
	add(fieldRecurring, "recurring", "récurrent", "mensuel", "don mensuel")
	add(fieldStatus, "status", "statut", "statut de la commande", "statut du paiement")
	add(fieldNotes, "note", "notes", "commentaire")
	return m
}()

// presetIgnored lists, per format, columns that describe the export
// rather than the person, so they do not become attributes.
var presetIgnored = map[ImportFormat][]string{
	FormatMailchimp: {"member rating", "optin time", "optin ip", "confirm time", "confirm ip", "latitude",
		"longitude", "gmtoff", "dstoff", "timezone", "region", "last changed", "leid", "euid", "unsub time",
		"unsub campaign title", "unsub campaign id", "unsub reason", "unsub reason other", "clean time",
		"clean campaign title", "clean campaign id"},
	FormatHelloAsso: {"référence commande", "date de la commande", "statut de la commande", "moyen de paiement",
		"tarif", "montant tarif", "code promo", "montant code promo", "numéro", "formule", "montant adhésion",
		"statut", "date", "attestation", "reçu", "numéro de reçu", "carte d'adhérent", "billet",
		"numéro de billet", "nom participant", "prénom participant"},
	FormatGoogleForms: {"timestamp", "horodateur", "horodatage"},
	FormatListmonk:    {},
}

// presetFields maps columns a format names its own way.
var presetFields = map[ImportFormat]map[string]string{
	FormatMailchimp: {"cc": fieldCountry, "address": attrPrefix + "address"},
	FormatListmonk:  {"name": fieldName, "attributes": fieldAttributes},
}

// detectFormat recognises an export from its header.
func detectFormat(keys []string) ImportFormat {
	has := func(k string) bool { return slices.Contains(keys, k) }
	switch {
	case has("email address") && (has("member rating") || has("leid") || has("euid") || has("optin time")):
		return FormatMailchimp
	case has("reference commande") || has("montant adhesion") ||
		slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "champ additionnel") }):
		return FormatHelloAsso
	case has("email") && has("attributes"):
		return FormatListmonk
	case len(keys) > 0 && (keys[0] == "timestamp" || keys[0] == "horodateur" || keys[0] == "horodatage"):
		return FormatGoogleForms
	}
	return FormatGeneric
}

// columnRules are how the columns of one kind of file are understood.
type columnRules struct {
	synonyms map[string]string                  // folded header → field
	ignored  map[ImportFormat][]string          // columns a format has that are not data
	fields   map[ImportFormat]map[string]string // columns a format names its own way
}

var (
	supporterColumns = columnRules{synonyms: synonyms, ignored: presetIgnored, fields: presetFields}
	donationColumns  = columnRules{synonyms: donationSynonyms}
)

// column says what one column of the file feeds.
type column struct {
	index  int
	header string // as in the file
	field  string // a field name, attrPrefix+key, or fieldIgnore
}

// ColumnUse says which field a column of the file feeds.
type ColumnUse struct {
	Header string `json:"header"`
	Field  string `json:"field"` // a field, "attr.KEY" or "ignore"
}

// mapColumns decides the field of every column. explicit maps headers (as
// written, matched like synonyms) to fields and wins over everything.
func mapColumns(header []string, format ImportFormat, explicit map[string]string, ignoreUnknown bool,
	rules columnRules) ([]column, ImportFormat, error) {
	syn := rules.synonyms
	keys := make([]string, len(header))
	for i, h := range header {
		keys[i] = headerKey(h)
	}
	if format == "" || format == FormatAuto {
		format = detectFormat(keys)
	}
	if !slices.Contains(importFormats, format) {
		return nil, format, invalid("format", string(format), "want auto, generic, mailchimp, helloasso, listmonk or googleforms")
	}
	byKey := map[string]string{}
	for h, f := range explicit {
		k := headerKey(h)
		if !slices.Contains(keys, k) {
			return nil, format, invalid("map", h+"="+f, "no such column in the header")
		}
		f = strings.TrimSpace(f)
		if !validField(f, syn) {
			return nil, format, invalid("map", h+"="+f, "unknown field (want one of "+strings.Join(importFields, ", ")+")")
		}
		byKey[k] = f
	}
	ignored := map[string]bool{}
	for _, h := range rules.ignored[format] {
		ignored[headerKey(h)] = true
	}
	cols := make([]column, len(header))
	for i, k := range keys {
		c := column{index: i, header: header[i]}
		rest, isExtra := strings.CutPrefix(k, "champ additionnel ")
		switch {
		case byKey[k] != "":
			c.field = byKey[k]
		case k == "":
			c.field = fieldIgnore
		case rules.fields[format][k] != "":
			c.field = rules.fields[format][k]
		case ignored[k]:
			c.field = fieldIgnore
		case strings.HasPrefix(strings.ToLower(header[i]), attrPrefix) && len(header[i]) > len(attrPrefix):
			// crm's own export: attr.KEY is the attribute KEY.
			c.field = attrPrefix + header[i][len(attrPrefix):]
		case isExtra && syn[rest] != "":
			c.field = syn[rest]
		case syn[k] != "":
			c.field = syn[k]
		case ignoreUnknown:
			c.field = fieldIgnore
		case isExtra:
			c.field = attrPrefix + CleanText(strings.SplitN(header[i], ":", 2)[1])
		default:
			c.field = attrPrefix + header[i]
		}
		cols[i] = c
	}
	if err := checkDuplicateFields(cols, format, explicit); err != nil {
		return nil, format, err
	}
	return cols, format, nil
}

// accumulating are the fields that several columns may feed: their values
// add up. Any other field takes one value, so a second column would be
// silently dropped.
var accumulating = map[string]bool{fieldIgnore: true, fieldTags: true, fieldInterests: true, fieldAttributes: true}

// checkDuplicateFields fails, naming both columns, when two columns feed
// the same single-valued field (two email columns, or a --map that
// collides with a recognised header). The exports of known services are
// exempt, except for columns named by explicit: their extra columns are
// deliberate fallbacks (HelloAsso's buyer "Nom acheteur" completes the
// member's "Nom" when it is empty).
func checkDuplicateFields(cols []column, format ImportFormat, explicit map[string]string) error {
	mapped := map[string]bool{}
	for h := range explicit {
		mapped[headerKey(h)] = true
	}
	preset := format != FormatGeneric && format != FormatGoogleForms
	first := map[string]column{}
	for _, c := range cols {
		key := c.field
		if k, ok := strings.CutPrefix(key, attrPrefix); ok {
			key = attrPrefix + headerKey(k)
		}
		if accumulating[key] {
			continue
		}
		prev, ok := first[key]
		if !ok {
			first[key] = c
			continue
		}
		if preset && !mapped[headerKey(prev.header)] && !mapped[headerKey(c.header)] {
			continue
		}
		return &MappingError{Field: c.field, Columns: []string{prev.header, c.header},
			Positions: []int{prev.index + 1, c.index + 1}}
	}
	return nil
}

// A MappingError says that the columns of a file do not map to the fields
// an import needs: no column maps to Field (Missing), or two do. Columns
// holds the headers at fault (every header when Missing), Positions their
// 1-based column numbers. ImportOptions.Map settles either: it names the
// column of a field, or sends a column to another field or to "ignore".
// It wraps ErrInvalid.
type MappingError struct {
	Field     string
	Missing   bool
	Columns   []string
	Positions []int
}

// Error says which field has no column, or which two columns share one.
func (e *MappingError) Error() string {
	if e.Missing {
		names := make([]string, len(e.Columns))
		for i, c := range e.Columns {
			names[i] = fmt.Sprintf("%q", c)
		}
		return fmt.Sprintf("no %s column among %s", e.Field, strings.Join(names, ", "))
	}
	return fmt.Sprintf("columns %d %q and %d %q both map to %s: only one may", e.Positions[0], e.Columns[0],
		e.Positions[1], e.Columns[1], e.Field)
}

// Unwrap returns ErrInvalid.
func (e *MappingError) Unwrap() error { return ErrInvalid }

func validField(f string, syn map[string]string) bool {
	if k, ok := strings.CutPrefix(f, attrPrefix); ok {
		return strings.TrimSpace(k) != ""
	}
	if f == fieldIgnore {
		return true
	}
	for _, v := range syn {
		if v == f {
			return true
		}
	}
	return false
}

// describeColumns says, for ImportReport.Columns, which field each
// column feeds.
func describeColumns(cols []column) []ColumnUse {
	out := make([]ColumnUse, 0, len(cols))
	for _, c := range cols {
		out = append(out, ColumnUse{Header: c.header, Field: c.field})
	}
	return out
}

// requireColumn fails when no column feeds field.
func requireColumn(cols []column, field string) error {
	for _, c := range cols {
		if c.field == field {
			return nil
		}
	}
	e := &MappingError{Field: field, Missing: true}
	for _, c := range cols {
		e.Columns, e.Positions = append(e.Columns, c.header), append(e.Positions, c.index+1)
	}
	return e
}
