package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// preparedInserts looks up and writes an import batch's rows on SQLite
// through statements prepared once per batch transaction, with ?
// placeholders and bound values: multi-row INSERTs, and a SELECT of the
// addresses that exist. bun would format every value into the SQL text,
// and SQLite would then parse and compile a statement of thousands of rows
// each batch: on a 1,000,000-row import that was about a fifth of the
// time. A statement takes insertRowsPerStmt rows, the last one of a batch
// fewer.
type preparedInserts struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

// insertRowsPerStmt is how many rows one execution inserts: SQLite allows
// 32,766 bound values, and past a few dozen rows the gain is gone.
const insertRowsPerStmt = 64

// newPreparedInserts returns the prepared path for tx, or nil when the
// database is not SQLite or tx is not a bun.Tx.
func newPreparedInserts(db *DB, tx bun.IDB) *preparedInserts {
	if !db.isSQLite() {
		return nil
	}
	btx, ok := tx.(bun.Tx)
	if !ok {
		return nil
	}
	return &preparedInserts{tx: btx.Tx, stmts: map[string]*sql.Stmt{}}
}

// begin readies the transaction. A multi-row INSERT that may abort
// halfway needs a statement journal, which copies every page the
// statement changes first: that made the prepared path slower than one
// huge statement. OR FAIL (the rows before a failing one stay: the batch
// fails and its transaction is rolled back anyway) and foreign keys
// checked at commit (defer_foreign_keys, reset by the commit) leave
// nothing that needs it.
func (p *preparedInserts) begin(ctx context.Context) error {
	_, err := p.tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON")
	return err
}

func (p *preparedInserts) close() {
	for _, st := range p.stmts {
		st.Close()
	}
}

// insert runs "INSERT INTO table (cols) VALUES (?...), ... tail" over
// args, len(cols) values a row.
func (p *preparedInserts) insert(ctx context.Context, table string, cols []string, tail string, args []any) error {
	n := len(cols)
	rows := len(args) / n
	for start := 0; start < rows; start += insertRowsPerStmt {
		k := min(insertRowsPerStmt, rows-start)
		key := fmt.Sprintf("%s/%d", table, k)
		st := p.stmts[key]
		if st == nil {
			var b strings.Builder
			b.WriteString("INSERT OR FAIL INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
			row := "(" + strings.Repeat("?, ", n-1) + "?)"
			for i := range k {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(row)
			}
			b.WriteString(tail)
			var err error
			if st, err = p.tx.PrepareContext(ctx, b.String()); err != nil {
				return err
			}
			p.stmts[key] = st
		}
		if _, err := st.ExecContext(ctx, args[start*n:(start+k)*n]...); err != nil {
			return err
		}
	}
	return nil
}

// existingIDs returns the ids of the supporters with these addresses.
func (p *preparedInserts) existingIDs(ctx context.Context, emails []string) ([]int64, error) {
	var ids []int64
	args := make([]any, insertRowsPerStmt)
	for start := 0; start < len(emails); start += insertRowsPerStmt {
		k := min(insertRowsPerStmt, len(emails)-start)
		key := fmt.Sprintf("find/%d", k)
		st := p.stmts[key]
		if st == nil {
			var err error
			st, err = p.tx.PrepareContext(ctx, "SELECT id FROM supporters WHERE email IN ("+
				strings.Repeat("?, ", k-1)+"?)")
			if err != nil {
				return nil, err
			}
			p.stmts[key] = st
		}
		for i, e := range emails[start : start+k] {
			args[i] = e
		}
		rows, err := st.QueryContext(ctx, args[:k]...)
		if err != nil {
			return nil, fmt.Errorf("import: find supporters: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("import: find supporters: %w", err)
		}
	}
	return ids, nil
}

// sqliteTime formats a time as bun stores it on SQLite, so that stored
// times keep sorting and comparing as text.
func sqliteTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}

var supporterInsertColumns = []string{"id", "email", "first_name", "last_name", "phone", "organisation", "address", "city",
	"city_key", "postcode", "country", "language", "notes", "source", "source_key", "email_status", "created_at",
	"updated_at"}

// insertSupporters inserts new supporters whose ids are already set.
func (p *preparedInserts) insertSupporters(ctx context.Context, news []*Supporter) error {
	args := make([]any, 0, len(news)*len(supporterInsertColumns))
	for _, s := range news {
		args = append(args, s.ID, s.Email, s.FirstName, s.LastName, s.Phone, s.Organisation, s.Address, s.City, s.CityKey,
			s.Postcode, s.Country, s.Language, s.Notes, s.Source, s.SourceKey, string(s.EmailStatus),
			sqliteTime(s.CreatedAt), sqliteTime(s.UpdatedAt))
	}
	if err := p.insert(ctx, "supporters", supporterInsertColumns, "", args); err != nil {
		return fmt.Errorf("import: insert supporters: %w", err)
	}
	return nil
}

// writeRelations is writeRelations through prepared statements, with the
// same conflict rules.
func (p *preparedInserts) writeRelations(ctx context.Context, ss []*Supporter, now time.Time) error {
	var tags, ins, attrs []any
	stamp := sqliteTime(now)
	for _, s := range ss {
		for _, t := range s.Tags {
			tags = append(tags, s.ID, t, fold(t))
		}
		for _, in := range s.Interests {
			ins = append(ins, s.ID, in.Interest, in.Availability, stamp)
		}
		for k, v := range s.Attributes {
			attrs = append(attrs, s.ID, k, v, fold(k), fold(v))
		}
	}
	if err := p.insert(ctx, "supporter_tags", []string{"supporter_id", "tag", "tag_key"},
		" ON CONFLICT DO NOTHING", tags); err != nil {
		return fmt.Errorf("import: tags: %w", err)
	}
	if err := p.insert(ctx, "supporter_interests", []string{"supporter_id", "interest", "availability", "updated_at"},
		" ON CONFLICT (supporter_id, interest) DO UPDATE SET availability = excluded.availability, "+
			"updated_at = excluded.updated_at WHERE supporter_interests.availability <> excluded.availability", ins); err != nil {
		return fmt.Errorf("import: interests: %w", err)
	}
	if err := p.insert(ctx, "supporter_attributes", []string{"supporter_id", "key", "value", "key_fold", "value_fold"},
		" ON CONFLICT (supporter_id, key) DO UPDATE SET value = excluded.value, value_fold = excluded.value_fold",
		attrs); err != nil {
		return fmt.Errorf("import: attributes: %w", err)
	}
	return nil
}
