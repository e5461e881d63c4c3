// Package receipt turns a crm.Receipt into a PDF, and does nothing else.
//
// A French receipt holds every mention of the Cerfa n°11580*05 (gifts of
// individuals: article 200 of the CGI, and article 978, the reduction of
// the IFI, only for the bodies it covers, when the receipt-ifi setting
// says so) or, for article 238 bis, of the Cerfa n°16216 (gifts of
// companies): its number; the beneficiary's name, address, object and
// RNA or SIREN, the kind of organisation (the Cerfa's box) and the rate
// it states; the donor's name and address (with the country of one
// abroad); the amount in figures and in words; the date of each
// payment; the form (déclaration de don manuel), nature (numéraire) and
// method of the gifts (the Cerfa's three boxes: cash, cheque, transfer,
// direct debit or card; a gift paid otherwise ticks none); the
// statement that the gifts give right to the reduction of the article;
// the date, and the signer's name, role and signature. A Belgian one is
// the attestation 281.71 (art. 145/33 CIR 92): its calendar year and
// number, the institution with its enterprise number and approval, the
// donor, the amount given "à titre définitif et irrévocable" in figures
// and words (with septante and nonante).
//
// A cancelled receipt prints marked cancelled across every page
// ("ANNULÉ le 3 février 2027 : motif"); one that replaces cancelled
// receipts says so under its number. A receipt whose donor was erased
// prints no more (ErrDonorErased).
//
// The text is set in the Go fonts (golang.org/x/image/font/gofont, BSD
// licence), embedded and subset, so accents print whatever the reader
// has installed. The same receipt gives the same bytes: the document's
// dates are the receipt's and its catalogs are sorted, so an email
// carrying it sends the same bytes under the same idempotency key.
package receipt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/assocrm/assocrm/crm"
)

// Options says how a receipt is laid out.
type Options struct {
	// Location is the time zone its dates are written in: the
	// association's (crm.Settings.Location). The default is Paris for a
	// French receipt and Brussels for a Belgian one.
	Location *time.Location
}

// FileName is the name a receipt's PDF goes by: its number and ".pdf".
func FileName(r *crm.Receipt) string { return r.Number + ".pdf" }

// PDF returns the receipt as a PDF document.
func PDF(r *crm.Receipt, opts Options) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, r, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrDonorErased is wrapped by Write's error for a receipt whose donor
// was erased (crm.DB.Forget): it keeps its number and amount for the
// accounts and the declaration, but no longer says whom it was for.
var ErrDonorErased = errors.New("its donor was erased")

// Write writes the receipt as a PDF document to w. It fails for a
// receipt of another currency than EUR or of an unknown country, for one
// whose donor was erased (ErrDonorErased), and when the signature image
// its issuer names cannot be read.
func Write(w io.Writer, r *crm.Receipt, opts Options) error {
	if r.Currency != "EUR" {
		return fmt.Errorf("receipt %s: in %s: a tax receipt states euros", r.Number, r.Currency)
	}
	if r.DonorErased || strings.TrimSpace(r.DonorName) == "" {
		return fmt.Errorf("receipt %s: %w at their request (crm supporters forget): the receipt keeps its number and "+
			"amount for the declaration, but no PDF of it can say whom it was for", r.Number, ErrDonorErased)
	}
	if opts.Location == nil {
		name := "Europe/Paris"
		if r.Country == crm.ReceiptBE {
			name = "Europe/Brussels"
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			loc = time.UTC
		}
		opts.Location = loc
	}
	d := &doc{r: r, loc: opts.Location, pdf: fpdf.New("P", "mm", "A4", "")}
	pdf := d.pdf
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(r.IssuedAt)
	pdf.SetModificationDate(r.IssuedAt)
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.SetMargins(18, 16, 18)
	pdf.SetAutoPageBreak(true, 16)
	pdf.SetCreator(r.Issuer.LegalName, true)
	pdf.SetLang("fr")
	pdf.AliasNbPages("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		d.font("", 8)
		pdf.CellFormat(0, 4, fmt.Sprintf("%s n° %s — page %d/{nb}", d.kind(), r.Number, pdf.PageNo()), "", 0, "C", false, 0, "")
		if r.Status == crm.ReceiptCancelled {
			d.cancelledStamp()
		}
	})
	pdf.AddPage()
	var err error
	switch r.Country {
	case crm.ReceiptFR:
		pdf.SetTitle("Reçu fiscal n° "+r.Number, true)
		err = d.french()
	case crm.ReceiptBE:
		pdf.SetTitle("Attestation fiscale n° "+r.Number, true)
		err = d.belgian()
	default:
		return fmt.Errorf("receipt %s: unknown country %q", r.Number, r.Country)
	}
	if err != nil {
		return fmt.Errorf("receipt %s: %w", r.Number, err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("receipt %s: %w", r.Number, err)
	}
	return nil
}

