package crmtest

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/uptrace/bun"
)

// FailQueries returns a copy of bdb, sharing its connections, on which
// every query (in a transaction too) whose SQL contains all of parts
// fails as a database failure at that step would: the query is handed a
// cancelled context, so it fails with an error wrapping context.Canceled
// before it reaches the database, on SQLite and PostgreSQL alike. Wrap
// the copy with crm.New to run an operation on it. Tests use it to make
// the last step of an operation fail and check that the operation left
// nothing behind; hits says how many queries it failed.
func FailQueries(bdb *bun.DB, parts ...string) (failing *bun.DB, hits func() int) {
	h := &failingQueries{parts: parts}
	return bdb.WithQueryHook(h), func() int { return int(h.hits.Load()) }
}

type failingQueries struct {
	parts []string
	hits  atomic.Int64
}

func (h *failingQueries) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
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
