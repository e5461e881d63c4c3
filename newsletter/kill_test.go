package newsletter_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// Environment of a child sender (see TestMain): the database, the fake
// Resend's address, the campaign.
const (
	childDB       = "CRM_TEST_CHILD_DB"
	childResend   = "CRM_TEST_CHILD_RESEND"
	childCampaign = "CRM_TEST_CHILD_CAMPAIGN"
)

// TestMain makes the test binary a sender process when a test starts it
// with childDB set, as `crm send NAME` would be: a real process, so a
// test can kill it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv(childDB) != "" {
		os.Exit(sendChild())
	}
	os.Exit(m.Run())
}

// sendChild sends the campaign, printing "progress DONE TOTAL" after each
// batch, and returns the exit code.
func sendChild() int {
	ctx := context.Background()
	db, err := crm.Open(ctx, os.Getenv(childDB))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer db.Close()
	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("https://asso.example.org/nl"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "newsletter:", err)
		return 1
	}
	s, err := newsletter.NewResendSender(resendtest.APIKey, newsletter.WithBaseURL(os.Getenv(childResend)),
		newsletter.WithRateLimit(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sender:", err)
		return 1
	}
	rep, err := n.Send(ctx, os.Getenv(childCampaign), s, newsletter.SendOptions{Progress: func(done, total int) {
		fmt.Printf("progress %d %d\n", done, total)
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		return 1
	}
	fmt.Printf("sent %d unfinished %d\n", rep.Sent, rep.Unfinished)
	return 0
}

// child is a sender process started by a test.
type child struct {
	cmd    *exec.Cmd
	lines  chan string // its standard output, closed when it ends
	stderr bytes.Buffer
}

func startChild(t *testing.T, e *env, campaign string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0]), lines: make(chan string, 100)}
	c.cmd.Env = append(os.Environ(), childDB+"="+e.path, childResend+"="+e.srv.BaseURL(), childCampaign+"="+campaign)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c
}

// kill sends SIGKILL and reaps the process, so its PID is gone.
func (c *child) kill() {
	c.cmd.Process.Kill()
	for range c.lines {
	}
	c.cmd.Wait()
}

// After kill -9 of a sender, a new one resumes at once, ten times, each
// killed at a random instant once it has sent something: every resume
// makes progress (no wait for a lease or a claim to expire), and in the
// end everyone got exactly one message. While a sender is alive, another
// is refused on SQLite.
func TestKillAndResume(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kills with SIGKILL and checks PIDs: Unix only")
	}
	ctx := context.Background()
	// At least 3 ms a batch: ten senders, each killed within 30 ms of its
	// first batch, send at most 110 of the 150 batches.
	e := newEnv(t, resendtest.Options{CountOnly: true, Latency: 3 * time.Millisecond})
	const recipients = 15000
	e.addAudience(t, recipients, crm.List{Name: "lettre"})
	e.campaign(t, e.newsletter(t), "mars", "lettre", "")
	pg := crm.IsPostgresDSN(e.path)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	done := func() int {
		k, err := dbutil.DB(e.db).NewSelect().Table("newsletter_deliveries").Where("status <> 'pending'").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(k)
	}
	waitLine := func(c *child, what string) string {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.cmd.Wait()
				t.Fatalf("%s: the sender ended with no output: %s", what, c.stderr.String())
			}
			return line
		case <-time.After(30 * time.Second):
			c.kill()
			t.Fatalf("%s: nothing from the sender in 30 s: %s", what, c.stderr.String())
		}
		return ""
	}
	for kill := 1; kill <= 10; kill++ {
		before := done()
		c := startChild(t, e, "mars")
		what := fmt.Sprintf("resume %d", kill)
		if line := waitLine(c, what); !strings.HasPrefix(line, "progress ") {
			c.kill()
			t.Fatalf("%s: %q instead of progress", what, line)
		}
		if kill == 1 && !pg {
			// A live sender holds the campaign: another is refused.
			_, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
			if !errors.Is(err, newsletter.ErrBusy) {
				c.kill()
				t.Fatalf("second sender while the first is alive: %v, want ErrBusy", err)
			}
		}
		time.Sleep(time.Duration(rng.IntN(30_000)) * time.Microsecond)
		c.kill()
		after := done()
		t.Logf("%s: deliveries done %d -> %d", what, before, after)
		if after <= before {
			t.Fatalf("%s made no progress: %d deliveries done before, %d after", what, before, after)
		}
		if after == recipients {
			t.Fatalf("the campaign was finished before kill %d: make it longer", kill)
		}
	}
	c := startChild(t, e, "mars")
	var last string
	for line := range c.lines {
		last = line
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("last resume: %v: %s", err, c.stderr.String())
	}
	if !strings.HasPrefix(last, "sent ") || !strings.HasSuffix(last, " unfinished 0") {
		t.Errorf("last resume said %q", last)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(recipients))
	st, err := e.newsletter(t).CampaignStats(ctx, "mars")
	if err != nil || st.Campaign.Status != newsletter.StatusSent || st.Sent != recipients {
		t.Errorf("stats %+v, %v", st, err)
	}
}
