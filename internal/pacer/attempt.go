package pacer

import (
	"context"

	"jcsync/internal/httpretry"
)

// The request loop of the API clients takes the outcome of a paced attempt as an
// httpretry.Ticket.
var _ httpretry.Ticket = (*Ticket)(nil)

// Attempt is Wait for httpretry.Loop.Pace, which takes the ticket as an httpretry.Ticket.
func (p *Pacer) Attempt(ctx context.Context) (httpretry.Ticket, error) {
	t, err := p.Wait(ctx)
	if err != nil {
		return nil, err // a nil interface, not a nil *Ticket in one
	}
	return t, nil
}
