package newsletter

import (
	"os"
	"strconv"
	"sync"
)

// holder names the process that holds a campaign's send lease: the host
// it runs on, its PID, and when that PID started (read from /proc where
// there is one, else empty), so that a PID the system gave to another
// program since is not taken for the sender.
//
// Why not only the lease's expiry: after kill -9 or a power cut, the
// user runs `crm send NAME` again at once, and a lease of two minutes
// made them wait (or think the campaign was stuck). A dead holder on
// the same machine is certain to be dead; a holder on another machine
// (a database file on a shared drive) cannot be checked, and its lease
// still has to expire.
type holder struct {
	Host  string
	PID   int
	Start string
}

// thisProcess is the holder this process writes in the leases it takes.
var thisProcess = sync.OnceValue(func() holder {
	host, _ := os.Hostname()
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		// Containers with the same host name and a shared database file
		// do not see each other's PIDs: the PID namespace is part of
		// the host.
		host += " " + ns
	}
	pid := os.Getpid()
	start, _ := processStart(pid)
	return holder{Host: host, PID: pid, Start: start}
})

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
	return "process " + strconv.Itoa(h.PID) + " on host " + h.Host
}
