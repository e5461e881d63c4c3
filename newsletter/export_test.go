package newsletter

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// SetSleep replaces how the engine waits (backoff, retry-after), so tests
// with many injected faults run fast.
func SetSleep(n *Newsletter, sleep func(context.Context, time.Duration) error) { n.sleep = sleep }

// SetPrepareHook makes fn run while a batch is prepared: at "snapshot",
// after its recipients were read and before anything is stored, and at
// "stored", after its payload was stored and before it is marked in
// flight. Tests use it to erase someone at those instants.
func SetPrepareHook(n *Newsletter, fn func(stage string, batch int)) { n.prepareHook = fn }

// SignerOf returns the signer of n's links, so tests can forge tokens.
func SignerOf(n *Newsletter) *Signer { return n.signer }

// SetLogger replaces n's logger after New.
func SetLogger(n *Newsletter, l *slog.Logger) { n.logger = l }

// FromProxy returns r as a handler trusting the proxies in trusted sees
// it.
func FromProxy(t testing.TB, trusted []string, r *http.Request) *http.Request {
	h := &handler{}
	if err := WithTrustedProxies(trusted...)(h); err != nil {
		t.Fatal(err)
	}
	return h.fromProxy(r)
}
