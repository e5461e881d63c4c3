package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/newsletter"
)

func importCommand() *cli.Command {
	readFlags := []cli.Flag{
		&cli.StringFlag{Name: "sheet", Usage: "the sheet of an .xlsx or .ods workbook, by name or number (default: the first that is not empty)"},
		&cli.StringFlag{Name: "delimiter", Usage: "CSV field separator: , ; | or tab (default: detected)"},
		&cli.StringFlag{Name: "encoding", Usage: "CSV encoding: utf-8, windows-1252, iso-8859-1, utf-16le or utf-16be (default: detected)"},
		&cli.StringSliceFlag{Name: "map", Usage: `column mapping "HEADER=field" (repeatable), e.g. "Courriel=email"`},
		&cli.BoolFlag{Name: "dry-run", Usage: "do the whole import and report, then write nothing; " +
			"unlike an import, it holds the SQLite write lock for its whole length: web signups, unsubscribes " +
			"and webhooks wait meanwhile, and fail after 5 s (run it while the web pages are quiet, or on a copy)"},
		&cli.StringFlag{Name: "rejects", Usage: "write rejected rows, with a reason column, to this CSV file"},
		&cli.StringFlag{Name: "output", Value: "text", Usage: "report format: text or json"},
	}
	return &cli.Command{
		Name:  "import",
		Usage: "import supporters or donations from a CSV file or an Excel (.xlsx) or LibreOffice (.ods) workbook",
		Description: "The file's kind is recognised from its content, whatever its name. In a workbook, the header is\n" +
			"the first row with two cells or more (a title above it is skipped), dates read as 2026-12-05,\n" +
			"formulas as their last computed value, and the lines reported are the sheet's row numbers.",
		Subcommands: []*cli.Command{
			{
				Name:      "supporters",
				Usage:     "import supporters (Excel, HelloAsso, Mailchimp, listmonk, Google Forms or any sheet with an email column)",
				ArgsUsage: "FILE",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "format", Value: "auto", Usage: "auto, generic, mailchimp, helloasso, listmonk or googleforms"},
					&cli.StringFlag{Name: "list", Usage: "subscribe the imported people to this list (needs --consent)"},
					&cli.StringFlag{Name: "consent", Usage: "what the people agreed to, recorded as proof"},
					&cli.BoolFlag{Name: "welcome", Usage: "queue the list's welcome email for each person newly subscribed to --list (crm serve, or crm send --due with RESEND_API_KEY or --outbox DIR, sends them)"},
					&cli.StringSliceFlag{Name: "tag", Usage: "add this tag to every imported supporter (repeatable)"},
					&cli.BoolFlag{Name: "overwrite", Usage: "let non-empty values of the file replace stored ones"},
					&cli.BoolFlag{Name: "ignore-unknown", Usage: "drop unknown columns instead of keeping them as attributes"},
					&cli.BoolFlag{Name: "create-interests", Usage: "create the interests the file names that do not exist (without it, they are left out of the person's record and listed as warnings)"},
					&cli.BoolFlag{Name: "until-error", Usage: "when a quote is never closed, import the rows before it instead of nothing"},
				}, readFlags...),
				Action: withDB(1, 1, importSupporters),
			},
			{
				Name: "recover",
				Usage: "end the imports a crash left unfinished: undo those that were writing, finish those that " +
					"had committed (any import does it first, once the crashed process is gone)",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "force", Usage: "also take over imports whose process seems alive (a reused process id, another host)"},
				},
				Action: withDB(0, 0, recoverImports),
			},
			{
				Name:      "donations",
				Usage:     "import donations (HelloAsso payment exports or a sheet with email, amount, date...)",
				ArgsUsage: "FILE",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "format", Value: "auto", Usage: "auto, generic or helloasso"},
					&cli.StringFlag{Name: "currency", Value: "EUR", Usage: "currency of rows without one"},
				}, readFlags...),
				Action: withDB(1, 1, importDonations),
			},
		},
	}
}

// importInput is the opened file, wrapped in a progress bar when standard
// error is a terminal, and the reject writer.
type importInput struct {
	path      string
	r         io.Reader
	close     func()
	rejects   *rejectsFile
	name      string
	delimiter rune
	sheet     string
	mapping   map[string]string
	workbook  bool // a zip archive: an .xlsx or .ods
}

