package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

func supportersCommand() *cli.Command {
	return &cli.Command{
		Name:    "supporters",
		Aliases: []string{"supporter"},
		Usage:   "add, change, find and show supporters",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "add a supporter",
				Flags: append(supporterFlags(true), &cli.BoolFlag{Name: "fresh-consent",
					Usage: "the person, erased before, gave their consent again"}),
				Action: withDB(0, 0, addSupporter),
			},
			{
				Name:      "edit",
				Usage:     "change the fields given, leave the others",
				ArgsUsage: "EMAIL",
				Flags: append(supporterFlags(false),
					&cli.StringSliceFlag{Name: "untag", Usage: "remove a tag (repeatable)"},
					&cli.StringSliceFlag{Name: "remove-interest", Usage: "remove an interest (repeatable)"},
				),
				Action: withDB(1, 1, editSupporter),
			},
			{
				Name:      "tag",
				Usage:     "add tags to a supporter",
				ArgsUsage: "EMAIL TAG...",
				Action:    withDB(2, -1, tagAction((*crm.DB).TagSupporter)),
			},
			{
				Name:      "untag",
				Usage:     "remove tags from a supporter",
				ArgsUsage: "EMAIL TAG...",
				Action:    withDB(2, -1, tagAction((*crm.DB).UntagSupporter)),
			},
			{
				Name:  "list",
				Usage: "list supporters",
				Flags: append(append(filterFlags(), outputFlags()...),
					&cli.IntFlag{Name: "limit", Usage: "print at most this many (0: all)"},
					&cli.IntFlag{Name: "offset", Usage: "skip this many first"}),
				Action: withReadDB(0, 0, listSupporters),
			},
			{
				Name:  "count",
				Usage: "print how many supporters match",
				Flags: filterFlags(),
				Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
					warnSegment(c, db, c.String("segment"))
					n, err := db.CountSupporters(c.Context, supporterFilter(c))
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, n)
					return nil
				}),
			},
			exportSupporterCommand(),
			forgetSupporterCommand(),
			{
				Name:      "show",
				Usage:     "show everything about one supporter",
				ArgsUsage: "EMAIL",
				Flags:     outputFlags(),
				Action:    withReadDB(1, 1, showSupporter),
			},
		},
	}
}

func supporterFlags(add bool) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "email", Usage: "email address", Required: add},
		&cli.StringFlag{Name: "first-name"},
		&cli.StringFlag{Name: "last-name"},
		&cli.StringFlag{Name: "phone"},
		&cli.StringFlag{Name: "org", Aliases: []string{"organisation"}},
		&cli.StringFlag{Name: "address", Usage: `street and number, as on an envelope: "5 rue Royale" (needed on a tax receipt)`},
		&cli.StringFlag{Name: "city"},
		&cli.StringFlag{Name: "postcode"},
		&cli.StringFlag{Name: "country", Usage: "ISO code (FR, BE) or name"},
		&cli.StringFlag{Name: "lang", Aliases: []string{"language"}, Usage: "language code (default fr)"},
		&cli.StringSliceFlag{Name: "tag", Usage: "add a tag (repeatable)"},
		&cli.StringSliceFlag{Name: "interest", Usage: "how they want to help, NAME or NAME=AVAILABILITY (repeatable)"},
		&cli.StringSliceFlag{Name: "attr", Usage: "free attribute KEY=VALUE (repeatable; empty VALUE deletes)"},
		&cli.StringFlag{Name: "note", Aliases: []string{"notes"}},
		&cli.StringFlag{Name: "source", Usage: "where this supporter came from"},
	}
}

// parseInterests and parseAttrs read the repeatable flags; the names of
// flags are part of their errors.
func parseInterests(c *cli.Context, flag string) ([]crm.SupporterInterest, error) {
	var out []crm.SupporterInterest
	for _, v := range c.StringSlice(flag) {
		in, err := crm.ParseSupporterInterest(v)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		out = append(out, in)
	}
	return out, nil
}

func parseAttrs(c *cli.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range c.StringSlice("attr") {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--attr %q: want KEY=VALUE", v)
		}
		out[k] = val
	}
	return out, nil
}