// doc is one receipt being laid out.
type doc struct {
	r   *crm.Receipt
	loc *time.Location
	pdf *fpdf.Fpdf
}

const lineHeight = 5.2

func (d *doc) font(style string, size float64) { d.pdf.SetFont("go", style, size) }

func (d *doc) kind() string {
	if d.r.Country == crm.ReceiptBE {
		return "Attestation fiscale"
	}
	return "Reçu"
}

// cancelled is what a cancelled receipt says of its cancellation:
// "ANNULÉ le 3 février 2027 : motif".
func (d *doc) cancelled() string {
	// The stamp's word, as on paper, whatever the document.
	s := "ANNULÉ le " + d.date(d.r.CancelledAt)
	if d.r.CancelReason != "" {
		s += " : " + strings.Join(strings.Fields(d.r.CancelReason), " ")
	}
	return s
}

// cancelledBanner heads a cancelled receipt: the cancellation in full,
// framed in red.
func (d *doc) cancelledBanner() {
	pdf := d.pdf
	pdf.Ln(1)
	pdf.SetDrawColor(190, 20, 20)
	pdf.SetTextColor(190, 20, 20)
	pdf.SetLineWidth(0.6)
	d.font("B", 11)
	what := "Ce reçu est annulé : il n'ouvre plus droit à réduction d'impôt."
	if d.r.Country == crm.ReceiptBE {
		what = "Cette attestation est annulée : elle n'ouvre plus droit à réduction d'impôt."
	}
	pdf.MultiCell(0, 6, nb(d.cancelled()+"\n"+what), "1", "C", false)
	pdf.SetLineWidth(0.2)
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetTextColor(0, 0, 0)
}

// cancelledStamp writes the cancellation across the page, diagonally, in
// translucent red over what the page holds.
func (d *doc) cancelledStamp() {
	pdf := d.pdf
	w, h := pdf.GetPageSize()
	text := d.cancelled()
	// As big as the page's diagonal takes, within 16 to 44 points; a long
	// reason is cut here (the banner holds it whole).
	room := math.Hypot(w, h) * 0.6
	size := 44.0
	d.font("B", size)
	if tw := pdf.GetStringWidth(text); tw > room {
		size = max(16, size*room/tw)
		d.font("B", size)
		for r := []rune(text); pdf.GetStringWidth(text) > room && len(r) > 1; {
			r = r[:len(r)-1]
			text = strings.TrimSpace(string(r)) + "…"
		}
	}
	pdf.SetAlpha(0.28, "Normal")
	pdf.SetTextColor(200, 0, 0)
	pdf.TransformBegin()
	pdf.TransformRotate(math.Atan2(h, w)*180/math.Pi, w/2, h/2)
	pdf.Text(w/2-pdf.GetStringWidth(text)/2, h/2+size*0.35/2.83, text)
	pdf.TransformEnd()
	pdf.SetAlpha(1, "Normal")
	pdf.SetTextColor(0, 0, 0)
}

// replaces says, under the number, which cancelled receipts this one
// replaces.
func (d *doc) replaces() {
	if s := ReplacesSentence(d.r); s != "" {
		d.font("B", 10)
		d.pdf.MultiCell(0, 5.5, nb(s), "", "R", false)
	}
}