// progressFile counts what is read of the file on a progress bar. It is
// an io.ReaderAt of known size, as the file is, so that a workbook (a zip
// archive, read at offsets) is read in place rather than copied.
type progressFile struct {
	f    *os.File
	size int64
	bar  *progressbar.ProgressBar
	read int64
}

func (p *progressFile) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	p.add(n)
	return n, err
}

func (p *progressFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.f.ReadAt(b, off)
	p.add(n)
	return n, err
}

// Size is the file's size.
func (p *progressFile) Size() int64 { return p.size }

// add moves the bar; a zip archive is read partly twice (its directory,
// then its entries), so the count stops at the size.
func (p *progressFile) add(n int) {
	p.read = min(p.read+int64(n), p.size)
	p.bar.Set64(p.read)
}

// openImport reads the flags every import shares and opens the file.
func openImport(c *cli.Context) (*importInput, error) {
	if o := c.String("output"); o != "text" && o != "json" {
		return nil, usagef("--output %q: want text or json", o)
	}
	delim, err := parseDelimiter(c)
	if err != nil {
		return nil, err
	}
	mapping, err := parseMap(c)
	if err != nil {
		return nil, err
	}
	path := c.Args().First()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	in := &importInput{path: path, r: f, name: filepath.Base(path), delimiter: delim, sheet: c.String("sheet"), mapping: mapping}
	magic := make([]byte, 4)
	if n, _ := f.ReadAt(magic, 0); n == 4 && string(magic) == "PK\x03\x04" {
		in.workbook = true
	}
	c.Context = crm.WithChannel(c.Context, crm.ImportSource(in.name))
	var bar *progressbar.ProgressBar
	if errFile, ok := terminal(c.App.ErrWriter); ok {
		if st, err := f.Stat(); err == nil {
			bar = progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(errFile),
				progressbar.OptionShowBytes(true), progressbar.OptionSetDescription("importing "+in.name),
				progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))
			in.r = &progressFile{f: f, size: st.Size(), bar: bar}
		}
	}
	in.close = func() {
		if bar != nil {
			bar.Finish()
		}
		f.Close()
	}
	if out := c.String("rejects"); out != "" {
		if in.rejects, err = createRejects(out); err != nil {
			f.Close()
			return nil, fmt.Errorf("--rejects: %w", err)
		}
	}
	return in, nil
}

// onReject is the callback that feeds --rejects, or nil.
func (in *importInput) onReject() func(crm.Rejection) {
	if in.rejects == nil {
		return nil
	}
	return in.rejects.write
}

// finish ends an import: on failure the rejects file is dropped and the
// error names the file; on success the rejects file is written out, and
// the report printed as JSON (--output json, then done is true) or its
// first line printed.
func (in *importInput) finish(c *cli.Context, err error, info *crm.FileInfo, rep any) (done bool, _ error) {
	if err != nil {
		in.rejects.discard()
		return true, fmt.Errorf("import %s: %w%s", in.name, err, in.otherSheets(err))
	}
	delimiter := info.Delimiter
	if delimiter == "" { // a workbook: the rejected rows go to a CSV file that French Excel opens
		delimiter = ";"
	}
	if err := in.rejects.finish(info.Header, delimiter); err != nil {
		return true, err
	}
	if c.String("output") == "json" {
		return true, writeJSON(c.App.Writer, rep)
	}
	if info.FileFormat != sheet.FormatCSV {
		fmt.Fprintf(c.App.Writer, "%s: %s workbook, sheet %q, format %s\n", in.name, info.FileFormat, info.Sheet, info.Format)
		return false, nil
	}
	fmt.Fprintf(c.App.Writer, "%s: format %s, encoding %s, delimiter %s\n", in.name, info.Format, info.Encoding,
		showDelimiter(info.Delimiter))
	return false, nil
}

