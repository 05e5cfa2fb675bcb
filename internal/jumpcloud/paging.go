package jumpcloud

import (
	"context"
	"encoding/json"
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
	Items []T
	Skip  int
	Limit int
	// Total is totalCount (v1 body) or x-total-count (v2 header); -1 when JumpCloud sent none.
	Total int
}

// More reports whether another page may follow. A short page ends the list (JumpCloud's own
// SDK stops there); a known total ends it as soon as it is reached, which saves the extra
// empty request when the size is an exact multiple of the page size.
func (p Page[T]) More() bool {
	if len(p.Items) == 0 || len(p.Items) < p.Limit {
		return false
	}
	if p.Total >= 0 && p.Skip+len(p.Items) >= p.Total {
		return false
	}
	return true
}

// NextSkip is the offset of the page after this one.
func (p Page[T]) NextSkip() int { return p.Skip + len(p.Items) }

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
func v1Page[T any](ctx context.Context, c *Client, endpoint, path string, skip int) (Page[T], error) {
	return v1PageQuery[T](ctx, c, endpoint, path, c.pageQuery(skip, "_id"), skip)
}

// v1Projected fetches a v1 list page with only the fields the model T decodes (JumpCloud's
// documented `fields` projection). Most of a directory user's record (SSH keys, phone
// numbers, custom attributes) is never used; not transferring it halves the bytes to decode,
// the larger part of the worker's CPU on a big org. For SSO apps it also keeps the SAML
// configuration (certificates, private keys) from ever leaving JumpCloud, and for RADIUS
// servers their shared secret.
func v1Projected[T any](ctx context.Context, c *Client, endpoint, path string, skip int) (Page[T], error) {
	q := c.pageQuery(skip, "_id")
	q.Set("fields", jsonFields[T]())
	return v1PageQuery[T](ctx, c, endpoint, path, q, skip)
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
func v1PageQuery[T any](ctx context.Context, c *Client, endpoint, path string, q url.Values, skip int) (Page[T], error) {
	p := Page[T]{Skip: max(0, skip), Limit: c.pageSize, Total: -1}
	err := c.get(ctx, endpoint, path, q, func(_ http.Header, data []byte) error {
		var env struct {
			TotalCount *int `json:"totalCount"`
			Results    []T  `json:"results"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			return err
		}
		p.Items = env.Results
		if env.TotalCount != nil {
			p.Total = *env.TotalCount
		}
		return nil
	})
	if err != nil {
		return Page[T]{}, err
	}
	return p, nil
}

// v2Page fetches a v2 list page: a bare array, total in the x-total-count header.
func v2Page[T any](ctx context.Context, c *Client, endpoint, path string, skip int, sort string, extra url.Values) (Page[T], error) {
	p := Page[T]{Skip: max(0, skip), Limit: c.pageSize, Total: -1}
	q := c.pageQuery(skip, sort)
	for k, v := range extra {
		q[k] = v
	}
	err := c.get(ctx, endpoint, path, q, func(h http.Header, data []byte) error {
		var items []T
		if err := json.Unmarshal(data, &items); err != nil {
			return err
		}
		p.Items = items
		if n, err := strconv.Atoi(strings.TrimSpace(h.Get("x-total-count"))); err == nil && n >= 0 {
			p.Total = n
		}
		return nil
	})
	if err != nil {
		return Page[T]{}, err
	}
	return p, nil
}

// pathID escapes an object id for use as one path segment.
func pathID(id string) string { return url.PathEscape(id) }

// SystemUsersPage fetches directory users at offset skip (GET /api/systemusers).
func (c *Client) SystemUsersPage(ctx context.Context, skip int) (Page[SystemUser], error) {
	return v1Projected[SystemUser](ctx, c, "/api/systemusers", "/api/systemusers", skip)
}

// SystemUsersByEmail finds the directory users whose email is exactly email, with one
// filtered request (filter=email:$eq:<email>) instead of a walk over every user.
func (c *Client) SystemUsersByEmail(ctx context.Context, email string) ([]SystemUser, error) {
	q := c.pageQuery(0, "_id")
	q.Set("filter", "email:$eq:"+email)
	q.Set("fields", jsonFields[SystemUser]())
	p, err := v1PageQuery[SystemUser](ctx, c, "/api/systemusers", "/api/systemusers", q, 0)
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

// AdminsPage fetches console administrators at offset skip (GET /api/users).
func (c *Client) AdminsPage(ctx context.Context, skip int) (Page[Admin], error) {
	return v1Page[Admin](ctx, c, "/api/users", "/api/users", skip)
}

// ApplicationsPage fetches SSO applications at offset skip (GET /api/applications).
func (c *Client) ApplicationsPage(ctx context.Context, skip int) (Page[Application], error) {
	return v1Projected[Application](ctx, c, "/api/applications", "/api/applications", skip)
}

// RadiusServersPage fetches RADIUS servers at offset skip (GET /api/radiusservers).
func (c *Client) RadiusServersPage(ctx context.Context, skip int) (Page[RadiusServer], error) {
	return v1Projected[RadiusServer](ctx, c, "/api/radiusservers", "/api/radiusservers", skip)
}

// UserGroupsPage fetches user groups at offset skip (GET /api/v2/usergroups).
func (c *Client) UserGroupsPage(ctx context.Context, skip int) (Page[UserGroup], error) {
	return v2Page[UserGroup](ctx, c, "/api/v2/usergroups", "/api/v2/usergroups", skip, "id", nil)
}

// GroupMembersPage fetches a group's direct members (GET /api/v2/usergroups/{id}/members).
// The endpoint takes no sort; its order is stable by JumpCloud's storage.
func (c *Client) GroupMembersPage(ctx context.Context, groupID string, skip int) (Page[GraphConnection], error) {
	return v2Page[GraphConnection](ctx, c, "/api/v2/usergroups/{id}/members",
		"/api/v2/usergroups/"+pathID(groupID)+"/members", skip, "", nil)
}

// GroupMembershipPage fetches a group's traversed user members
// (GET /api/v2/usergroups/{id}/membership).
func (c *Client) GroupMembershipPage(ctx context.Context, groupID string, skip int) (Page[GraphObjectWithPaths], error) {
	return v2Page[GraphObjectWithPaths](ctx, c, "/api/v2/usergroups/{id}/membership",
		"/api/v2/usergroups/"+pathID(groupID)+"/membership", skip, "id", nil)
}

// AppAssociationsPage fetches an app's direct bindings of one target type, GraphUser or
// GraphUserGroup (GET /api/v2/applications/{id}/associations?targets=...).
func (c *Client) AppAssociationsPage(ctx context.Context, appID, target string, skip int) (Page[GraphConnection], error) {
	if target == "" {
		return Page[GraphConnection]{}, &configError{"AppAssociationsPage: target is required"}
	}
	return v2Page[GraphConnection](ctx, c, "/api/v2/applications/{id}/associations",
		"/api/v2/applications/"+pathID(appID)+"/associations", skip, "", url.Values{"targets": {target}})
}

// AppUsersPage fetches every user who can reach an app, directly or through groups
// (GET /api/v2/applications/{id}/users). A one-edge path is a direct binding.
func (c *Client) AppUsersPage(ctx context.Context, appID string, skip int) (Page[GraphObjectWithPaths], error) {
	return v2Page[GraphObjectWithPaths](ctx, c, "/api/v2/applications/{id}/users",
		"/api/v2/applications/"+pathID(appID)+"/users", skip, "", nil)
}

// AppUserGroupsPage fetches the groups bound to an app (GET /api/v2/applications/{id}/usergroups).
func (c *Client) AppUserGroupsPage(ctx context.Context, appID string, skip int) (Page[GraphObjectWithPaths], error) {
	return v2Page[GraphObjectWithPaths](ctx, c, "/api/v2/applications/{id}/usergroups",
		"/api/v2/applications/"+pathID(appID)+"/usergroups", skip, "", nil)
}

// LDAPServersPage fetches LDAP servers at offset skip (GET /api/v2/ldapservers). Read only to
// count what is skipped: LDAP never reaches Authomize.
func (c *Client) LDAPServersPage(ctx context.Context, skip int) (Page[LDAPServer], error) {
	return v2Page[LDAPServer](ctx, c, "/api/v2/ldapservers", "/api/v2/ldapservers", skip, "id", nil)
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