// ReplacesSentence is what a receipt (and its email) says of the
// cancelled receipts it replaces, in French: "Ce reçu annule et remplace
// le reçu n° 2026-0004"; "" when it replaces none.
func ReplacesSentence(r *crm.Receipt) string {
	n := r.Replaces
	if len(n) == 0 {
		return ""
	}
	list := n[len(n)-1]
	if len(n) > 1 {
		list = strings.Join(n[:len(n)-1], ", ") + " et " + list
	}
	switch {
	case r.Country == crm.ReceiptBE && len(n) == 1:
		return "Cette attestation annule et remplace l'attestation n° " + list
	case r.Country == crm.ReceiptBE:
		return "Cette attestation annule et remplace les attestations n° " + list
	case len(n) == 1:
		return "Ce reçu annule et remplace le reçu n° " + list
	}
	return "Ce reçu annule et remplace les reçus n° " + list
}

// nb glues to the word before it the punctuation French typography
// spaces (" :", " ;", " €", "n° 2026"), so that a line never starts
// with it: the text wraps at ordinary spaces only.
func nb(s string) string {
	return strings.NewReplacer(" :", "\u00a0:", " ;", "\u00a0;", " €", "\u00a0€", " !", "\u00a0!", " ?", "\u00a0?",
		"n° ", "n°\u00a0").Replace(s)
}

// title writes centred bold lines.
func (d *doc) title(size float64, lines ...string) {
	d.font("B", size)
	for _, l := range lines {
		d.pdf.MultiCell(0, size*0.5, nb(l), "", "C", false)
	}
}

// section starts a framed part with a heading.
func (d *doc) section(heading string) {
	d.pdf.Ln(3)
	d.pdf.SetFillColor(230, 234, 240)
	d.font("B", 10.5)
	d.pdf.CellFormat(0, 7, " "+heading, "", 1, "L", true, 0, "")
	d.pdf.Ln(1.5)
}

// field writes "label : value", the value wrapped beside the label.
func (d *doc) field(label, value string) {
	d.font("B", 9.5)
	d.pdf.CellFormat(57, lineHeight, nb(label), "", 0, "L", false, 0, "")
	d.font("", 9.5)
	d.pdf.MultiCell(0, lineHeight, nb(value), "", "L", false)
}

// para writes a paragraph of the full width.
func (d *doc) para(style string, text string) {
	d.font(style, 9.5)
	d.pdf.MultiCell(0, lineHeight, nb(text), "", "L", false)
}

func (d *doc) date(t time.Time) string { return FrenchDate(t.In(d.loc)) }

// issuerAddress and donorAddress are postal addresses on lines.
func (d *doc) issuerAddress() string { return d.r.Issuer.Address }

// donorAddress is the donor's postal address, with the country's name
// in capitals (as La Poste and bpost want it) for a donor abroad: one
// whose country is not the receipt's.
func (d *doc) donorAddress() string {
	lines := []string{d.r.DonorAddress, strings.TrimSpace(d.r.DonorPostcode + " " + d.r.DonorCity)}
	if c := d.r.DonorCountry; c != "" && !strings.EqualFold(c, d.r.Country) {
		lines = append(lines, strings.ToUpper(CountryName(c)))
	}
	return strings.Join(lines, "\n")
}

// countryNames are the French names of the countries donors of French
// and Belgian associations live in most.
var countryNames = map[string]string{
	"AD": "Andorre", "AT": "Autriche", "BE": "Belgique", "BF": "Burkina Faso", "BG": "Bulgarie", "BJ": "Bénin",
	"CA": "Canada", "CD": "République démocratique du Congo", "CG": "Congo", "CH": "Suisse", "CI": "Côte d'Ivoire",
	"CM": "Cameroun", "CY": "Chypre", "CZ": "Tchéquie", "DE": "Allemagne", "DK": "Danemark", "DZ": "Algérie",
	"EE": "Estonie", "ES": "Espagne", "FI": "Finlande", "FR": "France", "GB": "Royaume-Uni", "GN": "Guinée",
	"GR": "Grèce", "HR": "Croatie", "HT": "Haïti", "HU": "Hongrie", "IE": "Irlande", "IT": "Italie", "LB": "Liban",
	"LT": "Lituanie", "LU": "Luxembourg", "LV": "Lettonie", "MA": "Maroc", "MC": "Monaco", "MG": "Madagascar",
	"ML": "Mali", "MT": "Malte", "NE": "Niger", "NL": "Pays-Bas", "NO": "Norvège", "PL": "Pologne", "PT": "Portugal",
	"RO": "Roumanie", "SE": "Suède", "SI": "Slovénie", "SK": "Slovaquie", "SN": "Sénégal", "TG": "Togo",
	"TN": "Tunisie", "TR": "Turquie", "UA": "Ukraine", "US": "États-Unis", "VN": "Viêt Nam",
}

