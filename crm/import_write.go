package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assocrm/assocrm/internal/dbutil"
)

// flush writes the pending batch: one query finds who exists, one inserts
// the new supporters, and tags, interests, attributes, subscriptions and
// consent events go in with one multi-row statement each. In the same
// transaction it journals the batch (see import_journal.go): the ids it
// created or changed, what it overwrote, and its consent events, which
// wait for the commit.
func (im *supporterImport) flush(ctx context.Context, tx bun.IDB) error {
	if len(im.batch) == 0 {
		return nil
	}
	defer func() {
		clear(im.byEmail)
		clear(im.statusOf)
		im.batch = im.batch[:0]
	}()
	if err := im.dropLateErased(ctx, tx); err != nil {
		return err
	}
	if len(im.batch) == 0 {
		return nil
	}
	if err := im.createInterests(ctx, tx); err != nil {
		return err
	}
	prep := newPreparedInserts(im.db, tx)
	if prep != nil {
		defer prep.close()
		if err := prep.begin(ctx); err != nil {
			return err
		}
	}
	emails, err := im.lookupCandidates(ctx, tx, prep)
	if err != nil {
		return err
	}
	existing, err := findExisting(ctx, tx, prep, emails)
	if err != nil {
		return err
	}
	if err := loadRelations(ctx, tx, existing); err != nil {
		return err
	}
	var own map[int64]map[string]bool
	if len(existing) > 0 {
		ids := make([]int64, len(existing))
		for i, s := range existing {
			ids[i] = s.ID
		}
		if own, err = ownChoicesOf(ctx, tx, ids); err != nil {
			return err
		}
	}
	byEmail := make(map[string]*Supporter, len(existing))
	before := make(map[int64]*Supporter, len(existing))
	for _, s := range existing {
		byEmail[s.Email] = s
		before[s.ID] = snapshot(s)
	}
	subs, err := im.subscriptionStatus(ctx, tx, existing)
	if err != nil {
		return err
	}

	var news, touched, targets []*Supporter
	changed := map[int64]bool{} // existing supporters this batch changes
	for _, row := range im.batch {
		ex := byEmail[row.s.Email]
		if ex == nil {
			s := &row.s
			if s.Language == "" {
				s.Language = DefaultLanguage
			}
			if s.Source == "" {
				s.Source, s.SourceKey = im.source, fold(im.source)
			}
			s.EmailStatus = EmailOK
			s.CreatedAt, s.UpdatedAt = im.now, im.now
			news = append(news, s)
			continue
		}
		if ok, rej := attributesFit(ex, row); !ok {
			im.reject(rej)
			continue
		}
		if dropOwnChoices(&row.s, own[ex.ID]) && !im.keptOwn[ex.ID] {
			if im.keptOwn == nil {
				im.keptOwn = map[int64]bool{}
			}
			im.keptOwn[ex.ID] = true
			im.rep.KeptOwnChoices++
		}
		rowChanged := mergeSupporter(ex, &row.s, im.opts.Overwrite)
		seen := im.seenBefore(ex.ID)
		switch {
		case seen:
			im.rep.Duplicates++
		case rowChanged:
			im.rep.Updated++
		default:
			im.rep.Unchanged++
		}
		if rowChanged {
			ex.UpdatedAt = im.now
			touched = append(touched, ex)
			changed[ex.ID] = true
		}
		if !seen {
			im.markSeen(ex.ID)
			targets = append(targets, ex)
		}
	}

	if len(news) > 0 {
		nextID, err := im.nextID(ctx, tx)
		if err != nil {
			return err
		}
		if nextID > 0 {
			for _, s := range news {
				s.ID, nextID = nextID, nextID+1
			}
		}
		if prep != nil && nextID > 0 {
			err = prep.insertSupporters(ctx, news)
		} else {
			err = insertSupporters(ctx, tx, news, nextID == 0)
		}
		if err != nil {
			return err
		}
		for _, s := range news {
			im.markSeen(s.ID)
			if im.fresh != nil {
				im.fresh.add(s.Email)
			}
		}
		im.rep.Created += len(news)
		targets = append(targets, news...)
		touched = append(touched, news...)
	}

	for _, s := range touched[:len(touched)-len(news)] {
		if _, err := tx.NewUpdate().Model(s).WherePK().ExcludeColumn("id", "created_at", "email", "email_status").
			Exec(ctx); err != nil {
			return fmt.Errorf("import: update supporter %d: %w", s.ID, err)
		}
	}
	if prep != nil {
		err = prep.writeRelations(ctx, touched, im.now)
	} else {
		err = writeRelations(ctx, tx, touched, im.now)
	}
	if err != nil {
		return err
	}
	var events []ConsentEvent
	if err := im.markBounced(ctx, tx, targets, changed, &events); err != nil {
		return err
	}
	if im.list != nil {
		if err := im.subscribe(ctx, tx, targets, subs, changed, &events); err != nil {
			return err
		}
	}
	return im.journal(ctx, tx, news, changed, before, subs, events)
}

