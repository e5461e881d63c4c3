package newsletter

import (
	"context"
	"errors"
	"fmt"

	"github.com/assocrm/assocrm/crm"
)

// RSVPState is what an answer link shows: the event, the person it was
// sent to, their current answer and the places left.
type RSVPState struct {
	Supporter *crm.Supporter
	Event     *crm.Event
	// RSVP is the person's current answer, nil when they gave none.
	RSVP   *crm.RSVP
	Counts crm.EventCounts
	// Position is the person's place on the waiting list, from 1; 0 when
	// they are not on it.
	Position int
	// CampaignID is the campaign whose email carried the link (0 for
	// none).
	CampaignID int64
}

// CheckRSVPToken returns what an answer link (RSVPURL) shows, changing
// nothing: the page a GET shows, as mail scanners open every link. It
// returns ErrTokenInvalid for a tampered, truncated or other link (or
// one naming no event), ErrTokenExpired, with the supporter, for a link
// past its time, ErrSupporterErased for a person erased since, and an
// error wrapping crm.ErrNotFound for an event that no longer exists.
func (n *Newsletter) CheckRSVPToken(ctx context.Context, token string) (*RSVPState, error) {
	t, err := n.signer.Verify(token, PurposeRSVP, n.clock())
	if errors.Is(err, ErrTokenExpired) {
		s, serr := n.tokenSupporter(ctx, t)
		if serr != nil {
			return nil, serr
		}
		return &RSVPState{Supporter: s}, err
	} else if err != nil {
		return nil, err
	}
	if t.EventID <= 0 {
		return nil, ErrTokenInvalid
	}
	s, err := n.tokenSupporter(ctx, t)
	if err != nil {
		return nil, err
	}
	e, err := n.db.GetEventByID(ctx, t.EventID)
	if err != nil {
		return nil, err
	}
	st := &RSVPState{Supporter: s, Event: e, CampaignID: t.CampaignID}
	return st, n.loadRSVP(ctx, st)
}

// loadRSVP fills in the person's current answer, the counts and their
// place in line.
func (n *Newsletter) loadRSVP(ctx context.Context, st *RSVPState) error {
	var err error
	if st.RSVP, err = n.db.GetRSVP(ctx, st.Event.ID, st.Supporter.ID); err != nil {
		return err
	}
	if st.Counts, err = n.db.CountAnswers(ctx, st.Event); err != nil {
		return err
	}
	if st.RSVP != nil && st.RSVP.Waiting {
		st.Position, err = n.db.WaitingPosition(ctx, st.Event.ID, st.Supporter.ID)
	}
	return err
}

// AnswerRSVPToken records the answer (with guests, for a yes) of the
// person an answer link names, to the event it names, through
// AnswerEvent (source "web": the places it frees are offered to the
// waiting list, whose notices are queued). It returns the state after
// the answer and what the answer did. Besides the errors of
// CheckRSVPToken, it returns an error wrapping crm.ErrEventClosed for a
// cancelled or started event, and a *crm.ValidationError on "guests" for
// a person holding a place who asks for more than the places left (they
// keep what they had) or for guests out of bounds, with the state before
// the answer in both cases.
func (n *Newsletter) AnswerRSVPToken(ctx context.Context, token string, answer crm.Answer, guests int) (*RSVPState, *crm.RSVPResult, error) {
	st, err := n.CheckRSVPToken(ctx, token)
	if err != nil {
		return st, nil, err
	}
	res, err := n.AnswerEvent(ctx, crm.RSVPRequest{Event: st.Event.Name, SupporterID: st.Supporter.ID,
		Answer: answer, Guests: guests, Source: crm.SourceWeb})
	if err != nil {
		// An erasure that committed since the check: the link is dead.
		return st, nil, erasedLink(err)
	}
	st.Event = res.Event
	if err := n.loadRSVP(ctx, st); err != nil {
		return nil, nil, fmt.Errorf("answer recorded, reading it back: %w", err)
	}
	return st, res, nil
}
