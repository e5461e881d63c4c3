package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A dry run holds the SQLite write lock for its whole length (see
// crm/import_journal.go): its help says that web writes wait meanwhile,
// since it cannot be paced as an import is.
func TestDryRunHelpSaysWebWritesWait(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"crm", "import", "supporters", "--help"}, strings.NewReader(""), &out, &errOut)
	help := strings.Join(strings.Fields(out.String()+errOut.String()), " ")
	if code != 0 || !strings.Contains(help, "holds the SQLite write lock for its whole length") ||
		!strings.Contains(help, "web signups, unsubscribes and webhooks wait") {
		t.Errorf("crm import supporters --help: exit %d, want the --dry-run help to say web writes wait; got:\n%s", code, help)
	}
}
