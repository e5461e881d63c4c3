package newsletter

import (
	"os"
	"strings"
	"testing"
)

// Two machines with the same host name, both in their first PID
// namespace (the same number on every Linux machine), sharing a database
// file: each must take the other's lease as unverifiable, never judge it
// by a PID of its own machine. They differ by their boot ID, which is in
// the host; messages name the host name only.
func TestHolderOfAnotherMachineWithTheSameName(t *testing.T) {
	me := thisProcess()
	if !strings.Contains(me.Host, " boot:") {
		t.Skip("no boot ID on this system (/proc/sys/kernel/random/boot_id)")
	}
	hostname, _ := os.Hostname()
	ns, _ := os.Readlink("/proc/self/ns/pid")
	// The other machine's sender has a PID that is, here, a live process
	// (our parent) or no process at all.
	for _, pid := range []int{os.Getppid(), 1 << 22} {
		start, _ := processStart(pid)
		other := newHolder(hostname, ns, "00000000-0000-4000-8000-000000000000", pid, start)
		if other.Host == me.Host {
			t.Fatalf("another machine's host %q is this one's", other.Host)
		}
		if other.dead("o") || other.alive("o") {
			t.Errorf("PID %d of another machine judged by this machine's processes (dead %v, alive %v)",
				pid, other.dead("o"), other.alive("o"))
		}
	}
	// This machine's own processes are still judged.
	if h := newHolder(hostname, ns, readID("/proc/sys/kernel/random/boot_id", false), 1<<22, "1"); !h.dead("o") {
		t.Errorf("a gone process of this machine is not dead")
	}
	if msg := me.String(); strings.Contains(msg, "boot") || strings.Contains(msg, "pid:") || !strings.HasSuffix(msg, " "+hostname) {
		t.Errorf("message %q shows more than the host name", msg)
	}
}
