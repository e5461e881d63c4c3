// Command crm keeps an association's supporters, donations, lists and
// consent in one SQLite file, imports their spreadsheets and sends their
// newsletters. It is a thin layer over the crm and newsletter packages:
// it reads flags and environment, makes one library call and prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed; the database is as it was
	exitUsage = 2 // the command line was wrong; nothing was done
)

// usageError marks a mistake in the command line itself.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// quietError is an error whose message says it all and that wraps a
// sentinel of crm (ErrNotFound, ErrConflict) without ending with the
// sentinel's own word ("no supporter with email "x"", not "...: not
// found"); errors.Is still finds it.
type quietError struct {
	msg      string
	sentinel error
}

func (e *quietError) Error() string { return e.msg }

func (e *quietError) Unwrap() error { return e.sentinel }

// quietf makes a *quietError from a format and its arguments.
func quietf(sentinel error, format string, args ...any) error {
	return &quietError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}

// run runs the command line args and returns the exit code. Results go to
// stdout, errors to stderr.
//
// A failed write to stdout is a failure (exit 1) even when the command
// itself succeeded: whoever reads the output must not take a truncated
// listing for a whole one. Commands print after their change is made, so
// a command that changes data has changed it when this is reported.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &outputWriter{w: stdout}
	app := newApp(stdin, out, stderr)
	err := app.RunContext(ctx, reorderArgs(app, args))
	if out.err != nil && (err == nil || errors.Is(err, out.err)) {
		err = fmt.Errorf("cannot write the output: %w", out.err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "crm: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitError
	}
	return exitOK
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "crm",
		Usage: "supporters, donations, lists and newsletters for small associations",
		Description: "Every command opens (and if needed creates and migrates) the database given by --db,\n" +
			"so 'crm init' is optional. Flags may come before or after arguments.",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name: "db", Usage: "SQLite database file, or a postgres:// DSN", Value: "crm.db", EnvVars: []string{"CRM_DB"},
			},
			versionFlag(),
		},
		Commands: []*cli.Command{
			initCommand(),
			supportersCommand(),
			interestsCommand(),
			listsCommand(),
			settingsCommand(),
			subscribeCommand(),
			unsubscribeCommand(),
			donationsCommand(),
			receiptsCommand(),
			importCommand(),
			segmentsCommand(),
			campaignCommand(),
			sendCommand(),
			eventsCommand(),
			serveCommand(),
			auditCommand(),
			backupCommand(),
			checkCommand(),
			pruneCommand(),
			versionCommand(),
		},
		Reader:                    stdin,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		// Errors are printed once, by run, and never end the process
		// from inside the library.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		// --version is a flag of crm itself, alone: "crm --version list"
		// would otherwise run the command and ignore the flag.
		Before: func(c *cli.Context) error {
			if c.Bool("version") && c.Args().Present() {
				return usagef("--version takes no command (crm --version, or crm version)")
			}
			return nil
		},
		Action: groupAction,
	}
	setUsageErrors(app.Commands)
	return app
}

// setUsageErrors makes every command report a bad flag or a missing
// required flag as a one-line usage error naming the flag, instead of
// printing its whole help, and every command that groups others report
// an unknown one. Their switches' help shows no "(default: false)".
func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
		if len(c.Subcommands) > 0 && c.Action == nil {
			c.Action = groupAction
		}
		var required []string
		for _, f := range c.Flags {
			if bf, ok := f.(*cli.BoolFlag); ok && !bf.Value {
				// "(default: false)" says nothing a switch does not; a
				// flag's own usage says when it is the default.
				bf.DisableDefaultText = true
			}
			if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() {
				required = append(required, f.Names()[0])
				setNotRequired(f)
			}
		}
		if len(required) > 0 {
			before := c.Before
			c.Before = func(ctx *cli.Context) error {
				for _, name := range required {
					if !ctx.IsSet(name) {
						return usagef("%s: missing required flag --%s", commandName(ctx), name)
					}
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		setUsageErrors(c.Subcommands)
	}
}

func setNotRequired(f cli.Flag) {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.Required = false
	case *cli.StringSliceFlag:
		f.Required = false
	case *cli.IntFlag:
		f.Required = false
	case *cli.BoolFlag:
		f.Required = false
	}
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the database, apply its migrations and generate the link signing secret",
		Action: withDB(0, 0, func(c *cli.Context, db *crm.DB) error {
			// The newsletter tables and the link signing secret are made now
			// too, so the first send or signup finds them.
			if _, err := openNewsletter(c, db); err != nil {
				return err
			}
			applied, _, err := db.SchemaVersion(c.Context)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "database %s ready (schema %s)\n", c.String("db"), applied)
			return nil
		}),
	}
}