// otherSheets is, when a workbook's sheet lacks a column the import
// needs, a hint naming the workbook's other sheets: the gifts are often
// on another sheet than the members.
func (in *importInput) otherSheets(err error) string {
	var me *crm.MappingError
	if !errors.As(err, &me) || !me.Missing {
		return ""
	}
	f, ferr := os.Open(in.path)
	if ferr != nil {
		return ""
	}
	defer f.Close()
	names, _ := sheet.SheetNames(f)
	if len(names) < 2 {
		return ""
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return fmt.Sprintf("; the workbook has the sheets %s: choose one with --sheet NAME", strings.Join(quoted, ", "))
}

func parseDelimiter(c *cli.Context) (rune, error) {
	switch d := c.String("delimiter"); strings.ToLower(d) {
	case "":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	case ",", ";", "|":
		return rune(d[0]), nil
	default:
		return 0, usagef("--delimiter %q: want , ; | or tab", d)
	}
}

func parseMap(c *cli.Context) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range c.StringSlice("map") {
		h, f, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(h) == "" || strings.TrimSpace(f) == "" {
			return nil, usagef("--map %q: want \"HEADER=field\"", v)
		}
		m[h] = f
	}
	return m, nil
}

// batchGC tunes the garbage collector for an import, unless the user set
// GOGC: an import allocates a few kilobytes a row while keeping only a few
// megabytes alive, so at the default (100) the collector runs every few
// megabytes, hundreds of times a second, beside the one goroutine that
// writes. At 300 it runs a third as often, for about 15 MB more at the
// peak of a 1,000,000-row import (see crmbench in README). A workbook's
// XML makes several times as much garbage a row: at 300 a 100,000-row
// .xlsx peaked at 111 MB, at the default 85 MB; so it keeps the default.
// It returns the function that puts the setting back.
func batchGC(workbook bool) func() {
	if os.Getenv("GOGC") != "" || workbook {
		return func() {}
	}
	old := debug.SetGCPercent(300)
	return func() { debug.SetGCPercent(old) }
}

func importSupporters(c *cli.Context, db *crm.DB) error {
	if c.IsSet("list") && !c.IsSet("consent") {
		return usagef("import supporters: --list needs --consent TEXT (what the people agreed to)")
	}
	var n *newsletter.Newsletter
	if c.Bool("welcome") {
		var err error
		if n, err = welcomeList(c, db); err != nil {
			return err
		}
	}
	in, err := openImport(c)
	if err != nil {
		return err
	}
	defer in.close()
	opts := crm.ImportOptions{
		Format: crm.ImportFormat(c.String("format")), Delimiter: in.delimiter, Encoding: c.String("encoding"),
		Sheet: in.sheet, Map: in.mapping, FileName: in.name, List: c.String("list"), Consent: c.String("consent"),
		Tags: c.StringSlice("tag"), Overwrite: c.Bool("overwrite"), IgnoreUnknown: c.Bool("ignore-unknown"),
		DryRun: c.Bool("dry-run"), OnReject: in.onReject(), UntilError: c.Bool("until-error"),
		CreateInterests: c.Bool("create-interests"),
	}
	defer batchGC(in.workbook)()
	rep, err := db.ImportSupporters(c.Context, in.r, opts)
	var info *crm.FileInfo
	if rep != nil {
		info = &rep.FileInfo
	}
	if done, err := in.finish(c, err, info, rep); done || err != nil {
		return err
	}
	lines := [][2]string{
		{"rows read", strconv.Itoa(rep.Rows)}, {"created", strconv.Itoa(rep.Created)},
		{"updated", strconv.Itoa(rep.Updated)}, {"unchanged", strconv.Itoa(rep.Unchanged)},
		{"merged duplicates", strconv.Itoa(rep.Duplicates)}, {"rejected", strconv.Itoa(rep.Rejected)},
	}
	if opts.List != "" {
		lines = append(lines, [2]string{"subscribed to " + opts.List, strconv.Itoa(rep.Subscribed)},
			[2]string{"already subscribed", strconv.Itoa(rep.AlreadySubscribed)},
			[2]string{"not resubscribed (left, bounced or complained)", strconv.Itoa(rep.NotResubscribed)})
	}
	if rep.Unsubscribed > 0 {
		lines = append(lines, [2]string{"marked unsubscribed", strconv.Itoa(rep.Unsubscribed)})
	}
	if rep.Bounced > 0 {
		lines = append(lines, [2]string{"marked bounced", strconv.Itoa(rep.Bounced)})
	}
	if rep.KeptOwnChoices > 0 {
		lines = append(lines, [2]string{"kept people's own choices", fmt.Sprintf("%d (interests or tags they removed themselves were not added back)", rep.KeptOwnChoices)})
	}
	if len(rep.InterestsCreated) > 0 {
		lines = append(lines, [2]string{"interests created", strings.Join(rep.InterestsCreated, ", ")})
	}
	if rep.Warned > 0 {
		lines = append(lines, [2]string{"warnings", strconv.Itoa(rep.Warned) + " (imported without what is listed below)"})
	}
	printReport(c, lines, rep.Rejections, rep.Rejected, rep.DryRun)
	printWarnings(c.App.Writer, rep.Warnings, rep.Warned)
	printDryRun(c, rep.DryRun)
	if rep.StoppedAt != "" {
		fmt.Fprintf(c.App.Writer, "stopped at %s\nonly the rows before that line were imported (--until-error)\n", rep.StoppedAt)
	}
	switch {
	case n == nil:
	case rep.DryRun:
		fmt.Fprintf(c.App.Writer, "welcome emails: %d would be queued\n", rep.Subscribed)
	default:
		ids, err := n.WelcomeImported(c.Context, rep.ImportID)
		if err != nil {
			return fmt.Errorf("the import is done, but its welcome emails: %w (queue them again with the same command)", err)
		}
		fmt.Fprintf(c.App.Writer, "welcome emails queued: %d (crm serve, or crm send --due with RESEND_API_KEY or --outbox DIR, sends them)\n", len(ids))
	}
	return nil
}

