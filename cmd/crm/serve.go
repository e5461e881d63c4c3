package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the signup, confirmation, unsubscribe and preference pages, the event pages and calendars, and the Resend webhook",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "address to listen on"},
			publicURLFlag(),
			&cli.StringFlag{Name: "from", EnvVars: []string{"CRM_FROM"}, Usage: `sender of confirmation and welcome emails, e.g. "Asso <news@asso.org>" (default: the from setting)`},
			&cli.StringFlag{Name: "outbox", Usage: "write confirmation and welcome emails to this folder as .eml files instead of sending them through Resend " +
				"(for trying the pages: scheduled campaigns are then not sent)"},
			&cli.BoolFlag{Name: "record-ip", Usage: "record the IP address and user agent of web signups in the consent history"},
			&cli.StringSliceFlag{Name: "consent-text", Usage: "a consent text your signup form shows and posts as `consent` (repeatable); " +
				"a signup posting it records it, any other text is ignored and a standard text per list is recorded"},
			&cli.DurationFlag{Name: "max-late", Value: newsletter.DefaultMaxLate,
				Usage: "a scheduled campaign due longer ago than this is not sent: it waits for a person"},
			&cli.DurationFlag{Name: "confirmation-interval", Value: newsletter.DefaultConfirmationInterval,
				Usage: "least time between two confirmation emails to one address"},
			&cli.StringSliceFlag{Name: "trust-proxy", Usage: "a reverse proxy in front of crm serve, as a `CIDR` range or an address " +
				"(repeatable): only from it are X-Forwarded-For and X-Forwarded-Proto read, for the per-IP limit and recorded IPs; " +
				"a range of every address (0.0.0.0/0, ::/0) is refused: anyone could then choose their IP"},
		},
		Action: withDB(0, 0, serve),
	}
}

func serve(c *cli.Context, db *crm.DB) error {
	// The flags are checked before anything is looked up (the Resend key
	// among them): a mistake in the command line is said first, exit 2.
	if _, err := newsletter.ParseTrustedProxies(c.StringSlice("trust-proxy")...); err != nil {
		if ve := (*crm.ValidationError)(nil); errors.As(err, &ve) {
			return usagef("--trust-proxy %q: %s", ve.Value, ve.Reason)
		}
		return err
	}
	from, err := fromSetting(c, db, "serve", "confirmation and welcome emails")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("--addr %q: %w", c.String("addr"), err)
	}
	defer ln.Close()
	logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	n, err := openNewsletter(c, db, newsletter.WithLogger(logger))
	if err != nil {
		return err
	}
	if c.String("outbox") != "" && errors.Is(n.CheckSender((*newsletter.ResendSender)(nil)), newsletter.ErrNoPublicURL) {
		// Trying it out: the links of the emails written to the outbox
		// lead to this server, on the port it really listens on.
		own := "http://" + ln.Addr().String()
		if n, err = openNewsletter(c, db, newsletter.WithLogger(logger), newsletter.WithPublicURL(own)); err != nil {
			return err
		}
		fmt.Fprintf(c.App.ErrWriter, "note: no public URL (--public-url, CRM_PUBLIC_URL or crm settings set public-url): links in the emails point to %s\n", own)
	}
	var sender newsletter.Sender
	if dir := c.String("outbox"); dir != "" {
		sender = &newsletter.Outbox{Dir: dir}
	} else {
		rs, err := resendSender(n, "serve", "confirmation and welcome emails", "or try the pages with --outbox DIR")
		var ue *usageError
		if errors.As(err, &ue) {
			return err
		} else if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		sender = rs
	}
	opts := []newsletter.HandlerOption{
		newsletter.WithConfirmationSender(sender, from),
		newsletter.WithRecordIP(c.Bool("record-ip")),
		newsletter.WithConsentTexts(c.StringSlice("consent-text")...),
		newsletter.WithConfirmationInterval(c.Duration("confirmation-interval")),
		newsletter.WithTrustedProxies(c.StringSlice("trust-proxy")...),
	}
	if secret := os.Getenv("RESEND_WEBHOOK_SECRET"); secret != "" {
		opts = append(opts, newsletter.WithWebhookSecret(secret))
	}
	h, err := newsletter.NewHandler(n, opts...)
	if err != nil {
		return explain(c, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	// The signup form is the home page too: the address people are given.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		r = r.Clone(r.Context())
		r.URL.Path = "/subscribe"
		h.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := dbutil.DB(db).PingContext(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(c.App.Writer, "serving on http://%s (links point to %s); stop with Ctrl-C\n", ln.Addr(), n.PublicURL())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	scheduled := make(chan struct{})
	schedCtx, stopScheduled := context.WithCancel(c.Context)
	defer func() { stopScheduled(); <-scheduled }() // a send in progress stops cleanly, to be resumed
	go func() {
		defer close(scheduled)
		sendScheduled(schedCtx, c, n, sender, logger)
	}()
	queued := make(chan struct{})
	defer func() { stopScheduled(); <-queued }()
	go func() {
		defer close(queued)
		sendQueuedNotices(schedCtx, n, sender, from, logger)
	}()
	select {
	case err := <-done:
		return err
	case <-c.Context.Done():
	}
	// SIGINT or SIGTERM: finish the requests in hand, then stop.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(c.App.Writer, "stopped")
	return nil
}

// scheduleEvery is how often crm serve looks for scheduled campaigns that
// are due.
const scheduleEvery = 30 * time.Second

// sendScheduled sends the scheduled campaigns as they fall due, through
// sender, until the command is stopped. What it does is logged (names and
// counts, never addresses).
func sendScheduled(ctx context.Context, c *cli.Context, n *newsletter.Newsletter, sender newsletter.Sender, logger *slog.Logger) {
	if _, ok := sender.(*newsletter.Outbox); ok {
		// The outbox is for trying the pages: a scheduled campaign sent
		// there would be recorded as sent, and never reach anyone.
		fmt.Fprintln(c.App.ErrWriter, "note: with --outbox, scheduled campaigns are not sent (crm send --due with RESEND_API_KEY sends them)")
		return
	}
	if n.CheckSender(sender) != nil {
		return // no public URL for real mail: serve said so already
	}
	t := time.NewTicker(scheduleEvery)
	defer t.Stop()
	warned := map[string]bool{} // late campaigns are logged once
	for {
		reports, err := n.SendDue(ctx, sender, c.Duration("max-late"), newsletter.SendOptions{})
		for _, r := range reports {
			switch {
			case r.Late:
				if !warned[r.Campaign] {
					logger.Warn("scheduled campaign late: not sent, waits for a person", "campaign", r.Campaign)
					warned[r.Campaign] = true
				}
			case r.Err != nil:
				logger.Error("scheduled campaign failed", "campaign", r.Campaign, "error", r.Err)
			case r.Report != nil && !r.Report.AlreadyDone:
				logger.Info("scheduled campaign sent", "campaign", r.Campaign, "sent", r.Report.Sent,
					"failed", r.Report.Failed, "skipped", r.Report.Skipped)
			}
		}
		if err != nil && ctx.Err() == nil {
			logger.Error("scheduled campaigns", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