// CountryName is the French name of a country given by its ISO 3166
// code ("BE": "Belgique"); a code it does not know, or a name, is
// returned as it is.
func CountryName(code string) string {
	if n, ok := countryNames[strings.ToUpper(strings.TrimSpace(code))]; ok {
		return n
	}
	return code
}

// amountBlock writes the amount in figures, between asterisks so that
// nothing can be added, and in words.
func (d *doc) amountBlock(intro string, belgian bool) {
	d.para("", intro)
	d.pdf.Ln(1)
	d.font("B", 13)
	d.pdf.CellFormat(0, 8, "***"+FrenchAmount(d.r.Amount)+"\u00a0€***", "1", 1, "C", false, 0, "")
	d.pdf.Ln(1)
	d.field("Somme en toutes lettres :", crm.AmountInWords(d.r.Amount, "EUR", belgian))
}

// giftsTable lists the gifts: date, amount, method.
func (d *doc) giftsTable() {
	pdf := d.pdf
	d.font("B", 9)
	pdf.SetFillColor(245, 246, 248)
	pdf.CellFormat(45, 6, "Date du versement", "1", 0, "L", true, 0, "")
	pdf.CellFormat(35, 6, "Montant", "1", 0, "R", true, 0, "")
	pdf.CellFormat(0, 6, "Mode de versement", "1", 1, "L", true, 0, "")
	d.font("", 9)
	for _, g := range d.r.Gifts {
		pdf.CellFormat(45, 5.5, d.date(g.ReceivedAt), "1", 0, "L", false, 0, "")
		pdf.CellFormat(35, 5.5, FrenchAmount(g.Amount)+"\u00a0€", "1", 0, "R", false, 0, "")
		pdf.CellFormat(0, 5.5, MethodLabel(g.Method), "1", 1, "L", false, 0, "")
	}
}

// signature writes the date of issue, the signer and their signature.
func (d *doc) signature() error {
	is := d.r.Issuer
	d.pdf.Ln(4)
	d.font("B", 9.5)
	d.pdf.CellFormat(0, lineHeight, "Date et signature", "", 1, "L", false, 0, "")
	d.para("", "Le "+d.date(d.r.IssuedAt)+",\n"+is.Signer+", "+is.SignerRole)
	if is.SignatureFile != "" {
		b, err := os.ReadFile(is.SignatureFile)
		if err != nil {
			return fmt.Errorf("signature image: %w (fix the file, or cancel the receipt and issue it again after crm settings set receipt-signature)", err)
		}
		kind := "PNG"
		if bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) {
			kind = "JPG"
		}
		info := d.pdf.RegisterImageOptionsReader("signature", fpdf.ImageOptions{ImageType: kind}, bytes.NewReader(b))
		if d.pdf.Err() {
			return fmt.Errorf("signature image %s: %w", is.SignatureFile, d.pdf.Error())
		}
		h := 18.0
		w := h * info.Width() / info.Height()
		if w > 60 {
			w, h = 60, 60*info.Height()/info.Width()
		}
		d.pdf.ImageOptions("signature", d.pdf.GetX(), d.pdf.GetY()+1, w, h, true, fpdf.ImageOptions{ImageType: kind}, 0, "")
	}
	return nil
}

