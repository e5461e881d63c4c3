package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openTerminal opens a pseudo-terminal and returns its terminal side, a
// real one for term.IsTerminal; it skips the test where there is none.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Skipf("no pseudo-terminal: unlock: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Skipf("no pseudo-terminal: number: %v", errno)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

// A workbook is refused on a terminal, with what to do instead; other
// formats still print there, and the workbook goes to --out.
func TestXLSXRefusedOnTerminal(t *testing.T) {
	db := formatsDB(t)
	tty := openTerminal(t)
	path := filepath.Join(t.TempDir(), "dons.xlsx")
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"supporters", "list", "--format", "xlsx"}, exitUsage, "--format xlsx: a workbook is not for a terminal: add --out FILE.xlsx (or redirect: > FILE.xlsx)"},
		{[]string{"donations", "report", "--format", "xlsx"}, exitUsage, "add --out FILE.xlsx"},
		{[]string{"donations", "report", "--format", "csv"}, exitOK, ""},
		{[]string{"donations", "report", "--format", "xlsx", "--out", path}, exitOK, "written to " + path},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		code := run(context.Background(), append([]string{"crm", "--db", db}, tt.args...), strings.NewReader(""), tty, &errOut)
		if code != tt.code || !strings.Contains(errOut.String(), tt.msg) {
			t.Errorf("crm %s on a terminal: exit %d, stderr %q; want exit %d and %q",
				strings.Join(tt.args, " "), code, errOut.String(), tt.code, tt.msg)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("--out on a terminal: %v", err)
	}
}
