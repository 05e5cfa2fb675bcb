package jumpcloud

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrInsightsForbidden: the credential may not read Directory Insights.
var ErrInsightsForbidden = errors.New("jumpcloud: directory insights forbidden")

// InsightsEvent is one Directory Insights event, decoded leniently (unknown fields kept in Raw).
type InsightsEvent struct {
	ID          string
	EventType   string
	Service     string
	Timestamp   time.Time
	Resource    InsightsResource
	Changes     []InsightsChange
	Association *InsightsAssociation
	Raw         json.RawMessage
}

// InsightsResource is an event's resource.
type InsightsResource struct{ ID, Type, Username, Email, Name string }

// InsightsChange is one change of a user_update.
type InsightsChange struct {
	Field    string
	From, To json.RawMessage
}

// InsightsAssociation is the association of an association_change.
type InsightsAssociation struct{ Op, FromType, FromID, ToType, ToID string }

// InsightsQuery is one page's query.
type InsightsQuery struct {
	StartTime, EndTime time.Time
	Services           []string
	SearchAfter        json.RawMessage
	Limit              int
}

// InsightsPage is one page of events.
type InsightsPage struct {
	Events      []InsightsEvent
	SearchAfter json.RawMessage
}

// InsightsEvents reads one page of events.
func (c *Client) InsightsEvents(ctx context.Context, q InsightsQuery) (InsightsPage, error) {
	return InsightsPage{}, errors.New("jumpcloud: InsightsEvents: placeholder of the contract")
}