func addSupporter(c *cli.Context, db *crm.DB) error {
	interests, err := parseInterests(c, "interest")
	if err != nil {
		return err
	}
	attrs, err := parseAttrs(c)
	if err != nil {
		return err
	}
	s := &crm.Supporter{
		Email: c.String("email"), FirstName: c.String("first-name"), LastName: c.String("last-name"),
		Phone: c.String("phone"), Organisation: c.String("org"), Address: c.String("address"), City: c.String("city"),
		Postcode: c.String("postcode"), Country: c.String("country"), Language: c.String("lang"),
		Notes: c.String("note"), Source: c.String("source"), Tags: c.StringSlice("tag"),
		Interests: interests, Attributes: attrs,
	}
	if s.Source == "" {
		s.Source = crm.SourceCLI
	}
	// Fresh consent lifts the erasure in the transaction that adds them,
	// so a failed addition leaves the address erased.
	err = db.RunInTx(c.Context, func(tx *crm.Tx) error {
		if c.Bool("fresh-consent") {
			if err := tx.ClearErased(c.Context, s.Email); err != nil {
				return err
			}
		}
		return tx.CreateSupporter(c.Context, s)
	})
	if err != nil {
		if errors.Is(err, crm.ErrErased) {
			return fmt.Errorf("--email %q: %w (then use --fresh-consent)", s.Email, crm.ErrErased)
		}
		return err
	}
	fmt.Fprintf(c.App.Writer, "added supporter %d (%s)\n", s.ID, s.Email)
	return nil
}

func editSupporter(c *cli.Context, db *crm.DB) error {
	id, err := supporterID(c, db, c.Args().First())
	if err != nil {
		return err
	}
	interests, err := parseInterests(c, "interest")
	if err != nil {
		return err
	}
	attrs, err := parseAttrs(c)
	if err != nil {
		return err
	}
	u := crm.SupporterUpdate{
		AddTags: c.StringSlice("tag"), RemoveTags: c.StringSlice("untag"),
		SetAttributes: attrs, SetInterests: interests, RemoveInterests: c.StringSlice("remove-interest"),
	}
	stringFlags(c, map[string]**string{
		"email": &u.Email, "first-name": &u.FirstName, "last-name": &u.LastName, "phone": &u.Phone,
		"org": &u.Organisation, "address": &u.Address, "city": &u.City, "postcode": &u.Postcode, "country": &u.Country,
		"lang": &u.Language, "note": &u.Notes, "source": &u.Source,
	})
	s, err := db.UpdateSupporter(c.Context, id, u)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "updated supporter %d (%s)\n", s.ID, s.Email)
	return nil
}

func filterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "segment", Usage: `only supporters matching this expression, e.g. "interest:terrain AND NOT tag:presse"`},
		&cli.StringFlag{Name: "tag", Usage: "only supporters with this tag"},
		&cli.StringFlag{Name: "interest", Usage: "only supporters with this interest"},
		&cli.StringFlag{Name: "list", Usage: "only supporters subscribed to this list"},
		&cli.StringFlag{Name: "lang", Usage: "only supporters with this language"},
		&cli.StringFlag{Name: "source", Usage: "only supporters from this source"},
	}
}

// warnSegment says on standard error what in a segment is allowed but
// likely a mistake (a tag nobody has); an invalid segment is left to the
// command's own error.
func warnSegment(c *cli.Context, db *crm.DB, expr string) {
	if strings.TrimSpace(expr) == "" {
		return
	}
	warnings, err := db.SegmentWarnings(c.Context, expr)
	if err != nil {
		return
	}
	for _, w := range warnings {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
	}
}

func supporterFilter(c *cli.Context) crm.SupporterFilter {
	f := crm.SupporterFilter{Segment: c.String("segment")}
	stringFlags(c, map[string]**string{
		"tag": &f.Tag, "interest": &f.Interest, "list": &f.List, "lang": &f.Language, "source": &f.Source,
	})
	return f
}

// supporterColumns are the columns of a supporters file (csv, excel-csv,
// xlsx) and of supporters show.
var supporterColumns = append(textColumns("email", "first_name", "last_name", "phone", "organisation", "address", "city",
	"postcode", "country", "language", "tags", "interests", "email_status", "source"),
	sheet.Column{Name: "created_at", Kind: sheet.KindDateTime})

