package main

import (
	"cmp"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v2"
)

// buildVersion describes this build from what the Go toolchain records in
// every binary, so that no release step has to remember to set it: the
// module version ("v1.2.0" after go install ...@v1.2.0, a pseudo-version
// or "(devel)" for a build from a source tree), then, for a build made in
// a git checkout, the commit, its date and whether the tree had
// uncommitted changes: "(devel) rev 3eba0e1 2026-12-02 (modified)".
// Builds with -buildvcs=false (or from a git worktree, which the go
// command does not stamp) have no commit to show.
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "(unknown)"
	}
	v := cmp.Or(bi.Main.Version, "(devel)")
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(len(s.Value), 7)]
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				when = t.UTC().Format(time.DateOnly)
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" {
		v += " rev " + rev
	}
	if when != "" {
		v += " " + when
	}
	if modified {
		v += " (modified)"
	}
	return v
}

// versionFlag and versionCommand print "crm VERSION". urfave/cli's own
// --version flag is not used: it adds a -v alias a command flag may want
// one day and prints "crm version ...".
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version (module version and git commit of the build)",
		Action: func(c *cli.Context) error {
			if err := checkArgs(c, 0, 0); err != nil {
				return err
			}
			return printVersion(c)
		},
	}
}

func printVersion(c *cli.Context) error {
	_, err := fmt.Fprintf(c.App.Writer, "%s %s\n", c.App.Name, buildVersion(debug.ReadBuildInfo()))
	return err
}