// welcomeList checks, before an import --welcome reads anything, that its
// list has a welcome email to send.
func welcomeList(c *cli.Context, db *crm.DB) (*newsletter.Newsletter, error) {
	list := c.String("list")
	if list == "" {
		return nil, usagef("import supporters: --welcome needs --list (the list whose welcome email to send)")
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return nil, err
	}
	ts, err := n.ListTemplates(c.Context, list)
	if err != nil {
		return nil, explainFlag("list", err)
	}
	for _, t := range ts {
		if t.Kind == newsletter.NoticeWelcome {
			return n, nil
		}
	}
	return nil, usagef("import supporters --welcome: list %s has no welcome email (crm lists edit %s --welcome default, or --welcome fr=FILE)", list, list)
}

func recoverImports(c *cli.Context, db *crm.DB) error {
	done, err := db.RecoverImports(c.Context, c.Bool("force"))
	if errors.Is(err, crm.ErrConflict) && !c.Bool("force") {
		err = fmt.Errorf("%w: if that process is gone, run crm import recover --force", err)
	}
	for _, u := range done {
		what := "undone"
		if u.Status == "committed" {
			what = "finished"
		}
		fmt.Fprintf(c.App.Writer, "import %d of %s (started %s): %s\n", u.ID, u.File, u.StartedAt.Format(time.RFC3339), what)
	}
	if err == nil && len(done) == 0 {
		fmt.Fprintln(c.App.Writer, "no unfinished import")
	}
	return err
}

// warnUnfinishedImports tells, on standard error, of imports a crash left
// half written: until the next import or crm import recover ends them,
// the database holds part of a file.
func warnUnfinishedImports(c *cli.Context, db *crm.DB) {
	list, err := db.UnfinishedImports(c.Context)
	if err != nil {
		return // an older or read-only database: nothing to say
	}
	for _, u := range list {
		if !u.Alive {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", strings.Replace(u.String(), "RecoverImports", "crm import recover", 1))
		}
	}
}

