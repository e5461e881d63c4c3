package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/newsletter"
)

// noticeSender returns the sender of a command's emails around a
// subscription: the --outbox folder, else Resend when RESEND_API_KEY is
// set, else nil (nothing can go, and the command says so).
func noticeSender(c *cli.Context, n *newsletter.Newsletter, command string) (newsletter.Sender, error) {
	if dir := c.String("outbox"); dir != "" {
		return &newsletter.Outbox{Dir: dir}, nil
	}
	if os.Getenv("RESEND_API_KEY") == "" {
		return nil, nil
	}
	return resendSender(n, command, "mail: its links must work", "or write the emails to a folder with --outbox DIR")
}

// printNotices says what SendNotices did, through Resend or, when outbox
// is set, into that folder; it returns an error when an email could not
// go.
func printNotices(c *cli.Context, rep *newsletter.NoticeReport, outbox string) error {
	w := c.App.Writer
	if rep.Sent > 0 {
		what := "email"
		if rep.Sent > 1 {
			what = "emails"
		}
		verb := "sent"
		if outbox != "" {
			verb = "wrote"
		}
		fmt.Fprintf(w, "%s %d %s", verb, rep.Sent, what)
		switch {
		case rep.Confirmations == 1:
			fmt.Fprint(w, " (1 confirmation)")
		case rep.Confirmations > 1:
			fmt.Fprintf(w, " (%d confirmations)", rep.Confirmations)
		}
		if outbox != "" {
			fmt.Fprintf(w, " to %s as .eml files", outbox)
		}
		fmt.Fprintln(w)
	}
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "%d no longer called for (confirmed, left or erased since)\n", rep.Skipped)
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(c.App.ErrWriter, "error:", e)
	}
	if rep.Waiting > 0 {
		return fmt.Errorf("%d email(s) could not go now and wait in the queue: crm serve, or crm send --due with RESEND_API_KEY or --outbox DIR, sends them", rep.Waiting)
	}
	if rep.Failed+rep.Uncertain > 0 {
		return fmt.Errorf("%d email(s) failed", rep.Failed+rep.Uncertain)
	}
	return nil
}

// noticeEvery is how often crm serve sends the queued emails that could
// not go at once (the provider was down, or a page had no sender).
const noticeEvery = 30 * time.Second

// sendQueuedNotices sends the queued confirmations and welcomes until ctx
// ends. It logs counts, never addresses.
func sendQueuedNotices(ctx context.Context, n *newsletter.Newsletter, sender newsletter.Sender, from string, logger *slog.Logger) {
	t := time.NewTicker(noticeEvery)
	defer t.Stop()
	for {
		rep, err := n.SendNotices(ctx, sender, newsletter.NoticeOptions{From: from})
		if err != nil && ctx.Err() == nil {
			logger.Error("queued emails", "error", err)
		} else if rep != nil && rep.Sent+rep.Failed+rep.Uncertain+rep.Waiting > 0 {
			logger.Info("queued emails", "sent", rep.Sent, "failed", rep.Failed, "uncertain", rep.Uncertain, "waiting", rep.Waiting)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