func (d *doc) french() error {
	r, is := d.r, d.r.Issuer
	articles := "à l'article " + is.Article
	if is.Article == "238 bis" {
		d.title(13, "Reçu des dons et versements effectués par les entreprises",
			"au titre de l'article 238 bis du code général des impôts")
		d.font("", 8.5)
		d.pdf.MultiCell(0, 4.5, nb("(contenu du Cerfa n° 16216)"), "", "C", false)
	} else {
		// Article 978 (the IFI) covers only some bodies: cited when the
		// association says it is one of them (receipt-ifi).
		title := "au titre de l'article 200 du code général des impôts"
		if is.CitesIFI() {
			title, articles = "au titre des articles 200 et 978 du code général des impôts", "aux articles 200 et 978"
		}
		d.title(13, "Reçu des dons et versements effectués par les particuliers", title)
		d.font("", 8.5)
		d.pdf.MultiCell(0, 4.5, nb("(contenu du Cerfa n° 11580*05)"), "", "C", false)
	}
	if r.Status == crm.ReceiptCancelled {
		d.cancelledBanner()
	}
	d.pdf.Ln(2)
	d.font("B", 11)
	d.pdf.CellFormat(0, 7, nb("Numéro d'ordre du reçu : "+r.Number), "", 1, "R", false, 0, "")
	d.replaces()

	d.section("Bénéficiaire des versements")
	d.field("Dénomination :", is.LegalName)
	var ids []string
	if is.SIREN != "" {
		ids = append(ids, "SIREN "+is.SIREN)
	}
	if is.RNA != "" {
		ids = append(ids, "RNA "+is.RNA)
	}
	d.field("N° SIREN ou RNA :", strings.Join(ids, " — "))
	d.field("Adresse :", d.issuerAddress())
	d.field("Objet :", is.Object)
	d.field("Qualité :", is.KindLabel())
	if is.Article != "238 bis" {
		d.field("Taux de réduction :", RateStatement(is.Rate))
	}

	d.section("Donateur")
	label := "Nom et prénoms :"
	if is.Article == "238 bis" {
		label = "Dénomination :"
	}
	d.field(label, r.DonorName)
	d.field("Adresse :", d.donorAddress())

	d.section("Dons et versements")
	// The last words go together: a wrapped line never starts with the
	// colon alone.
	d.amountBlock("Le bénéficiaire reconnaît avoir reçu au titre des dons et versements ouvrant droit à réduction d'impôt, "+
		"la\u00a0somme\u00a0de\u00a0:", false)
	if len(r.Gifts) == 1 {
		d.field("Date du versement ou du don :", d.date(r.Gifts[0].ReceivedAt))
	} else {
		d.field("Dates des versements :", fmt.Sprintf("reçu récapitulatif des %d versements de l'année %d, listés ci-dessous", len(r.Gifts), r.Year))
	}
	if len(r.Gifts) > 0 {
		d.pdf.Ln(1)
		d.giftsTable()
	}
	d.pdf.Ln(2)
	d.para("B", "Le bénéficiaire certifie sur l'honneur que les dons et versements qu'il reçoit ouvrent droit à la réduction "+
		"d'impôt prévue "+articles+" du CGI.")
	if is.CitesIFI() {
		d.font("", 8)
		d.pdf.MultiCell(0, 4, nb("La fraction du montant donné qui ouvre droit à la réduction d'IFI prévue à l'article 978 "+
			"du CGI ne peut ouvrir droit à la réduction d'impôt sur le revenu prévue à l'article 200 du CGI, et inversement."),
			"", "L", false)
	}
	d.pdf.Ln(1)
	d.field("Forme du don :", "Déclaration de don manuel")
	d.field("Nature du don :", "Numéraire")
	// The Cerfa's three boxes; a gift paid otherwise ticks none.
	used := map[string]bool{}
	for _, g := range r.Gifts {
		used[methodBox(g.Method)] = true
	}
	var boxes []string
	for _, m := range []string{"Remise d'espèces", "Chèque", "Virement, prélèvement, carte bancaire"} {
		mark := "[ ]"
		if used[m] {
			mark = "[X]"
		}
		boxes = append(boxes, mark+" "+m)
	}
	d.field("Mode de versement :", strings.Join(boxes, "\n"))
	return d.signature()
}

