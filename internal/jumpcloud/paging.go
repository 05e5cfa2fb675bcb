package jumpcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Page is one page of a list endpoint, fetched at offset Skip.
type Page[T any] struct {
	// Items are the page's usable records, in JumpCloud's order.
	Items []T
	// Skipped counts the records of the page that are not in Items, by reason: the kind of
	// record and what was wrong with it ("user: undecodable record", "group: missing id",
	// "membership: duplicate"). A reason never holds any of the record's content, so it can
	// go into logs and results as it is. Nil when every record was usable.
	Skipped map[string]int
	// Keys are the keys of every record JumpCloud sent, usable or not, in its order ("" for
	// a record whose id cannot be read): what a reader compares to tell whether two pages
	// overlap. A record that does not decode still names its place in the list.
	Keys []string
	// Unreadable are the ids of the records in Skipped that did not decode although their
	// id could be read: objects that exist in JumpCloud but could not be synced.
	Unreadable []string
	Skip       int
	Limit      int
	// Total is totalCount (v1 body) or x-total-count (v2 header); -1 when JumpCloud sent none.
	Total int
}

// Received is the number of records JumpCloud sent on the page, usable or not. Offsets
// count every record JumpCloud holds, so paging goes by Received, never by len(Items): a
// full page with one bad record is still a full page.
func (p Page[T]) Received() int {
	n := len(p.Items)
	for _, c := range p.Skipped {
		n += c
	}
	return n
}

// More reports whether another page may follow. A short page ends the list (JumpCloud's own
// SDK stops there); a known total ends it as soon as it is reached, which saves the extra
// empty request when the size is an exact multiple of the page size.
func (p Page[T]) More() bool {
	n := p.Received()
	if n == 0 || n < p.Limit {
		return false
	}
	if p.Total >= 0 && p.Skip+n >= p.Total {
		return false
	}
	return true
}

// NextSkip is the offset of the page after this one.
func (p Page[T]) NextSkip() int { return p.Skip + p.Received() }

// Walk fetches pages from offset 0 until the last one, handing each to fn. It stops at the
// first error from fetch or fn.
func Walk[T any](ctx context.Context, fetch func(ctx context.Context, skip int) (Page[T], error), fn func(Page[T]) error) error {
	skip := 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("walk at skip %d: %w", skip, err)
		}
		p, err := fetch(ctx, skip)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if !p.More() {
			return nil
		}
		skip = p.NextSkip()
	}
}

