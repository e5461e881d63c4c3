package crm

import "context"

// Profile is what the association holds on one supporter, in one value:
// the record with tags, attributes and interests, the subscriptions, the
// donation totals, and the answers to events and attendance.
type Profile struct {
	Supporter      *Supporter       `json:"supporter"`
	Subscriptions  []Subscription   `json:"subscriptions"`
	DonationTotals []DonationTotal  `json:"donation_totals"`
	Events         *SupporterEvents `json:"events"`
}

// GetProfile returns the profile of the supporter with the given address,
// or an error wrapping ErrNotFound.
func (db *DB) GetProfile(ctx context.Context, email string) (*Profile, error) {
	s, err := db.GetSupporterByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	p := &Profile{Supporter: s}
	if p.Subscriptions, err = db.Subscriptions(ctx, s.ID); err != nil {
		return nil, err
	}
	if p.DonationTotals, err = db.DonationTotals(ctx, s.ID); err != nil {
		return nil, err
	}
	if p.Events, err = supporterEvents(ctx, db.bun, s.ID); err != nil {
		return nil, err
	}
	return p, nil
}
