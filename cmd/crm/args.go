package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves every flag in front of the positional arguments of the
// command it belongs to, and the global flags in front of the command
// name, so that "crm send NAME --dry-run" and "crm supporters list --db x"
// mean what they say. urfave/cli v2 stops reading flags at the first
// positional argument, and would otherwise take "--dry-run" as an
// argument. Everything after "--" stays positional.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	var (
		global, local, path, positional []string
		cmds                            = app.Commands
		cmdFlags                        []cli.Flag
		rest                            []string
		// an unknown flag before any positional argument, the first
		// mistake of the line
		unknownFlagFirst bool
	)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = args[i+1:]
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			f, isGlobal := findFlag(cmdFlags, name), false
			if f == nil {
				f, isGlobal = findFlag(app.Flags, name), true
			}
			if f == nil && len(positional) == 0 {
				unknownFlagFirst = true
			}
			group := []string{a}
			if f != nil && takesValue(f) && !hasValue && i+1 < len(args) {
				i++
				group = append(group, args[i])
			}
			if isGlobal && f != nil {
				global = append(global, group...)
			} else {
				local = append(local, group...)
			}
			continue
		}
		if len(positional) == 0 {
			if c := findCommand(cmds, a); c != nil {
				path = append(path, a)
				cmds, cmdFlags = c.Subcommands, append(slices.Clone(cmdFlags), c.Flags...)
				continue
			}
		}
		positional = append(positional, a)
	}
	out := append([]string{args[0]}, global...)
	out = append(out, path...)
	if len(cmds) > 0 && len(positional) > 0 && !unknownFlagFirst {
		// The last command found groups others, and positional[0] is none
		// of them: it goes first, so that it is reported as an unknown
		// command rather than the flags meant for the command the user
		// had in mind as unknown flags. An unknown flag before it is
		// reported instead: positional[0] may be its value.
		out = append(out, positional[0])
		positional = positional[1:]
	}
	out = append(out, local...)
	if rest != nil || slices.ContainsFunc(positional, func(p string) bool { return strings.HasPrefix(p, "-") }) {
		out = append(out, "--")
	}
	out = append(out, positional...)
	return append(out, rest...)
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return true
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// stringFlags points each field of fields at its flag's value when the
// flag was given, and leaves the others nil: an edit changes only what the
// command line names.
func stringFlags(c *cli.Context, fields map[string]**string) {
	for flag, dst := range fields {
		if c.IsSet(flag) {
			v := c.String(flag)
			*dst = &v
		}
	}
}