// lookupCandidates returns the addresses of the batch that may belong to
// supporters who exist: all of them, unless the import began on an empty
// SQLite database that nobody else has written since (see freshEmails).
func (im *supporterImport) lookupCandidates(ctx context.Context, tx bun.IDB, prep *preparedInserts) ([]string, error) {
	if prep != nil && !im.freshChecked {
		im.freshChecked = true
		var err error
		if im.fresh, err = newFreshEmails(ctx, tx); err != nil {
			return nil, err
		}
	}
	if im.fresh != nil {
		ok, err := im.fresh.stillFresh(ctx, tx)
		if err != nil {
			return nil, err
		}
		if !ok {
			im.fresh = nil // someone else wrote: from now on, look everyone up
		}
	}
	emails := make([]string, 0, len(im.batch))
	for _, row := range im.batch {
		if im.fresh == nil || im.fresh.mayExist(row.s.Email) {
			emails = append(emails, row.s.Email)
		}
	}
	return emails, nil
}

// findExisting returns the supporters of the batch that exist, by their
// addresses. On PostgreSQL it locks their rows, in one order: a web write
// about one of them (which locks its row first, see lockLiveSupporter)
// waits for the batch, or the batch reads its result, and nothing either
// writes is lost. SQLite's immediate transactions already run one at a
// time; there the addresses are looked up through prepared statements
// with bound values (the SQL text of 2,000 quoted addresses was built and
// parsed again each batch), and only the few found are read whole.
func findExisting(ctx context.Context, tx bun.IDB, prep *preparedInserts, emails []string) ([]*Supporter, error) {
	var existing []*Supporter
	q := tx.NewSelect().Model(&existing)
	switch {
	case len(emails) == 0:
		return nil, nil
	case prep != nil:
		ids, err := prep.existingIDs(ctx, emails)
		if err != nil || len(ids) == 0 {
			return nil, err
		}
		q.Where("s.id IN (?)", bun.List(ids))
	case tx.Dialect().Name() == dialect.PG:
		q.Where("s.email IN (?)", bun.List(emails)).Order("s.id").For("UPDATE")
	default:
		q.Where("s.email IN (?)", bun.List(emails))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("import: find supporters: %w", err)
	}
	return existing, nil
}

// subscriptionStatus returns the status on the import's list of the
// supporters that exist, before the batch changes it.
func (im *supporterImport) subscriptionStatus(ctx context.Context, tx bun.IDB, ss []*Supporter) (map[int64]SubscriptionStatus, error) {
	status := map[int64]SubscriptionStatus{}
	if im.list == nil || len(ss) == 0 {
		return status, nil
	}
	ids := make([]int64, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	var cur []Subscription
	if err := tx.NewSelect().Model(&cur).Column("supporter_id", "status").
		Where("list_id = ? AND supporter_id IN (?)", im.list.ID, bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("import: subscriptions: %w", err)
	}
	for _, c := range cur {
		status[c.SupporterID] = c.Status
	}
	return status, nil
}

// nextID returns, on SQLite, the id the next new supporter gets: the
// batch's transaction holds the write lock, so nobody else can take an id
// before it commits, and it numbers new supporters itself, as
// AUTOINCREMENT would, past the largest id ever used. On PostgreSQL it
// returns 0: the ids come from the INSERT's RETURNING rows.
func (im *supporterImport) nextID(ctx context.Context, tx bun.IDB) (int64, error) {
	if !im.db.isSQLite() {
		return 0, nil
	}
	var seq, maxID int64
	if err := tx.NewSelect().Table("sqlite_sequence").ColumnExpr("COALESCE(MAX(seq), 0)").
		Where("name = 'supporters'").Scan(ctx, &seq); err != nil {
		return 0, err
	}
	if err := tx.NewSelect().Table("supporters").ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &maxID); err != nil {
		return 0, err
	}
	return max(seq, maxID) + 1, nil
}

