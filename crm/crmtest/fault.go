package crmtest

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/uptrace/bun"
)

// FailQueries makes every query run through bdb (or a transaction of it)
// whose SQL contains all of parts fail, as a database failure at that
// step would, until stop is called: the query is handed a cancelled
// context, so it fails with an error wrapping context.Canceled before it
// reaches the database, on SQLite and PostgreSQL alike. Tests use it to
// make the last step of an operation fail and check that the operation
// left nothing behind. It reports through hits how many queries it
// failed.
func FailQueries(bdb *bun.DB, parts ...string) (hits func() int, stop func()) {
	h := &failingQueries{parts: parts}
	h.on.Store(true)
	bdb.AddQueryHook(h)
	return func() int { return int(h.hits.Load()) }, func() { h.on.Store(false) }
}

type failingQueries struct {
	parts []string
	on    atomic.Bool
	hits  atomic.Int64
}

func (h *failingQueries) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if !h.on.Load() {
		return ctx
	}
	for _, p := range h.parts {
		if !strings.Contains(e.Query, p) {
			return ctx
		}
	}
	h.hits.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return ctx
}

func (h *failingQueries) AfterQuery(context.Context, *bun.QueryEvent) {}
