// Package dbutil holds the database plumbing that packages crm and
// newsletter share and that no embedder needs: applying and checking a
// package's embedded migrations, the settings table the library keeps
// its own values in, and the bun handles behind a *crm.DB and a *crm.Tx.
//
// It lives under internal/ so that crm's exported API stays what an
// embedding service uses: a package built on crm in this module (newsletter,
// cmd/crm, the tests) reaches through it what crm does not export.
package dbutil
