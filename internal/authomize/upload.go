package authomize

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// UploadResult summarises one Upload* call (all of its requests).
type UploadResult struct {
	Requests int // requests that succeeded
	Sent     int // items in those requests
	Accepted int // sum of numberOfAcceptedEntities
	// EarliestAccepted is the earliest acceptedTimestamp of this call; zero if none. The sweep
	// cutoff of a run is the minimum of this over every upload of the run.
	EarliestAccepted time.Time
	// MissingTimestamps counts responses that carried no acceptedTimestamp (optional in
	// Authomize's spec). What they wrote has no known time, so no cutoff can be trusted to
	// spare it: a run with any of them must not sweep.
	MissingTimestamps int
	// InvalidIDs are the referenced ids Authomize reported as unknown (invalidSourceIds /
	// invalidTargetIds for memberships; invalidUserIds / GroupingIds / AssetIds /
	// PrivilegeIds for permissions; invalidOwnerIds for groupings and assets), deduplicated.
	InvalidIDs []string
}

// uploadResponse covers every ingestion answer shape of spec 4.6.8.
type uploadResponse struct {
	AcceptedTimestamp        string          `json:"acceptedTimestamp"`
	RequestID                string          `json:"requestId"`
	NumberOfAcceptedEntities *int            `json:"numberOfAcceptedEntities"`
	Data                     json.RawMessage `json:"data"`
	InvalidOwnerIDs          []string        `json:"invalidOwnerIds"`
}

type invalidRefs struct {
	InvalidSourceIDs    []string `json:"invalidSourceIds"`
	InvalidTargetIDs    []string `json:"invalidTargetIds"`
	InvalidUserIDs      []string `json:"invalidUserIds"`
	InvalidGroupingIDs  []string `json:"invalidGroupingIds"`
	InvalidAssetIDs     []string `json:"invalidAssetIds"`
	InvalidPrivilegeIDs []string `json:"invalidPrivilegeIds"`
}

// UploadUsers upserts app accounts (POST /v2/apps/{appId}/accounts/users).
func (c *Client) UploadUsers(ctx context.Context, items []User) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/accounts/users", items, func(u User) string { return u.UniqueID })
}

// Keep is the body of a PATCH that names a record and changes nothing of it.
type Keep struct {
	UniqueID string `json:"uniqueId"`
}

// KeepUsers refreshes accounts Authomize already holds without changing them
// (PATCH /v2/apps/{appId}/accounts/users with only uniqueId, the one field the update schema
// requires): a record that exists in JumpCloud but could not be read this time keeps its
// earlier copy, and the sweep spares it. That an accepted PATCH stamps the record's
// modification time as a POST does is inferred from the API's notes, not documented; a
// uniqueId Authomize does not hold is not counted as accepted (the simulator creates
// nothing for it), so Accepted tells how many earlier copies were kept.
func (c *Client) KeepUsers(ctx context.Context, ids []string) (UploadResult, error) {
	return upload(ctx, c, http.MethodPatch, "/accounts/users", keeps(ids), func(k Keep) string { return k.UniqueID })
}

// KeepIdentities is KeepUsers for identities (PATCH /v2/apps/{appId}/identities).
func (c *Client) KeepIdentities(ctx context.Context, ids []string) (UploadResult, error) {
	return upload(ctx, c, http.MethodPatch, "/identities", keeps(ids), func(k Keep) string { return k.UniqueID })
}

// StatusChange is the body of a PATCH that changes only an account's or identity's status.
type StatusChange struct {
	UniqueID string `json:"uniqueId"`
	Status   string `json:"status"`
}

// SetUserStatus changes only the status of accounts Authomize holds (PATCH
// /v2/apps/{appId}/accounts/users with uniqueId and status): a user deleted in JumpCloud
// shows as Deleted at once, without the sweep of a full sync. Every other field keeps the
// value of the last upload.
func (c *Client) SetUserStatus(ctx context.Context, ids []string, status string) (UploadResult, error) {
	return upload(ctx, c, http.MethodPatch, "/accounts/users", statusChanges(ids, status), func(s StatusChange) string { return s.UniqueID })
}

// SetIdentityStatus is SetUserStatus for identities (PATCH /v2/apps/{appId}/identities).
func (c *Client) SetIdentityStatus(ctx context.Context, ids []string, status string) (UploadResult, error) {
	return upload(ctx, c, http.MethodPatch, "/identities", statusChanges(ids, status), func(s StatusChange) string { return s.UniqueID })
}

func statusChanges(ids []string, status string) []StatusChange {
	out := make([]StatusChange, len(ids))
	for i, id := range ids {
		out[i] = StatusChange{UniqueID: id, Status: status}
	}
	return out
}

func keeps(ids []string) []Keep {
	out := make([]Keep, len(ids))
	for i, id := range ids {
		out[i] = Keep{UniqueID: id}
	}
	return out
}

// UploadIdentities upserts people (POST /v2/apps/{appId}/identities).
func (c *Client) UploadIdentities(ctx context.Context, items []Identity) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/identities", items, func(i Identity) string { return i.UniqueID })
}

// UploadGroupings upserts groups and roles (POST /v2/apps/{appId}/access/grouping).
func (c *Client) UploadGroupings(ctx context.Context, items []Grouping) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/access/grouping", items, func(g Grouping) string { return g.UniqueID })
}