// journal records, in the batch's transaction, what the batch did: runs
// of created and changed ids, the old state of the changed supporters
// (first change only: a later batch's state is not the one to restore),
// and the consent events, which wait until the import commits.
func (im *supporterImport) journal(ctx context.Context, tx bun.IDB, news []*Supporter, changed map[int64]bool,
	before map[int64]*Supporter, subs map[int64]SubscriptionStatus, events []ConsentEvent) error {
	created := make([]int64, len(news))
	for i, s := range news {
		created[i] = s.ID
	}
	runs := idRuns(im.runID, created, true)
	if len(changed) > 0 {
		ids := make([]int64, 0, len(changed))
		undo := make([]importUndoRow, 0, len(changed))
		for id := range changed {
			if before[id] == nil {
				continue // created by this batch: its run says so
			}
			ids = append(ids, id)
			b, err := json.Marshal(importBefore{Supporter: before[id], Sub: subs[id]})
			if err != nil {
				return err
			}
			undo = append(undo, importUndoRow{ImportID: im.runID, SupporterID: id, Before: string(b)})
		}
		if len(undo) > 0 {
			if _, err := tx.NewInsert().Model(&undo).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return fmt.Errorf("import: journal: %w", err)
			}
		}
		runs = append(runs, idRuns(im.runID, ids, false)...)
	}
	if len(runs) > 0 {
		// A run of an earlier batch may start at the same id and end
		// sooner (people seen again): keep the longer one, so the audit
		// log finds all of them.
		greatest := "MAX"
		if tx.Dialect().Name() == dialect.PG {
			greatest = "GREATEST"
		}
		if _, err := tx.NewInsert().Model(&runs).On("CONFLICT (import_id, first_id, created) DO UPDATE").
			Set("last_id = " + greatest + "(isr.last_id, EXCLUDED.last_id)").Exec(ctx); err != nil {
			return fmt.Errorf("import: journal: %w", err)
		}
	}
	if len(events) > 0 {
		staged := make([]stagedConsentEvent, len(events))
		for i, e := range events {
			staged[i] = stageConsent(im.runID, e)
		}
		if _, err := tx.NewInsert().Model(&staged).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("import: record consent: %w", err)
		}
	}
	return nil
}

// insertSupporters inserts news in one statement. With readIDs, it sets
// the ids the database gave them from the RETURNING rows, matched by
// email: the order of a multi-row insert's RETURNING rows is not
// guaranteed.
func insertSupporters(ctx context.Context, tx bun.IDB, news []*Supporter, readIDs bool) error {
	if !readIDs {
		if _, err := tx.NewInsert().Model(&news).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("import: insert supporters: %w", err)
		}
		return nil
	}
	var ids []struct {
		ID    int64
		Email string
	}
	if _, err := tx.NewInsert().Model(&news).Returning("id, email").Exec(ctx, &ids); err != nil {
		return fmt.Errorf("import: insert supporters: %w", err)
	}
	idOf := make(map[string]int64, len(ids))
	for _, r := range ids {
		idOf[r.Email] = r.ID
	}
	for _, s := range news {
		s.ID = idOf[s.Email]
	}
	return nil
}

// rowStatus is what the file says of the consent of the row with this
// address: the file's own status (Mailchimp's three files) or the row's
// status column.
func (im *supporterImport) rowStatus(email string) rowStatus {
	if st, ok := im.statusOf[email]; ok {
		return st
	}
	return im.status
}

func (im *supporterImport) seenBefore(id int64) bool {
	return id/64 < int64(len(im.seen)) && im.seen[id/64]&(1<<(id%64)) != 0
}

