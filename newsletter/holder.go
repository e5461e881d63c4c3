package newsletter

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// holder names the process that holds a campaign's send lease: the host
// it runs on, its PID, and when that PID started (read from /proc where
// there is one, else empty), so that a PID the system gave to another
// program since is not taken for the sender.
//
// Why not only the lease's expiry: after kill -9 or a crash, the user
// runs `crm send NAME` again at once, and a lease of two minutes made
// them wait (or think the campaign was stuck). A dead holder on the same
// machine, in the same boot, is certain to be dead; a holder on another
// machine (a database file on a shared drive), or before a reboot, cannot
// be checked, and its lease still has to expire (see newHolder).
type holder struct {
	Host  string
	PID   int
	Start string
}

// thisProcess is the holder this process writes in the leases it takes.
var thisProcess = sync.OnceValue(func() holder {
	host, _ := os.Hostname()
	pid := os.Getpid()
	start, _ := processStart(pid)
	return newHolder(host, readID("/proc/self/ns/pid", true), readID("/proc/sys/kernel/random/boot_id", false), pid, start)
})

// newHolder builds the holder a process writes in a lease.
//
// Host must name one running kernel's processes and no other, since
// PIDs are compared only under the same Host. A host name alone is not
// enough (two machines, or containers, may share one and a database file
// on a shared drive), nor is the PID namespace (every Linux machine's
// first one has the same number, pid:[4026531836]): Host is the host
// name, the PID namespace and the boot ID, random at each boot of each
// machine. The boot ID also makes the start time exact across reboots: a
// PID and start time of an earlier boot are never taken for a process
// of this one.
//
// A holder from before a reboot (a power cut) is then on "another host":
// its lease expires instead of being taken over at once, which a reboot
// mostly outlasts. Telling a reboot of this machine from another machine
// with the same names (a cloned VM, containers of one image) is not
// possible for certain, and taking a live sender for dead would send
// twice.
//
// The namespace and the boot ID are kept out of messages (String).
func newHolder(hostname, pidNS, bootID string, pid int, start string) holder {
	host := hostname
	if pidNS != "" {
		host += " " + pidNS
	}
	if bootID != "" {
		host += " boot:" + bootID
	}
	return holder{Host: host, PID: pid, Start: start}
}

// readID reads an identifier from a file (or, with link, a symbolic
// link's target), "" where there is none.
func readID(path string, link bool) string {
	if link {
		s, _ := os.Readlink(path)
		return s
	}
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// running counts the sends under way in this process, by owner. A lease
// held by this very process is alive while its Send runs: a Send that
// panicked (and was recovered by its caller, or by a test standing in
// for a crash) left its lease, and the next one may take it over at
// once. It is the one piece of package-level state: it describes the
// process, whichever Newsletter values it holds.
var running = struct {
	sync.Mutex
	owners map[string]int
}{owners: map[string]int{}}

func startRunning(owner string) {
	running.Lock()
	running.owners[owner]++
	running.Unlock()
}

func stopRunning(owner string) {
	running.Lock()
	if running.owners[owner]--; running.owners[owner] <= 0 {
		delete(running.owners, owner)
	}
	running.Unlock()
}

// dead reports whether the holder of a lease owned by owner is known to
// have stopped: it ran on this host and its process is gone (or its PID
// now belongs to a process started at another time), or it is this very
// process and owner's Send is no longer running. Anything else, such as
// another host, is taken as alive.
func (h holder) dead(owner string) bool {
	me := thisProcess()
	if h.Host == "" || h.Host != me.Host || h.PID <= 0 {
		return false
	}
	if h.PID == me.PID && h.Start == me.Start {
		running.Lock()
		defer running.Unlock()
		return running.owners[owner] == 0
	}
	if processGone(h.PID) {
		return true
	}
	start, ok := processStart(h.PID)
	return ok && h.Start != "" && start != h.Start
}

// alive reports whether the holder of a lease owned by owner is known to
// be running: it runs on this host and its process is there with the
// start time the lease recorded (or it is this very process and owner's
// Send is running). A live holder on this host keeps its lease even
// after the lease's expiry: it may be waiting out retries or a rate
// limit, or the machine was asleep, and taking its campaign over would
// make two senders. Where the start time cannot be read (no /proc), a
// PID could belong to another program since: alive is false, and the
// lease's expiry decides.
func (h holder) alive(owner string) bool {
	me := thisProcess()
	if h.Host == "" || h.Host != me.Host || h.PID <= 0 || h.Start == "" {
		return false
	}
	if h.PID == me.PID && h.Start == me.Start {
		running.Lock()
		defer running.Unlock()
		return running.owners[owner] > 0
	}
	if processGone(h.PID) {
		return false
	}
	start, ok := processStart(h.PID)
	return ok && start == h.Start
}

// String names the holder for messages, such as "process 4242 on host
// asso-laptop".
func (h holder) String() string {
	if h.PID == 0 {
		return "a sender"
	}
	name, _, _ := strings.Cut(h.Host, " ") // the host name only
	return "process " + strconv.Itoa(h.PID) + " on host " + name
}
