package newsletter_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// BenchmarkSend sends a 10,000-recipient campaign to the fake Resend with
// no rate limit; the 100,000-recipient figures come from cmd/crmbench.
func BenchmarkSend(b *testing.B) {
	const recipients = 10000
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		e := newEnv(b, resendtest.Options{CountOnly: true})
		e.addAudience(b, recipients, crm.List{Name: "lettre"})
		n := e.newsletter(b)
		e.campaign(b, n, "mars", "lettre", "")
		s := e.sender(b)
		b.StartTimer()
		rep, err := n.Send(context.Background(), "mars", s, newsletter.SendOptions{})
		if err != nil || rep.Sent != recipients {
			b.Fatalf("%+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(recipients*b.N)/b.Elapsed().Seconds(), "emails/s")
}

// nullSender accepts everything at once, to measure the engine alone.
type nullSender struct{}

func (nullSender) SendBatch(_ context.Context, _ string, msgs []newsletter.Message) ([]newsletter.Result, error) {
	out := make([]newsletter.Result, len(msgs))
	for i := range out {
		out[i].ID = "id"
	}
	return out, nil
}

// BenchmarkSendEngine is BenchmarkSend without HTTP: the database, the
// rendering and the bookkeeping alone.
func BenchmarkSendEngine(b *testing.B) {
	recipients := 10000
	if os.Getenv("CRM_BENCH_RECIPIENTS") != "" {
		recipients, _ = strconv.Atoi(os.Getenv("CRM_BENCH_RECIPIENTS"))
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		e.addAudience(b, recipients, crm.List{Name: "lettre"})
		n := e.newsletter(b)
		e.campaign(b, n, "mars", "lettre", "")
		b.StartTimer()
		rep, err := n.Send(context.Background(), "mars", nullSender{}, newsletter.SendOptions{})
		if err != nil || rep.Sent != recipients {
			b.Fatalf("%+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(recipients*b.N)/b.Elapsed().Seconds(), "emails/s")
}