func (im *supporterImport) markSeen(id int64) {
	if n := id/64 + 1; n > int64(len(im.seen)) {
		im.seen = append(im.seen, make([]uint64, max(n-int64(len(im.seen)), int64(len(im.seen))))...)
	}
	im.seen[id/64] |= 1 << (id % 64)
}

// writeRelations adds the tags, interests and attributes of ss; rows they
// already have are left alone or updated in place.
func writeRelations(ctx context.Context, tx bun.IDB, ss []*Supporter, now time.Time) error {
	var tags []supporterTag
	var ins []SupporterInterest
	var attrs []supporterAttribute
	for _, s := range ss {
		for _, t := range s.Tags {
			tags = append(tags, newTag(s.ID, t))
		}
		for _, in := range s.Interests {
			in.SupporterID, in.UpdatedAt = s.ID, now
			ins = append(ins, in)
		}
		for k, v := range s.Attributes {
			attrs = append(attrs, newAttribute(s.ID, k, v))
		}
	}
	if len(tags) > 0 {
		if _, err := tx.NewInsert().Model(&tags).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("import: tags: %w", err)
		}
	}
	if len(ins) > 0 {
		if _, err := tx.NewInsert().Model(&ins).
			On("CONFLICT (supporter_id, interest) DO UPDATE").
			Set("availability = EXCLUDED.availability").Set("updated_at = EXCLUDED.updated_at").
			Where("si.availability <> EXCLUDED.availability").Exec(ctx); err != nil {
			return fmt.Errorf("import: interests: %w", err)
		}
	}
	if len(attrs) > 0 {
		if _, err := tx.NewInsert().Model(&attrs).
			On("CONFLICT (supporter_id, key) DO UPDATE").Set("value = EXCLUDED.value").
			Set("value_fold = EXCLUDED.value_fold").Exec(ctx); err != nil {
			return fmt.Errorf("import: attributes: %w", err)
		}
	}
	return nil
}

// markBounced records that the addresses of a Mailchimp "cleaned" file
// bounce, so nothing is ever sent to them.
func (im *supporterImport) markBounced(ctx context.Context, tx bun.IDB, ss []*Supporter, changed map[int64]bool,
	journal *[]ConsentEvent) error {
	var ids []int64
	var events []ConsentEvent
	for _, s := range ss {
		if s.EmailStatus == EmailOK && im.rowStatus(s.Email) == statusCleaned {
			ids = append(ids, s.ID)
			events = append(events, ConsentEvent{SupporterID: s.ID, Action: ActionEmailStatus + string(EmailBounced),
				Source: im.consent.Source, CreatedAt: im.now})
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.NewUpdate().Table("supporters").Set("email_status = ?", EmailBounced).
		Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return fmt.Errorf("import: mark bounced: %w", err)
	}
	im.rep.Bounced += len(ids)
	for _, id := range ids {
		changed[id] = true
	}
	*journal = append(*journal, events...)
	return nil
}

// subscribe applies ImportOptions.List to the batch: subscribe, or for a
// Mailchimp unsubscribed file unsubscribe, and never resubscribe anyone
// who left or whose mail bounces.
func (im *supporterImport) subscribe(ctx context.Context, tx bun.IDB, ss []*Supporter,
	status map[int64]SubscriptionStatus, changed map[int64]bool, journal *[]ConsentEvent) error {
	if len(ss) == 0 {
		return nil
	}
	var subs []Subscription
	var events []ConsentEvent
	change := func(s *Supporter, st SubscriptionStatus, action string) {
		subs = append(subs, Subscription{SupporterID: s.ID, ListID: im.list.ID, Status: st, CreatedAt: im.now, UpdatedAt: im.now})
		events = append(events, ConsentEvent{SupporterID: s.ID, ListID: im.list.ID, Action: action,
			Source: im.consent.Source, ConsentText: im.consent.Text, CreatedAt: im.now})
		changed[s.ID] = true
	}
	for _, s := range ss {
		st := status[s.ID]
		switch {
		case im.rowStatus(s.Email) == statusUnsubscribed:
			if st != StatusUnsubscribed {
				change(s, StatusUnsubscribed, ActionUnsubscribe)
				im.rep.Unsubscribed++
			}
		case im.rowStatus(s.Email) == statusCleaned:
			// Bounced addresses are never subscribed.
		case st == StatusUnsubscribed || (s.EmailStatus != EmailOK && s.EmailStatus != ""):
			im.rep.NotResubscribed++
		case st == StatusSubscribed:
			im.rep.AlreadySubscribed++
		case st == StatusPending:
			change(s, StatusSubscribed, ActionConfirm)
			im.rep.Subscribed++
		default:
			change(s, StatusSubscribed, ActionSubscribe)
			im.rep.Subscribed++
		}
	}
	if len(subs) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&subs).
		On("CONFLICT (supporter_id, list_id) DO UPDATE").
		Set("status = EXCLUDED.status").Set("updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("import: subscribe: %w", err)
	}
	*journal = append(*journal, events...)
	return nil
}