// collect walks every page into one slice (for small lists and tests).
func collect[T any](ctx context.Context, fetch func(ctx context.Context, skip int) (Page[T], error)) ([]T, error) {
	var all []T
	err := Walk(ctx, fetch, func(p Page[T]) error {
		all = append(all, p.Items...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// pageQuery builds limit/skip and, where the endpoint supports it, a sort that makes offset
// paging stable (JumpCloud recommends sorting by id whenever paging with skip).
func (c *Client) pageQuery(skip int, sort string) url.Values {
	q := url.Values{"limit": {strconv.Itoa(c.pageSize)}, "skip": {strconv.Itoa(max(0, skip))}}
	if sort != "" {
		q.Set("sort", sort)
	}
	return q
}

// v1Page fetches a v1 list page: body {totalCount, results}.
func v1Page[T record](ctx context.Context, c *Client, k kind, endpoint, path string, skip int) (Page[T], error) {
	return v1PageQuery[T](ctx, c, k, endpoint, path, c.pageQuery(skip, "_id"), skip)
}

// v1Projected fetches a v1 list page with only the fields the model T decodes (JumpCloud's
// documented `fields` projection). Most of a directory user's record (SSH keys, phone
// numbers, custom attributes) is never used; not transferring it halves the bytes to decode,
// the larger part of the worker's CPU on a big org. For SSO apps it also keeps the SAML
// configuration (certificates, private keys) from ever leaving JumpCloud, and for RADIUS
// servers their shared secret.
func v1Projected[T record](ctx context.Context, c *Client, k kind, endpoint, path string, skip int) (Page[T], error) {
	q := c.pageQuery(skip, "_id")
	q.Set("fields", jsonFields[T]())
	return v1PageQuery[T](ctx, c, k, endpoint, path, q, skip)
}

var fieldsCache sync.Map // reflect.Type → string

// jsonFields lists the JSON names of T's fields, space-separated: the model is the one
// place that says what the connector reads.
func jsonFields[T any]() string {
	t := reflect.TypeFor[T]()
	if v, ok := fieldsCache.Load(t); ok {
		return v.(string)
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	v := strings.Join(names, " ")
	fieldsCache.Store(t, v)
	return v
}

// v1PageQuery fetches a v1 list page with an explicit query (paging, sort and filters).
func v1PageQuery[T record](ctx context.Context, c *Client, k kind, endpoint, path string, q url.Values, skip int) (Page[T], error) {
	p := Page[T]{Skip: max(0, skip), Limit: c.pageSize, Total: -1}
	err := c.get(ctx, endpoint, path, q, func(_ http.Header, data []byte) error {
		var env struct {
			TotalCount json.RawMessage `json:"totalCount"`
			Results    json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			return shapeErr(err, "the body is not an object")
		}
		if isNull(env.Results) {
			return errors.New("the body has no results list")
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(env.Results, &raws); err != nil {
			return shapeErr(err, "the results are not a list")
		}
		if !isNull(env.TotalCount) {
			var n int
			if err := json.Unmarshal(env.TotalCount, &n); err != nil {
				return shapeErr(err, "totalCount is not a whole number")
			}
			p.Total = n
		}
		return fill(&p, raws, k)
	})
	if err != nil {
		return Page[T]{}, err
	}
	return p, nil
}

// v2Page fetches a v2 list page: a bare array, total in the x-total-count header.
func v2Page[T record](ctx context.Context, c *Client, k kind, endpoint, path string, skip int, sort string, extra url.Values) (Page[T], error) {
	p := Page[T]{Skip: max(0, skip), Limit: c.pageSize, Total: -1}
	q := c.pageQuery(skip, sort)
	for name, vals := range extra {
		q[name] = vals
	}
	err := c.get(ctx, endpoint, path, q, func(h http.Header, data []byte) error {
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil {
			return shapeErr(err, "the body is not a list")
		}
		// An empty list is [], and null is not a list: reading it as one would make an
		// unreadable answer look like an empty group.
		if raws == nil {
			return errors.New("the body is null, not a list")
		}
		if n, err := strconv.Atoi(strings.TrimSpace(h.Get("x-total-count"))); err == nil && n >= 0 {
			p.Total = n
		}
		return fill(&p, raws, k)
	})
	if err != nil {
		return Page[T]{}, err
	}
	return p, nil
}

// isNull reports a JSON value that is absent or null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// shapeErr reports a body that is valid JSON of the wrong shape as msg, which says what is
// wrong better than the decoder's Go type names. Invalid JSON is returned as it is: the
// caller retries a *json.SyntaxError (typically a body cut short), never a wrong shape.
func shapeErr(err error, msg string) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return err
	}
	return errors.New(msg)
}

// ---- records ----

// record is a list item: each model says which id a usable record carries and what makes two
// records of one page the same one.
type record interface {
	// recordID is the id the mapping keys the record by; blank means it has none.
	recordID() string
	// recordKey identifies the record within its page, for duplicates.
	recordKey() string
}

func (u SystemUser) recordID() string            { return u.ID }
func (u SystemUser) recordKey() string           { return u.ID }
func (a Admin) recordID() string                 { return a.ID }
func (a Admin) recordKey() string                { return a.ID }
func (a Application) recordID() string           { return a.ID }
func (a Application) recordKey() string          { return a.ID }
func (r RadiusServer) recordID() string          { return r.ID }
func (r RadiusServer) recordKey() string         { return r.ID }
func (g UserGroup) recordID() string             { return g.ID }
func (g UserGroup) recordKey() string            { return g.ID }
func (l LDAPServer) recordID() string            { return l.ID }
func (l LDAPServer) recordKey() string           { return l.ID }
func (g GraphObjectWithPaths) recordID() string  { return g.ID }
func (g GraphObjectWithPaths) recordKey() string { return g.ID }

// An edge is its target, keyed by type and id as the stage reader keys it.
func (e GraphConnection) recordID() string  { return e.To.ID }
func (e GraphConnection) recordKey() string { return e.To.Type + ":" + e.To.ID }

// kind names the records of one endpoint in skip reasons. Where the transform checks the
// same thing it uses the same words ("user: missing _id", "group: duplicate id",
// "membership: duplicate"), so a stage's report counts one cause under one reason whichever
// layer caught it.
type kind struct {
	undecodable, missingID, duplicate string
	// idField is the record's id field; edge says the record is a graph edge, keyed by
	// its target.
	idField string
	edge    bool
}

func newKind(name, idField string) kind {
	return kind{name + ": undecodable record", name + ": missing " + idField, name + ": duplicate " + idField, idField, false}
}

// keyOf reads the key of a record that does not decode as its model, when the id itself is
// readable (a wrong type elsewhere in the record).
func (k kind) keyOf(raw json.RawMessage) string {
	var rec map[string]json.RawMessage
	if json.Unmarshal(raw, &rec) != nil {
		return ""
	}
	if k.edge {
		var to GraphObject
		if json.Unmarshal(rec["to"], &to) != nil || strings.TrimSpace(to.ID) == "" {
			return ""
		}
		return to.Type + ":" + to.ID
	}
	var id string
	if json.Unmarshal(rec[k.idField], &id) != nil {
		return ""
	}
	return id
}

var (
	kindUser       = newKind("user", "_id")
	kindAdmin      = newKind("admin", "_id")
	kindApp        = newKind("app", "_id")
	kindRadius     = newKind("radius server", "_id")
	kindGroup      = newKind("group", "id")
	kindLDAP       = newKind("ldap server", "id")
	kindTraversal  = newKind("group member", "id")
	kindAppUser    = newKind("app user", "id")
	kindAppGroup   = newKind("app group", "id")
	kindMembership = kind{"membership: undecodable record", "membership: missing member id", "membership: duplicate", "to", true}
	kindBinding    = kind{"binding: undecodable record", "binding: missing target id", "binding: duplicate", "to", true}
)

// fill decodes the page's records one by one into Items and counts those it leaves out in
// Skipped: a record that does not fit T (a number where a string is expected, an object
// where a list is), one without an id, and a repeat of an id already on the page. One such
// record must not cost the rest of the page, nor the stage: the records around it are good,
// and JumpCloud would send the same bad record on every retry. An id is checked only
// within the page: consecutive pages overlap by one record on purpose.
//
// More records than the page's limit is an error instead: such an answer is not the page
// that was asked for (a proxy's rewrite, a server ignoring limit), and offsets computed from
// it would be wrong.
func fill[T record](p *Page[T], raws []json.RawMessage, k kind) error {
	if len(raws) > p.Limit {
		return fmt.Errorf("%d records on a page of limit %d: %w", len(raws), p.Limit, errNotAPage)
	}
	p.Items = make([]T, 0, len(raws))
	p.Keys = make([]string, 0, len(raws))
	seen := make(map[string]struct{}, len(raws))
	skip := func(reason string) {
		if p.Skipped == nil {
			p.Skipped = map[string]int{}
		}
		p.Skipped[reason]++
	}
	for _, raw := range raws {
		var it T
		if err := json.Unmarshal(raw, &it); err != nil {
			key := k.keyOf(raw)
			p.Keys = append(p.Keys, key)
			if key != "" {
				p.Unreadable = append(p.Unreadable, key)
			}
			skip(k.undecodable)
			continue
		}
		// Blank counts as missing, as in the transform: a run of spaces is not an id.
		if strings.TrimSpace(it.recordID()) == "" {
			p.Keys = append(p.Keys, "")
			skip(k.missingID)
			continue
		}
		key := it.recordKey()
		p.Keys = append(p.Keys, key)
		if _, dup := seen[key]; dup {
			skip(k.duplicate)
			continue
		}
		seen[key] = struct{}{}
		p.Items = append(p.Items, it)
	}
	return nil
}

// pathID escapes an object id for use as one path segment.
func pathID(id string) string { return url.PathEscape(id) }

// SystemUsersPage fetches directory users at offset skip (GET /api/systemusers).
func (c *Client) SystemUsersPage(ctx context.Context, skip int) (Page[SystemUser], error) {
	return v1Projected[SystemUser](ctx, c, kindUser, "/api/systemusers", "/api/systemusers", skip)
}

// SystemUsersByEmail finds the directory users whose email is exactly email, with one
// filtered request (filter=email:$eq:<email>) instead of a walk over every user. A record
// the page checks leave out (see Page.Skipped) is not among them.
func (c *Client) SystemUsersByEmail(ctx context.Context, email string) ([]SystemUser, error) {
	q := c.pageQuery(0, "_id")
	q.Set("filter", "email:$eq:"+email)
	q.Set("fields", jsonFields[SystemUser]())
	p, err := v1PageQuery[SystemUser](ctx, c, kindUser, "/api/systemusers", "/api/systemusers", q, 0)
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

// AdminsPage fetches console administrators at offset skip (GET /api/users).
func (c *Client) AdminsPage(ctx context.Context, skip int) (Page[Admin], error) {
	return v1Page[Admin](ctx, c, kindAdmin, "/api/users", "/api/users", skip)
}

// ApplicationsPage fetches SSO applications at offset skip (GET /api/applications).
func (c *Client) ApplicationsPage(ctx context.Context, skip int) (Page[Application], error) {
	return v1Projected[Application](ctx, c, kindApp, "/api/applications", "/api/applications", skip)
}

// RadiusServersPage fetches RADIUS servers at offset skip (GET /api/radiusservers).
func (c *Client) RadiusServersPage(ctx context.Context, skip int) (Page[RadiusServer], error) {
	return v1Projected[RadiusServer](ctx, c, kindRadius, "/api/radiusservers", "/api/radiusservers", skip)
}

// UserGroupsPage fetches user groups at offset skip (GET /api/v2/usergroups).
func (c *Client) UserGroupsPage(ctx context.Context, skip int) (Page[UserGroup], error) {
	return v2Page[UserGroup](ctx, c, kindGroup, "/api/v2/usergroups", "/api/v2/usergroups", skip, "id", nil)
}

// GroupMembersPage fetches a group's direct members (GET /api/v2/usergroups/{id}/members).
// The endpoint takes no sort; its order is stable by JumpCloud's storage.
func (c *Client) GroupMembersPage(ctx context.Context, groupID string, skip int) (Page[GraphConnection], error) {
	return v2Page[GraphConnection](ctx, c, kindMembership, "/api/v2/usergroups/{id}/members",
		"/api/v2/usergroups/"+pathID(groupID)+"/members", skip, "", nil)
}

// GroupMembershipPage fetches a group's traversed user members
// (GET /api/v2/usergroups/{id}/membership).
func (c *Client) GroupMembershipPage(ctx context.Context, groupID string, skip int) (Page[GraphObjectWithPaths], error) {
	return v2Page[GraphObjectWithPaths](ctx, c, kindTraversal, "/api/v2/usergroups/{id}/membership",
		"/api/v2/usergroups/"+pathID(groupID)+"/membership", skip, "id", nil)
}

// AppAssociationsPage fetches an app's direct bindings of one target type, GraphUser or
// GraphUserGroup (GET /api/v2/applications/{id}/associations?targets=...).
func (c *Client) AppAssociationsPage(ctx context.Context, appID, target string, skip int) (Page[GraphConnection], error) {
	if target == "" {
		return Page[GraphConnection]{}, &configError{"AppAssociationsPage: target is required"}
	}
	return v2Page[GraphConnection](ctx, c, kindBinding, "/api/v2/applications/{id}/associations",
		"/api/v2/applications/"+pathID(appID)+"/associations", skip, "", url.Values{"targets": {target}})
}

// AppUsersPage fetches every user who can reach an app, directly or through groups
// (GET /api/v2/applications/{id}/users). A one-edge path is a direct binding.
func (c *Client) AppUsersPage(ctx context.Context, appID string, skip int) (Page[GraphObjectWithPaths], error) {
	return v2Page[GraphObjectWithPaths](ctx, c, kindAppUser, "/api/v2/applications/{id}/users",
		"/api/v2/applications/"+pathID(appID)+"/users", skip, "", nil)
}

// AppUserGroupsPage fetches the groups bound to an app (GET /api/v2/applications/{id}/usergroups).
func (c *Client) AppUserGroupsPage(ctx context.Context, appID string, skip int) (Page[GraphObjectWithPaths], error) {
	return v2Page[GraphObjectWithPaths](ctx, c, kindAppGroup, "/api/v2/applications/{id}/usergroups",
		"/api/v2/applications/"+pathID(appID)+"/usergroups", skip, "", nil)
}

// LDAPServersPage fetches LDAP servers at offset skip (GET /api/v2/ldapservers). Read only to
// count what is skipped: LDAP never reaches Authomize.
func (c *Client) LDAPServersPage(ctx context.Context, skip int) (Page[LDAPServer], error) {
	return v2Page[LDAPServer](ctx, c, kindLDAP, "/api/v2/ldapservers", "/api/v2/ldapservers", skip, "id", nil)
}

// AllSystemUsers reads every directory user. Memory grows with the org: stages use the page
// methods instead.
func (c *Client) AllSystemUsers(ctx context.Context) ([]SystemUser, error) {
	return collect(ctx, c.SystemUsersPage)
}

// AllAdmins reads every console administrator.
func (c *Client) AllAdmins(ctx context.Context) ([]Admin, error) { return collect(ctx, c.AdminsPage) }

// AllUserGroups reads every user group.
func (c *Client) AllUserGroups(ctx context.Context) ([]UserGroup, error) {
	return collect(ctx, c.UserGroupsPage)
}

// AllApplications reads every SSO application.
func (c *Client) AllApplications(ctx context.Context) ([]Application, error) {
	return collect(ctx, c.ApplicationsPage)
}
