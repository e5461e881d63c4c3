package crm

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/internal/dbutil"
)

// The ways into a DB and a Tx that the other packages of this module
// (newsletter, cmd/crm, the tests) need and an embedder does not: see
// package dbutil.
func init() {
	dbutil.SetHooks(dbutil.Hooks{
		DB: func(db any) *bun.DB { return db.(*DB).bun },
		Tx: func(tx any) bun.IDB { return tx.(*Tx).tx },
		SupporterQuery: func(ctx context.Context, idb bun.IDB, f any) (*bun.SelectQuery, error) {
			return supporterQuery(ctx, idb, f.(SupporterFilter))
		},
		CreateErasedSupporter: func(ctx context.Context, tx any, s any) error {
			return tx.(*Tx).createSupporter(ctx, s.(*Supporter), false)
		},
	})
}