// withDB checks the number of positional arguments, opens the database and
// runs fn. The database is closed when fn returns.
func withDB(minArgs, maxArgs int, fn func(c *cli.Context, db *crm.DB) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := checkArgs(c, minArgs, maxArgs); err != nil {
			return err
		}
		db, err := crm.Open(c.Context, c.String("db"))
		if err != nil {
			return err
		}
		defer db.Close()
		c.Context = crm.WithChannel(c.Context, "cli:"+commandName(c))
		warnUnfinishedImports(c, db)
		return explain(c, fn(c, db))
	}
}

// withReadDB is withDB for commands that only read (list, count, show,
// export, audit, check): they open the database read-only, so they work
// on a file the user may not write and write nothing to one they may.
// Only when the file does not exist yet or its schema is older than this
// program (crm.ErrSchemaTooOld, which fn reports before printing
// anything) do they open it writable, to create or migrate it as every
// command does; if that cannot be done (the file is read-only), the
// read-only error, which says what to do, is the one reported.
func withReadDB(minArgs, maxArgs int, fn func(c *cli.Context, db *crm.DB) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := checkArgs(c, minArgs, maxArgs); err != nil {
			return err
		}
		run := func(db *crm.DB) error {
			defer db.Close()
			ctx := c.Context
			defer func() { c.Context = ctx }()
			c.Context = crm.WithChannel(ctx, "cli:"+commandName(c))
			warnUnfinishedImports(c, db)
			return explain(c, fn(c, db))
		}
		db, err := crm.Open(c.Context, c.String("db"), crm.ReadOnly())
		if err == nil {
			err = run(db)
		}
		if !errors.Is(err, crm.ErrSchemaTooOld) && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		wdb, werr := crm.Open(c.Context, c.String("db"))
		if werr != nil {
			return err
		}
		return run(wdb)
	}
}

// checkArgs refuses missing and unexpected positional arguments, so a
// mistyped flag is never silently taken as an argument. maxArgs < 0 means
// no upper bound.
func checkArgs(c *cli.Context, minArgs, maxArgs int) error {
	n := c.NArg()
	usage := strings.TrimSpace(commandName(c) + " " + c.Command.ArgsUsage)
	if n < minArgs {
		return usagef("%s: missing argument (usage: %s)", commandName(c), usage)
	}
	if maxArgs >= 0 && n > maxArgs {
		return usagef("%s: unexpected argument %q (usage: %s)", commandName(c), c.Args().Get(maxArgs), usage)
	}
	return nil
}

// explain names the flag at fault when a validation error is about a field
// the command has a flag for ("--email": ...), and adds the command that
// helps when a segment names an unknown saved segment.
func explain(c *cli.Context, err error) error {
	if me := (*crm.MappingError)(nil); errors.As(err, &me) {
		if me.Missing {
			return fmt.Errorf("%w (name one with --map \"HEADER=%s\")", err, me.Field)
		}
		hint := "map one of them to another field or to ignore with --map \"HEADER=ignore\""
		if c.IsSet("map") {
			hint += " (check the --map values)"
		}
		return fmt.Errorf("%w: %s", err, hint)
	}
	if se := (*crm.SegmentError)(nil); errors.As(err, &se) && se.Missing != "" {
		return fmt.Errorf("%w (see crm segments list)", err)
	}
	var ve *crm.ValidationError
	if err == nil || !errors.As(err, &ve) {
		return err
	}
	flag := strings.ReplaceAll(ve.Field, "_", "-")
	for _, f := range c.Command.Flags {
		if slices.Contains(f.Names(), flag) {
			flag = f.Names()[0]
			if ve.Value == "" {
				return fmt.Errorf("--%s: %s", flag, ve.Reason)
			}
			return fmt.Errorf("--%s %q: %s", flag, ve.Value, ve.Reason)
		}
	}
	return err
}

// supporterID finds a supporter by the address given on the command line;
// the error repeats the address, which the user typed.
func supporterID(c *cli.Context, db *crm.DB, email string) (int64, error) {
	id, err := db.SupporterID(c.Context, email)
	if errors.Is(err, crm.ErrNotFound) {
		return 0, quietf(crm.ErrNotFound, "no supporter with email %q", email)
	}
	return id, err
}

// commandName is the command's name without the program's, as in
// "supporters add".
func commandName(c *cli.Context) string {
	return strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
}
