package main

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// This file turns every mistake in the command line into a usageError
// (exit 2) that says what was expected. urfave/cli answers an unknown
// command with "No help topic for 'lst'" and exit 1 (or 3), and a bad
// flag in Go's flag package words ("flag provided but not defined:
// -formt"); the README promises exit 2 and a message a user can act on.

// groupAction is the action of the app and of every command that only
// groups others (supporters, import, lists...). urfave/cli runs it when
// no known command follows: with nothing after it, it prints its help,
// as before; anything else is an unknown command.
func groupAction(c *cli.Context) error {
	if isRoot(c) && c.Bool("version") {
		return printVersion(c)
	}
	if !c.Args().Present() {
		if isRoot(c) {
			return cli.ShowAppHelp(c)
		}
		return cli.ShowSubcommandHelp(c)
	}
	name := c.Args().First()
	// "crm help" and "crm help COMMAND" as in the subcommands, where
	// urfave/cli provides them.
	if isRoot(c) && name == "help" {
		switch topic := c.Args().Get(1); {
		case topic == "":
			return cli.ShowAppHelp(c)
		case findCommand(c.App.Commands, topic) != nil:
			return cli.ShowCommandHelp(c, topic)
		default:
			name = topic
		}
	}
	return unknownCommand(c, name)
}

// unknownCommand is the usage error for name given where one of the
// commands of c was expected: it suggests the nearest command when one
// is close and lists them all.
func unknownCommand(c *cli.Context, name string) error {
	var names []string
	candidates := map[string]string{}
	for _, cmd := range c.Command.Subcommands {
		if cmd.Hidden || cmd.Name == "help" {
			continue
		}
		names = append(names, cmd.Name)
		for _, n := range cmd.Names() {
			candidates[n] = cmd.Name
		}
	}
	where := commandName(c) + ": "
	if isRoot(c) {
		where = ""
	}
	msg := fmt.Sprintf("%sunknown command %q", where, name)
	if n := nearest(name, candidates); n != "" {
		msg += fmt.Sprintf("; did you mean %q?", n)
	}
	return usagef("%s\ncommands: %s (see %s --help)", msg, strings.Join(names, ", "), c.Command.HelpName)
}

// goFlagError matches the errors of Go's flag package that urfave/cli
// passes on: the flag is named with one dash whatever its length.
var goFlagError = regexp.MustCompile(`^(flag provided but not defined|flag needs an argument): -+(\S+)$|^invalid (?:boolean )?value "(.*)" for flag -+(\S+): (.*)$`)

// onUsageError reports a bad flag as a one-line usage error naming the
// command and the flag, with the nearest flag when one is close, instead
// of printing the command's whole help.
func onUsageError(c *cli.Context, err error, _ bool) error {
	where := commandName(c) + ": "
	if isRoot(c) {
		where = ""
	}
	m := goFlagError.FindStringSubmatch(err.Error())
	switch {
	case m == nil:
		return usagef("%s%v", where, err)
	case m[1] == "flag needs an argument":
		return usagef("%sflag %s needs a value (see %s --help)", where, dashes(m[2]), c.Command.HelpName)
	case m[1] != "":
		msg := fmt.Sprintf("%sunknown flag %s", where, dashes(m[2]))
		candidates := map[string]string{}
		for _, f := range append(c.Command.Flags, c.App.Flags...) {
			for _, n := range f.Names() {
				candidates[n] = f.Names()[0]
			}
		}
		if n := nearest(m[2], candidates); n != "" {
			msg += fmt.Sprintf("; did you mean %s?", dashes(n))
		}
		return usagef("%s (see %s --help)", msg, c.Command.HelpName)
	default:
		return usagef("%s%s %q: invalid value (%s)", where, dashes(m[4]), m[3], m[5])
	}
}

// dashes writes a flag's name as the help does: -y, --yes.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func isRoot(c *cli.Context) bool { return c.Command.HelpName == c.App.HelpName }

// nearest returns the name to suggest for typed among candidates (each
// name or alias mapped to the name to suggest), if one is close enough
// to be what the user meant: the only one typed starts (a prefix of at
// least two letters), or one a typo or two away (at most one edit per
// three letters, so "lst" finds "list" but "adherents.csv" finds
// nothing; one-letter names are never guessed at). It returns "" otherwise.
func nearest(typed string, candidates map[string]string) string {
	typed = strings.ToLower(typed)
	prefixed := map[string]bool{}
	best, bestDist := "", 0
	for _, c := range slices.Sorted(maps.Keys(candidates)) {
		if len(typed) >= 2 && strings.HasPrefix(c, typed) {
			prefixed[candidates[c]] = true
		}
		if d := editDistance(typed, c); best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if len(prefixed) == 1 {
		for p := range prefixed {
			return p
		}
	}
	if len(typed) >= 2 && len(best) >= 2 && bestDist <= max(1, len([]rune(best))/3) {
		return candidates[best]
	}
	return ""
}

// editDistance is the number of single-letter insertions, deletions,
// substitutions and swaps of neighbours that turn a into b (the optimal
// string alignment distance).
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range t {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// An integer flag whose default is 0 means "not given" (--year,
// --retention): its help shows no "(default: 0)", which reads as a
// year 0.
func init() {
	stringify := cli.FlagStringer
	cli.FlagStringer = func(f cli.Flag) string {
		s := stringify(f)
		if i, ok := f.(*cli.IntFlag); ok && i.Value == 0 && i.DefaultText == "" {
			s = strings.Replace(s, " (default: 0)", "", 1)
		}
		return s
	}
}
