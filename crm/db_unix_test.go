//go:build unix

package crm_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// TestFilesArePrivate checks that the database file, its -wal and -shm
// files and a backup are created with mode 0600 even under a umask that
// lets everyone read (0): they hold personal data.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crm.db")
	db, err := crm.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSupporter(ctx, &crm.Supporter{Email: "ann@example.org"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	// The -wal and -shm files exist while the database is open.
	for _, p := range []string{path, path + "-wal", path + "-shm", backup} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(p), m)
		}
	}
	// A file that already exists keeps the mode its owner gave it.
	shared := filepath.Join(dir, "shared.db")
	if err := os.WriteFile(shared, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	sdb, err := crm.Open(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o640 {
		t.Errorf("existing file: mode %v, want -rw-r-----", fi.Mode().Perm())
	}
}