func (d *doc) belgian() error {
	r, is := d.r, d.r.Issuer
	d.title(14, "Attestation fiscale — libéralités", "(fiche 281.71)")
	d.font("", 8.5)
	d.pdf.MultiCell(0, 4.5, nb("Attestation délivrée en application de l'article 145/33, § 1er, alinéa 2, du Code des impôts sur les revenus 1992"), "", "C", false)
	if r.Status == crm.ReceiptCancelled {
		d.cancelledBanner()
	}
	d.pdf.Ln(2)
	d.font("B", 11)
	d.pdf.CellFormat(0, 7, nb("Année civile : "+strconv.Itoa(r.Year)), "", 1, "R", false, 0, "")
	d.pdf.CellFormat(0, 7, nb("Numéro d'ordre : "+r.Number), "", 1, "R", false, 0, "")
	d.replaces()

	d.section("Institution bénéficiaire")
	d.field("Dénomination :", is.LegalName)
	d.field("Siège social :", d.issuerAddress())
	d.field("Numéro d'entreprise :", BelgianCompanyNumber(is.SIREN))
	d.field("Agrément :", is.Approval)
	if is.Object != "" {
		d.field("Objet :", is.Object)
	}

	d.section("Donateur")
	d.field("Nom et prénom :", r.DonorName)
	d.field("Adresse :", d.donorAddress())
	d.field("Registre national :", "non conservé par l'institution : le donateur le communique dans sa déclaration")

	d.section("Libéralités")
	d.amountBlock(fmt.Sprintf("L'institution reconnaît avoir reçu du donateur, au cours de l'année %d, des libéralités en argent "+
		"d'un montant\u00a0total\u00a0de\u00a0:", r.Year), true)
	d.pdf.Ln(1)
	d.para("B", "Ces libéralités ont été effectuées à titre définitif et irrévocable.")
	if len(r.Gifts) > 0 {
		d.pdf.Ln(1)
		d.giftsTable()
	}
	return d.signature()
}

// methodBox is the Cerfa's box for a method of payment: "" for
// crm.MethodOther, which has none (the Cerfa has no "other" box for a
// gift in cash).
func methodBox(m crm.DonationMethod) string {
	switch m {
	case crm.MethodCash:
		return "Remise d'espèces"
	case crm.MethodCheque:
		return "Chèque"
	case crm.MethodTransfer, crm.MethodCard, crm.MethodHelloAsso:
		// HelloAsso: a payment online, by card.
		return "Virement, prélèvement, carte bancaire"
	}
	return ""
}

// MethodLabel names a method of payment in French, as a receipt lists
// it.
func MethodLabel(m crm.DonationMethod) string {
	switch m {
	case crm.MethodCash:
		return "espèces"
	case crm.MethodCheque:
		return "chèque"
	case crm.MethodTransfer:
		return "virement"
	case crm.MethodCard:
		return "carte bancaire"
	case crm.MethodHelloAsso:
		return "carte bancaire (HelloAsso)"
	}
	return "non précisé"
}

// RateStatement is what a French receipt says of the reduction rate the
// association states applies: "66" or "75".
func RateStatement(rate string) string {
	if rate == "75" {
		return "75 % : l'organisme fournit gratuitement des repas, des soins ou un logement à des personnes en difficulté " +
			"(article 200, 1 ter du CGI), dans la limite du plafond annuel prévu par la loi ; 66 % au-delà"
	}
	return rate + " % du montant des dons (article 200, 1 du CGI), dans la limite de 20 % du revenu imposable"
}

// BelgianCompanyNumber writes an enterprise number as 0123.456.789.
func BelgianCompanyNumber(n string) string {
	if len(n) == 9 {
		n = "0" + n
	}
	if len(n) != 10 {
		return n
	}
	return n[:4] + "." + n[4:7] + "." + n[7:]
}

var frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
	"octobre", "novembre", "décembre"}

// FrenchDate writes a date as a receipt does: "1er mars 2026",
// "15 janvier 2026".
func FrenchDate(t time.Time) string {
	d := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		d = "1er"
	}
	return d + " " + frenchMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// FrenchAmount writes cents in euros the French way: "1 234,50" (the
// thousands grouped by no-break spaces).
func FrenchAmount(cents int64) string {
	s := crm.FormatAmount(cents, "EUR")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString("\u00a0")
		}
		b.WriteRune(c)
	}
	return b.String() + "," + frac
}
