package crm

import (
	"context"
	"hash/maphash"

	"github.com/uptrace/bun"
)

// freshEmails lets an import into a database that had no supporter skip
// looking up most addresses: while nobody else writes, an address can
// only exist if this import inserted it, and a Bloom filter of those it
// inserted says "certainly not" for nearly all the others (about one
// address in fifty is looked up for nothing at 1,000,000 addresses, for
// 1 MB).
// Only on SQLite, where the import's transactions hold the write lock:
// SQLite's data_version says whether another connection committed since
// the import began, and from the first such commit on, every address is
// looked up again, for the rest of the import.
type freshEmails struct {
	version int64 // data_version when the import began
	seed    maphash.Seed
	bits    []uint64
}

// freshBits is the size of the filter: 8.4 bits an address at 1,000,000
// addresses, a 2% false positive rate with 7 probes; past that it fills
// up and answers "maybe" more often, which costs lookups, never a
// mistake.
const freshBits = 1 << 23

// newFreshEmails returns the filter when the supporters table is empty,
// else nil. tx is the import's first transaction, on SQLite.
func newFreshEmails(ctx context.Context, tx bun.IDB) (*freshEmails, error) {
	any, err := tx.NewSelect().Table("supporters").Exists(ctx)
	if err != nil || any {
		return nil, err
	}
	f := &freshEmails{seed: maphash.MakeSeed(), bits: make([]uint64, freshBits/64)}
	if f.version, err = dataVersion(ctx, tx); err != nil {
		return nil, err
	}
	return f, nil
}

func dataVersion(ctx context.Context, tx bun.IDB) (int64, error) {
	var v int64
	err := tx.NewRaw("PRAGMA data_version").Scan(ctx, &v)
	return v, err
}

// stillFresh reports whether nobody else committed since the import
// began; tx must be one of the import's transactions.
func (f *freshEmails) stillFresh(ctx context.Context, tx bun.IDB) (bool, error) {
	v, err := dataVersion(ctx, tx)
	return v == f.version, err
}

// probes returns the 7 bit positions of an address (double hashing).
func (f *freshEmails) probes(email string) [7]uint64 {
	h := maphash.String(f.seed, email)
	h1, h2 := h&0xffffffff, h>>32|1
	var p [7]uint64
	for i := range p {
		p[i] = (h1 + uint64(i)*h2) % freshBits
	}
	return p
}

func (f *freshEmails) add(email string) {
	for _, b := range f.probes(email) {
		f.bits[b/64] |= 1 << (b % 64)
	}
}

// mayExist is false for an address this import certainly did not insert.
func (f *freshEmails) mayExist(email string) bool {
	for _, b := range f.probes(email) {
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}