// UploadAccountAssociations upserts account → grouping memberships
// (POST /v2/apps/{appId}/association/accounts).
func (c *Client) UploadAccountAssociations(ctx context.Context, items []AccountAssociation) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/association/accounts", items, func(a AccountAssociation) string {
		return a.SourceID + "→" + a.TargetID
	})
}

// UploadPrivileges upserts privileges (POST /v2/apps/{appId}/privileges).
func (c *Client) UploadPrivileges(ctx context.Context, items []Privilege) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/privileges", items, func(p Privilege) string { return p.UniqueID })
}

// UploadPermissions upserts permissions (POST /v2/apps/{appId}/access/permissions).
func (c *Client) UploadPermissions(ctx context.Context, items []Permission) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/access/permissions", items, func(p Permission) string {
		return p.SourceType + ":" + p.SourceUniqueID + "/" + p.PrivilegeID + "@" + p.AssetID
	})
}

// UploadAssets upserts assets (POST /v2/apps/{appId}/assets).
func (c *Client) UploadAssets(ctx context.Context, items []Asset) (UploadResult, error) {
	return upload(ctx, c, http.MethodPost, "/assets", items, func(a Asset) string { return a.UniqueID })
}

// bodyOverhead is len(`{"data":[]}`); each item after the first adds a comma.
const bodyOverhead = len(`{"data":[]}`)

// upload encodes every item once, cuts the list into requests of at most batchSize items and
// maxBody bytes, and posts them in order. On error it returns what was accepted so far, so a
// caller can checkpoint progress.
func upload[T any](ctx context.Context, c *Client, method, suffix string, items []T, idOf func(T) string) (UploadResult, error) {
	var res UploadResult
	if len(items) == 0 {
		return res, nil
	}
	endpoint := "/v2/apps/{appId}" + suffix
	if c.appID == "" {
		return res, fmt.Errorf("authomize: %s %s: no app id configured", method, endpoint)
	}
	encoded := make([][]byte, len(items))
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return res, fmt.Errorf("authomize: %s %s: encoding item %d (%s): %w", method, endpoint, i, idOf(it), err)
		}
		if bodyOverhead+len(b) > c.maxBody {
			// Checked up front so a too-big item fails the call before anything is sent,
			// rather than after half the batches went through.
			return res, fmt.Errorf("authomize: %s %s: item %d (%s) is %d bytes encoded, over the %d-byte request limit: %w",
				method, endpoint, i, idOf(it), len(b), c.maxBody, ErrItemTooLarge)
		}
		encoded[i] = b
	}
	invalid := map[string]bool{}
	for start := 0; start < len(encoded); {
		end, size := start, bodyOverhead
		for end < len(encoded) && end-start < c.batchSize {
			add := len(encoded[end])
			if end > start {
				add++ // comma
			}
			if size+add > c.maxBody {
				break
			}
			size += add
			end++
		}
		var buf bytes.Buffer
		buf.Grow(size)
		buf.WriteString(`{"data":[`)
		for i := start; i < end; i++ {
			if i > start {
				buf.WriteByte(',')
			}
			buf.Write(encoded[i])
		}
		buf.WriteString(`]}`)

		cl, err := c.appCall(method, suffix, buf.Bytes())
		if err != nil {
			return res, err
		}
		var resp uploadResponse
		if err := c.do(ctx, cl, &resp); err != nil {
			return res, fmt.Errorf("uploading items %d..%d of %d: %w", start, end-1, len(encoded), err)
		}
		res.Requests++
		res.Sent += end - start
		if resp.NumberOfAcceptedEntities != nil {
			res.Accepted += *resp.NumberOfAcceptedEntities
		}
		if resp.AcceptedTimestamp == "" {
			res.MissingTimestamps++
		} else {
			ts, err := ParseTimestamp(resp.AcceptedTimestamp)
			if err != nil {
				// Without it the sweep cutoff would be wrong; better to fail the stage.
				return res, fmt.Errorf("authomize: %s %s: %w", method, endpoint, err)
			}
			if res.EarliestAccepted.IsZero() || ts.Before(res.EarliestAccepted) {
				res.EarliestAccepted = ts
			}
		}
		addIDs := func(ids []string) {
			for _, id := range ids {
				if !invalid[id] {
					invalid[id] = true
					res.InvalidIDs = append(res.InvalidIDs, id)
				}
			}
		}
		addIDs(resp.InvalidOwnerIDs)
		var refs invalidRefs
		if len(resp.Data) > 0 && json.Unmarshal(resp.Data, &refs) == nil {
			for _, l := range [][]string{refs.InvalidSourceIDs, refs.InvalidTargetIDs, refs.InvalidUserIDs,
				refs.InvalidGroupingIDs, refs.InvalidAssetIDs, refs.InvalidPrivilegeIDs} {
				addIDs(l)
			}
		}
		start = end
	}
	return res, nil
}

// ParseTimestamp reads an acceptedTimestamp in the forms Authomize sends: Python isoformat
// with an offset ("2024-01-10T08:46:49.123456+00:00"), with "Z", or naive (taken as UTC, which
// is what the server means). The result is in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02 15:04:05.999999999Z07:00",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised acceptedTimestamp %q", s)
}
