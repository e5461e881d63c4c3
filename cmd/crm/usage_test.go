package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// A wrong command line exits 2, prints nothing on stdout, says on stderr
// what was wrong and what is expected (the nearest command or flag when
// one is close, the list of commands), and opens no database. Before,
// "crm supporters lst" and "crm import adherents.csv" answered "No help
// topic for 'lst'" with exit 1.
func TestWrongCommandLine(t *testing.T) {
	supporterCommands := "commands: add, edit, tag, untag, list, count, export, forget, show (see crm supporters --help)"
	tests := []struct {
		args    []string
		want    []string // in stderr
		notWant string
	}{
		{[]string{"supporters", "lst"}, []string{
			"crm: supporters: unknown command \"lst\"; did you mean \"list\"?\n" + supporterCommands + "\n"}, ""},
		{[]string{"supporters", "lst", "--format", "json"}, []string{`supporters: unknown command "lst"; did you mean "list"?`}, "flag"},
		{[]string{"import", "adherents.csv"}, []string{
			"crm: import: unknown command \"adherents.csv\"\ncommands: supporters, recover, donations (see crm import --help)\n"}, "did you mean"},
		{[]string{"nosuchcommand"}, []string{`crm: unknown command "nosuchcommand"`, "commands: init, supporters,", "(see crm --help)"}, "did you mean"},
		{[]string{"suporters", "list"}, []string{`unknown command "suporters"; did you mean "supporters"?`}, ""},
		{[]string{"segmnt", "list"}, []string{`unknown command "segmnt"; did you mean "segments"?`}, ""},
		{[]string{"sup"}, []string{`unknown command "sup"; did you mean "supporters"?`}, ""},
		{[]string{"help", "nosuch"}, []string{`unknown command "nosuch"`}, ""},
		{[]string{"supporters", "list", "--formt", "json"}, []string{
			"crm: supporters list: unknown flag --formt; did you mean --format? (see crm supporters list --help)"}, ""},
		{[]string{"supporters", "list", "-v"}, []string{"supporters list: unknown flag -v (see"}, "did you mean"},
		{[]string{"--dbb", "x", "supporters", "count"}, []string{"unknown flag --dbb; did you mean --db?"}, ""},
		{[]string{"supporters", "list", "--limit", "x"}, []string{`supporters list: --limit "x": invalid value`}, ""},
		{[]string{"supporters", "list", "--format"}, []string{"supporters list: flag --format needs a value"}, ""},
		{[]string{"--version", "supporters", "list"}, []string{"--version takes no command"}, ""},
		{[]string{"version", "x"}, []string{`version: unexpected argument "x" (usage: version)`}, ""},
	}
	for _, tt := range tests {
		db := filepath.Join(t.TempDir(), "crm.db")
		code, out, errOut := crmRun(t, db, tt.args...)
		name := "crm " + strings.Join(tt.args, " ")
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d (stderr %q)", name, code, exitUsage, errOut)
		}
		if out != "" {
			t.Errorf("%s printed on stdout: %q", name, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q, want %q", name, errOut, w)
			}
		}
		if tt.notWant != "" && strings.Contains(errOut, tt.notWant) {
			t.Errorf("%s: stderr %q has %q", name, errOut, tt.notWant)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("%s created the database", name)
		}
	}
}

