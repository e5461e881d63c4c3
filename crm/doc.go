// Package crm is the supporter database of a small association: the people
// who support it, how they want to help, what they gave, which lists they
// joined and the proof of their consent.
//
// Open a database with [Open] (an embedded SQLite file, no cgo needed, or a
// PostgreSQL server given as a postgres:// DSN) or wrap a *bun.DB of either
// dialect with [New]; both apply the embedded migrations of that engine.
// Every method takes a context first, runs its writes in one transaction
// (the few that cannot, such as imports, say why) and returns errors that
// wrap [ErrNotFound], [ErrConflict] or [ErrInvalid] so callers can branch
// with errors.Is. Validation failures are a *[ValidationError] naming the
// field at fault.
//
// To make several operations one transaction, run them through a [Tx] in
// [DB.RunInTx]: its methods are the write operations of [DB], and
// packages built on crm (newsletter) compose theirs the same way.
//
// Supporters are imported from the spreadsheets associations have with
// [DB.ImportSupporters] and [DB.ImportDonations], picked with a
// [SupporterFilter] (segment expressions among its fields) and read a page
// at a time with [DB.ListSupporters], streamed with [DB.Supporters] or
// counted with [DB.CountSupporters], exported and erased with
// [DB.ExportSupporter] and [DB.Forget]; every change goes into an
// append-only audit log ([WithChannel] names where it came from).
//
// Emails are normalised by [NormalizeEmail] and nowhere else; money is an
// int64 of minor units plus an ISO 4217 code (see [ParseAmount]); times are
// stored in UTC.
package crm