func supporterRow(s *crm.Supporter, loc *time.Location) []sheet.Value {
	return []sheet.Value{sheet.Text(s.Email), sheet.Text(s.FirstName), sheet.Text(s.LastName), sheet.Text(s.Phone),
		sheet.Text(s.Organisation), sheet.Text(s.Address), sheet.Text(s.City), sheet.Text(s.Postcode), sheet.Text(s.Country),
		sheet.Text(s.Language), sheet.Text(strings.Join(s.Tags, ";")), sheet.Text(interestNames(s)),
		sheet.Text(string(s.EmailStatus)), sheet.Text(s.Source), sheet.DateTime(s.CreatedAt.In(loc), time.RFC3339)}
}

// exportColumns are the columns of a supporters file: supporterColumns,
// then notes and one attr.KEY column per free attribute key, so that the
// file imports back whole (crm import reads attr.KEY columns as that
// attribute).
func exportColumns(keys []string) []sheet.Column {
	cols := append(slices.Clone(supporterColumns), sheet.Column{Name: "notes", Kind: sheet.KindText})
	for _, k := range keys {
		cols = append(cols, sheet.Column{Name: "attr." + k, Kind: sheet.KindText})
	}
	return cols
}

func exportRow(s *crm.Supporter, loc *time.Location, keys []string) []sheet.Value {
	row := append(supporterRow(s, loc), sheet.Text(s.Notes))
	for _, k := range keys {
		row = append(row, sheet.Text(s.Attributes[k]))
	}
	return row
}

// interestNames is the interests cell of a listing: their names, without
// availability, separated by ";" as tags are.
func interestNames(s *crm.Supporter) string {
	ins := make([]string, len(s.Interests))
	for i, in := range s.Interests {
		ins[i] = in.Interest
	}
	return strings.Join(ins, ";")
}

func listSupporters(c *cli.Context, db *crm.DB) error {
	warnSegment(c, db, c.String("segment"))
	f := supporterFilter(c)
	f.Limit = c.Int("limit")
	f.Offset = c.Int("offset")
	return writeSupporters(c, db, f)
}

// supporterTableHeader and supporterTableRow are the columns of the
// table listing: fewer than the CSV's, to fit a terminal.
var supporterTableHeader = []string{"email", "name", "city", "lang", "tags", "interests", "status"}

func supporterTableRow(s *crm.Supporter) []string {
	return []string{s.Email, s.Name(), s.City, s.Language, strings.Join(s.Tags, ";"), interestNames(s),
		string(s.EmailStatus)}
}

// tableBlock is how many rows of a streamed table are aligned together.
const tableBlock = 1000

// writeSupporters writes the supporters of rows as they come, so listing
// or exporting the whole base needs little memory, in every format (an
// xlsx workbook streams its rows to a temporary file). A table is aligned
// by blocks of tableBlock rows. A failed write stops the listing and is
// the error returned, as is the last flush's: a full disk or a closed
// pipe must not look like a complete listing.
func writeSupporters(c *cli.Context, db *crm.DB, f crm.SupporterFilter) error {
	o, err := openOutput(c)
	if err != nil {
		return err
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return o.close(c, err)
	}
	var keys []string
	if o.format != "table" && o.format != "json" {
		if keys, err = db.AttributeKeys(c.Context, f); err != nil {
			return o.close(c, err)
		}
	}
	return o.close(c, o.writeSupporterRows(db.Supporters(c.Context, f), st.Location(), keys))
}