// Asking for help is not a mistake: it prints the help on stdout and
// exits 0, as before.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{}, {"--help"}, {"help"}, {"supporters"}, {"help", "supporters"},
		{"supporters", "--help"}, {"supporters", "help", "list"}, {"import"}} {
		code, out, errOut := crmRun(t, filepath.Join(t.TempDir(), "crm.db"), args...)
		if code != exitOK || !strings.Contains(out, "USAGE:") || errOut != "" {
			t.Errorf("crm %s: exit %d, stdout %.60q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
}

// "crm --version" and "crm version" print the same line, built from the
// binary's build information. Before, --version was an unknown flag.
func TestVersion(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	code, flagOut, errOut := crmRun(t, db, "--version")
	if code != exitOK || errOut != "" || !strings.HasPrefix(flagOut, "crm ") || !strings.HasSuffix(flagOut, "\n") {
		t.Fatalf("crm --version: exit %d, stdout %q, stderr %q", code, flagOut, errOut)
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && !strings.Contains(flagOut, bi.Main.Version) {
		t.Errorf("crm --version = %q, want the module version %q", flagOut, bi.Main.Version)
	}
	if out := mustRun(t, db, "version"); out != flagOut {
		t.Errorf("crm version = %q, crm --version = %q", out, flagOut)
	}
}

func TestBuildVersion(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"(devel)", vcs("vcs", "git", "vcs.revision", "3eba0e1f00dc0ffee", "vcs.time", "2026-12-02T23:30:00+01:00",
			"vcs.modified", "true"), "(devel) rev 3eba0e1 2026-12-02 (modified)"},
		{"v1.2.0", vcs("vcs.revision", "abcdef0123", "vcs.time", "2026-11-30T08:00:00Z", "vcs.modified", "false"),
			"v1.2.0 rev abcdef0 2026-11-30"},
		{"v1.2.0", nil, "v1.2.0"},
		{"", vcs("-buildvcs", "false"), "(devel)"},
	}
	for _, tt := range tests {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/assocrm/assocrm", Version: tt.version}, Settings: tt.settings}
		if got := buildVersion(bi, true); got != tt.want {
			t.Errorf("buildVersion(%q, %v) = %q, want %q", tt.version, tt.settings, got, tt.want)
		}
	}
	if got := buildVersion(nil, false); got != "(unknown)" {
		t.Errorf("without build info: %q", got)
	}
}

func TestNearest(t *testing.T) {
	names := map[string]string{"list": "list", "count": "count", "show": "show", "segments": "segments",
		"segment": "segments", "supporters": "supporters", "supporter": "supporters", "db": "db", "h": "help"}
	for typed, want := range map[string]string{
		"lst": "list", "lsit": "list", "LIST": "list", "cuont": "count", "segmnet": "segments", "sup": "supporters",
		"dbb": "db", "adherents.csv": "", "x": "", "v": "", "s": "", "se": "segments", "su": "supporters", "shw": "show",
	} {
		if got := nearest(typed, names); got != want {
			t.Errorf("nearest(%q) = %q, want %q", typed, got, want)
		}
	}
}

// The help says a switch's default only where it means something, and
// lists edit promises no default of a creation; the settings' keys line
// up, the longest set apart from its text like the others.
func TestHelpWording(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	create := mustRun(t, db, "lists", "create", "--help")
	edit := mustRun(t, db, "lists", "edit", "--help")
	for _, help := range []string{create, edit, mustRun(t, db, "send", "--help"), mustRun(t, db, "subscribe", "--help")} {
		if strings.Contains(help, "(default: false)") {
			t.Errorf("help shows (default: false):\n%s", help)
		}
	}
	if !strings.Contains(create, "(default: the name)") || !strings.Contains(create, "at once (default)") {
		t.Errorf("lists create --help lost its defaults:\n%s", create)
	}
	if strings.Contains(edit, "(default") {
		t.Errorf("lists edit --help speaks of defaults:\n%s", edit)
	}
	settings := mustRun(t, db, "settings", "--help")
	var cols []int
	for _, line := range strings.Split(settings, "\n") {
		for _, key := range []string{"name ", "signup-redirect "} {
			if rest, ok := strings.CutPrefix(strings.TrimLeft(line, " "), key); ok {
				cols = append(cols, len(line)-len(strings.TrimLeft(rest, " ")))
			}
		}
	}
	longest := ""
	for _, k := range crm.SettingKeys() {
		if len(k.Name) > len(longest) {
			longest = k.Name
		}
	}
	if len(cols) != 2 || cols[0] != cols[1] || !regexp.MustCompile(`\n +`+regexp.QuoteMeta(longest)+`  \S`).MatchString(settings) {
		t.Errorf("the settings' descriptions start at columns %v, the longest key not set apart:\n%s", cols, settings)
	}
}
