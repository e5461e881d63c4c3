//go:build unix

package newsletter

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// processGone reports whether no process has the PID, or only a zombie
// (killed, not yet reaped by its parent).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false // no /proc (macOS, BSD): kill said it exists
	}
	f := statFields(b)
	return len(f) > 0 && string(f[0]) == "Z"
}

// processStart returns when the process started, in clock ticks since
// boot, from /proc/PID/stat; ok is false where there is no /proc.
func processStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// Fields after the command name (which may hold spaces and parens):
	// state is the 3rd field of the line, starttime the 22nd.
	f := statFields(b)
	if len(f) < 20 {
		return "", false
	}
	return string(f[19]), true
}

func statFields(b []byte) [][]byte {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return bytes.Fields(b[i+1:])
}
