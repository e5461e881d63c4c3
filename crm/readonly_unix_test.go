//go:build unix

package crm_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// childDBEnv, when set, makes TestReadOnlyFolderUnprivileged the child
// process that reads the database it names.
const childDBEnv = "CRM_TEST_READONLY_CHILD_DB"

// TestReadOnlyFolderUnprivileged reads, as a user who may write neither
// the file nor its folder, a WAL database closed cleanly (no -wal or -shm
// beside it, and none can be created): the case modes cannot show to
// root. Run as root, it runs its own binary again as nobody.
func TestReadOnlyFolderUnprivileged(t *testing.T) {
	if path := os.Getenv(childDBEnv); path != "" {
		readAsChild(t, path)
		return
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "crm-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700); os.RemoveAll(dir) })
	path := filepath.Join(dir, "asso 2026.db")
	db, err := crm.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustSupporter(t, db, &crm.Supporter{Email: "ann@example.org"})
	mustSupporter(t, db, &crm.Supporter{Email: "bob@example.org"})
	if err := db.Forget(ctx, "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("a -wal file stayed after Close")
	}
	if os.Getuid() != 0 {
		os.Chmod(path, 0o400)
		os.Chmod(dir, 0o500)
		readAsChild(t, path)
		return
	}
	// Root ignores modes: run this test again as nobody, from a copy of
	// the test binary nobody may execute, on a folder only root writes.
	os.Chmod(path, 0o644)
	os.Chmod(dir, 0o755)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "crm.test")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestReadOnlyFolderUnprivileged$", "-test.v")
	cmd.Env = append(os.Environ(), childDBEnv+"="+path)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(err.Error(), "operation not permitted") {
		t.Skipf("cannot run as nobody here: %v", err)
	}
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the folder holds %d files after the read, want the database and the binary", len(entries))
	}
}

func readAsChild(t *testing.T, path string) {
	ctx := context.Background()
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		f.Close()
		t.Fatal("the child may write the database: the test proves nothing")
	}
	db, err := crm.Open(ctx, path, crm.ReadOnly())
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	defer db.Close()
	if n, err := db.CountSupporters(ctx, crm.SupporterFilter{}); err != nil || n != 1 {
		t.Errorf("count = %d, %v; want 1", n, err)
	}
	if _, err := db.ExportSupporter(ctx, "ann@example.org"); err != nil {
		t.Errorf("export: %v", err)
	}
	if erased, err := db.IsErased(ctx, "bob@example.org"); err != nil || !erased {
		t.Errorf("IsErased(bob) = %v, %v", erased, err)
	}
	if r, err := db.Check(ctx); err != nil || r.Integrity != "ok" {
		t.Errorf("check: %+v, %v", r, err)
	}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