func (o *output) writeSupporterRows(rows iter.Seq2[*crm.Supporter, error], loc *time.Location, keys []string) (err error) {
	w := o.w
	var sw *sheet.Writer
	var tw *table
	switch o.format {
	case "table":
		tw = newTable(w, supporterTableHeader)
	case "json":
		w.WriteString("[")
	default:
		if sw, err = o.sheetWriter(exportColumns(keys)); err != nil {
			return err
		}
		defer func() {
			// Close also removes a workbook's temporary files after an
			// error.
			if cerr := sw.Close(); err == nil {
				err = cerr
			}
		}()
	}
	first := true
	n := 0
	for s, err := range rows {
		if err != nil {
			return err
		}
		switch {
		case tw != nil:
			tw.row(supporterTableRow(s))
			if n++; n%tableBlock == 0 {
				if err := tw.flush(); err != nil {
					return err
				}
			}
			continue
		case sw != nil:
			if err := sw.Write(exportRow(s, loc, keys)); err != nil {
				return err
			}
			continue
		}
		b, err := json.MarshalIndent(s, "  ", "  ")
		if err != nil {
			return err
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		w.WriteString("\n  ")
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	switch {
	case tw != nil:
		return tw.flush()
	case sw != nil:
		return nil
	}
	if !first {
		w.WriteString("\n")
	}
	_, err = w.WriteString("]\n")
	return err
}

func showSupporter(c *cli.Context, db *crm.DB) error {
	p, err := db.GetProfile(c.Context, c.Args().First())
	if errors.Is(err, crm.ErrNotFound) {
		return fmt.Errorf("no supporter with email %q: %w", c.Args().First(), crm.ErrNotFound)
	}
	if err != nil {
		return err
	}
	s := p.Supporter
	recs := records{columns: textColumns("field", "value"), json: p}
	add := func(k string, v sheet.Value) {
		if !v.IsEmpty() {
			recs.rows = append(recs.rows, []sheet.Value{sheet.Text(k), v})
		}
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	row := supporterRow(s, st.Location())
	for i, col := range supporterColumns {
		add(col.Name, row[i])
	}
	add("id", sheet.Int(s.ID))
	add("notes", sheet.Text(s.Notes))
	for _, k := range slices.Sorted(maps.Keys(s.Attributes)) {
		add("attr."+k, sheet.Text(s.Attributes[k]))
	}
	for _, in := range s.Interests {
		add("interest."+in.Interest, sheet.Text(cmp.Or(in.Availability, "yes")))
	}
	for _, sub := range p.Subscriptions {
		add("list."+sub.List, sheet.Text(string(sub.Status)))
	}
	for _, t := range p.DonationTotals {
		add("donations."+t.Currency, sheet.Text(fmt.Sprintf("%d gifts, %s %s, %s to %s", t.Count,
			crm.FormatAmount(t.Sum, t.Currency), t.Currency, t.First.Format(time.DateOnly), t.Last.Format(time.DateOnly))))
	}
	for _, ev := range supporterEventLines(p.Events) {
		add("event."+ev[0], sheet.Text(ev[1]))
	}
	return printRecords(c, recs)
}

// supporterEventLines says, per event a supporter answered or attended
// (in the order of their first answer, then of attendance), its name and
// "Title: yes (+1), attended": the last answer and the attendance.
func supporterEventLines(x *crm.SupporterEvents) [][2]string {
	if x == nil {
		return nil
	}
	var names []string
	title, answer, came := map[string]string{}, map[string]string{}, map[string]string{}
	seen := func(name, t string) {
		if _, ok := title[name]; !ok {
			names = append(names, name)
		}
		title[name] = t
	}
	for _, a := range x.Answers { // oldest first: the last one stays
		seen(a.Event, a.EventTitle)
		answer[a.Event] = string(a.Answer)
		if a.Guests > 0 {
			answer[a.Event] += fmt.Sprintf(" (+%d)", a.Guests)
		}
		if a.Waiting {
			answer[a.Event] += " waiting"
		}
	}
	for _, a := range x.Attendance {
		seen(a.Event, a.EventTitle)
		came[a.Event] = a.Status
	}
	var out [][2]string
	for _, name := range names {
		var what []string
		for _, w := range []string{answer[name], came[name]} {
			if w != "" {
				what = append(what, w)
			}
		}
		out = append(out, [2]string{name, title[name] + ": " + strings.Join(what, ", ")})
	}
	return out
}

// tagAction runs "EMAIL TAG..." commands through op (TagSupporter or
// UntagSupporter).
func tagAction(op func(*crm.DB, context.Context, int64, ...string) error) func(*cli.Context, *crm.DB) error {
	return func(c *cli.Context, db *crm.DB) error {
		id, err := supporterID(c, db, c.Args().First())
		if err != nil {
			return err
		}
		return op(db, c.Context, id, c.Args().Tail()...)
	}
}