// dropLateErased rejects the rows of the batch whose address was erased
// after the import began: the file was checked against the erased list
// when its rows were read, but a forget may come between two batches, and
// a later row of the same person must not bring them back. New erasures
// are few: each batch reads those made since the import began (with a
// minute of margin) and hashes its addresses only when there are some.
func (im *supporterImport) dropLateErased(ctx context.Context, tx bun.IDB) error {
	var hashes []string
	if err := tx.NewSelect().Table("suppressions").Column("hash").
		Where("created_at >= ?", im.now.Add(-time.Minute)).Scan(ctx, &hashes); err != nil {
		return fmt.Errorf("import: erased addresses: %w", err)
	}
	if len(hashes) == 0 {
		return nil
	}
	if im.lateKey == nil {
		key, _, err := dbutil.Setting(ctx, im.db.bun, suppressionKeySetting)
		if err != nil {
			return err
		}
		im.lateKey, im.lateErased = []byte(key), map[string]bool{}
	}
	for _, h := range hashes {
		im.lateErased[h] = true
	}
	kept := im.batch[:0]
	for _, row := range im.batch {
		if im.lateErased[erasedAddressHash(im.lateKey, row.s.Email)] {
			im.reject(Rejection{Line: row.line, Column: "email", Value: row.s.Email,
				Reason: "erased address: the person asked to be forgotten while the file was imported"})
			continue
		}
		kept = append(kept, row)
	}
	clear(im.batch[len(kept):])
	im.batch = kept
	return nil
}

// importedInterest is an interest an import creates, marked with its run
// so that undoing the import deletes it if nobody uses it.
type importedInterest struct {
	bun.BaseModel `bun:"table:interests"`

	Name      string    `bun:"name,pk"`
	LabelFR   string    `bun:"label_fr"`
	LabelEN   string    `bun:"label_en"`
	CreatedAt time.Time `bun:"created_at"`
	ImportID  int64     `bun:"import_id,nullzero"`
}

// createInterests creates the interests the batch's rows name that do not
// exist yet (ImportOptions.CreateInterests), before their supporters'
// interests are written.
func (im *supporterImport) createInterests(ctx context.Context, tx bun.IDB) error {
	var want []importedInterest
	for _, row := range im.batch {
		for _, in := range row.newInterests {
			if im.createdInterests[in.Name] || slices.ContainsFunc(want, func(w importedInterest) bool { return w.Name == in.Name }) {
				continue
			}
			want = append(want, importedInterest{Name: in.Name, LabelFR: in.LabelFR, LabelEN: in.LabelEN,
				CreatedAt: im.now, ImportID: im.runID})
		}
	}
	if len(want) == 0 {
		return nil
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.Name
	}
	var have []string
	if err := tx.NewSelect().Table("interests").Column("name").Where("name IN (?)", bun.List(names)).
		Scan(ctx, &have); err != nil {
		return fmt.Errorf("import: interests: %w", err)
	}
	if im.createdInterests == nil {
		im.createdInterests = map[string]bool{}
	}
	want = slices.DeleteFunc(want, func(w importedInterest) bool { return slices.Contains(have, w.Name) })
	for _, n := range names {
		im.createdInterests[n] = true
	}
	if len(want) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&want).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("import: create interests: %w", err)
	}
	for _, w := range want {
		im.rep.InterestsCreated = append(im.rep.InterestsCreated, w.Name)
	}
	return nil
}