func importDonations(c *cli.Context, db *crm.DB) error {
	in, err := openImport(c)
	if err != nil {
		return err
	}
	defer in.close()
	opts := crm.DonationImportOptions{
		Format: crm.ImportFormat(c.String("format")), Delimiter: in.delimiter, Encoding: c.String("encoding"),
		Sheet: in.sheet, Map: in.mapping, FileName: in.name, DryRun: c.Bool("dry-run"), Currency: c.String("currency"),
		OnReject: in.onReject(),
	}
	defer batchGC(in.workbook)()
	rep, err := db.ImportDonations(c.Context, in.r, opts)
	var info *crm.FileInfo
	if rep != nil {
		info = &rep.FileInfo
	}
	if done, err := in.finish(c, err, info, rep); done || err != nil {
		return err
	}
	printReport(c, [][2]string{
		{"rows read", strconv.Itoa(rep.Rows)}, {"donations recorded", strconv.Itoa(rep.Created)},
		{"already recorded", strconv.Itoa(rep.Duplicates)}, {"skipped (payment not validated)", strconv.Itoa(rep.Skipped)},
		{"rejected", strconv.Itoa(rep.Rejected)}, {"new supporters", strconv.Itoa(rep.SupportersCreated)},
		{"addresses completed", strconv.Itoa(rep.AddressesCompleted)},
		{"other addresses kept", strconv.Itoa(rep.AddressesKept)},
	}, rep.Rejections, rep.Rejected, rep.DryRun)
	var ignored []string
	for _, col := range rep.Columns {
		if col.Field == "ignore" && strings.TrimSpace(col.Header) != "" {
			ignored = append(ignored, strconv.Quote(col.Header))
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(c.App.Writer, "  columns not read: %s (to read one, name its field: --map \"HEADER=FIELD\", see --help)\n",
			strings.Join(ignored, ", "))
	}
	printDryRun(c, rep.DryRun)
	return nil
}

func showDelimiter(d string) string {
	if d == "\t" {
		return "tab"
	}
	return strconv.Quote(d)
}

// printReport prints the counts, the first rejections and what to do.
func printReport(c *cli.Context, lines [][2]string, rejections []crm.Rejection, rejected int, dryRun bool) {
	w := c.App.Writer
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
	const shown = 20
	for i, r := range rejections {
		if i == shown {
			break
		}
		fmt.Fprintf(w, "  rejected %s\n", r)
	}
	if rejected > min(shown, len(rejections)) {
		fmt.Fprintf(w, "  ... and %d more rejected rows", rejected-min(shown, len(rejections)))
		if !c.IsSet("rejects") {
			fmt.Fprint(w, " (write them all with --rejects FILE)")
		}
		fmt.Fprintln(w)
	}
	if rejected > 0 && c.IsSet("rejects") {
		fmt.Fprintf(w, "rejected rows written to %s: fix them and import that file again\n", c.String("rejects"))
	}
}

// printDryRun ends a dry run's report.
func printDryRun(c *cli.Context, dryRun bool) {
	if dryRun {
		fmt.Fprintln(c.App.Writer, "dry run: nothing was written to the database")
	}
}

// printWarnings lists the first warnings of an import: what rows held
// that was left out, the rows being imported without it.
func printWarnings(w io.Writer, warnings []crm.Rejection, warned int) {
	const shown = 20
	for i, r := range warnings {
		if i == shown {
			break
		}
		fmt.Fprintf(w, "  warning %s\n", r)
	}
	if warned > min(shown, len(warnings)) {
		fmt.Fprintf(w, "  ... and %d more warnings (--output json lists them)\n", warned-min(shown, len(warnings)))
	}
}

// rejectsFile is --rejects: the rows collected (sheet.Rejects, which
// holds the file's format) and where they go.
type rejectsFile struct {
	path string
	rows *sheet.Rejects
}

func createRejects(path string) (*rejectsFile, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".xlsx", ".xls", ".ods", ".json":
		return nil, usagef("--rejects %q: the rejected rows are written as a CSV file (that Excel and LibreOffice open): name it .csv", path)
	}
	rows, err := sheet.NewRejects(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return &rejectsFile{path: path, rows: rows}, nil
}

func (r *rejectsFile) write(rej crm.Rejection) {
	r.rows.Add(rej.Line, rej.Column, rej.Reason, rej.Record)
}

func (r *rejectsFile) discard() {
	if r != nil {
		r.rows.Close()
	}
}

// finish writes the collected rows under header to the file, with the
// input's delimiter.
func (r *rejectsFile) finish(header []string, delimiter string) error {
	if r == nil {
		return nil
	}
	defer r.discard()
	// Rejected rows are people's data: readable by their owner only, as
	// the database is.
	out, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("--rejects: %w", err)
	}
	if err := r.rows.WriteCSV(out, header, []rune(delimiter)[0]); err != nil {
		out.Close()
		return fmt.Errorf("--rejects: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("--rejects: %w", err)
	}
	return nil
}
