package jumpcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

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

// AppAssociationsPage fetches an app's direct bindings of one target type, GraphUser or
// GraphUserGroup (GET /api/v2/applications/{id}/associations?targets=...).
func (c *Client) AppAssociationsPage(ctx context.Context, appID, target string, skip int) (Page[GraphConnection], error) {
	if target == "" {
		return Page[GraphConnection]{}, &configError{"AppAssociationsPage: target is required"}
	}
	return v2Page[GraphConnection](ctx, c, kindBinding, "/api/v2/applications/{id}/associations",
		"/api/v2/applications/"+pathID(appID)+"/associations", skip, "", url.Values{"targets": {target}})
}

// LDAPServersPage fetches LDAP servers at offset skip (GET /api/v2/ldapservers). Read only to
// count what is skipped: LDAP never reaches Authomize.
func (c *Client) LDAPServersPage(ctx context.Context, skip int) (Page[LDAPServer], error) {
	return v2Page[LDAPServer](ctx, c, kindLDAP, "/api/v2/ldapservers", "/api/v2/ldapservers", skip, "id", nil)
}

// AllAdmins reads every console administrator: a short list, which a check reads whole.
func (c *Client) AllAdmins(ctx context.Context) ([]Admin, error) {
	var all []Admin
	err := Walk(ctx, c.AdminsPage, func(p Page[Admin]) error {
		all = append(all, p.Items...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// UserGroupExists reports whether the user group id exists (GET /api/v2/usergroups/{id}):
// false only when JumpCloud answers 404. A member list that answers 404 is believed only
// once this says the group is gone.
func (c *Client) UserGroupExists(ctx context.Context, id string) (bool, error) {
	return c.exists(ctx, "/api/v2/usergroups/{id}", "/api/v2/usergroups/"+pathID(id), "id", "the body is not a user group")
}

// ApplicationExists reports whether the SSO application id exists (GET
// /api/applications/{id}): false only when JumpCloud answers 404. JumpCloud documents no
// field projection on this endpoint, so the answer carries the app's SAML configuration; only
// its id is decoded, and the rest is dropped with the body.
func (c *Client) ApplicationExists(ctx context.Context, id string) (bool, error) {
	return c.exists(ctx, "/api/applications/{id}", "/api/applications/"+pathID(id), "_id", "the body is not an application")
}

// exists GETs one object: true on a 2xx whose body is an object carrying the id field,
// false on a 404. Nothing but the id is decoded.
func (c *Client) exists(ctx context.Context, endpoint, path, idField, wrong string) (bool, error) {
	err := c.get(ctx, endpoint, path, nil, func(_ http.Header, data []byte) error {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return shapeErr(err, wrong)
		}
		if isNull(obj[idField]) {
			return errors.New(wrong + ": it has no " + idField)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	return true, nil
}

// SystemUserByID reads one directory user with one filtered request
// (filter=_id:$eq:<id>); found is false when JumpCloud no longer has it. A targeted update
// re-reads the record this way rather than trusting an event's copy.
func (c *Client) SystemUserByID(ctx context.Context, id string) (u SystemUser, found bool, err error) {
	q := c.pageQuery(0, "_id")
	q.Set("filter", "_id:$eq:"+id)
	q.Set("fields", jsonFields[SystemUser]())
	p, err := v1PageQuery[SystemUser](ctx, c, kindUser, "/api/systemusers", "/api/systemusers", q, 0)
	if err != nil || len(p.Items) == 0 {
		return SystemUser{}, false, err
	}
	return p.Items[0], true, nil
}

// UserGroupByID reads one user group with one filtered request (filter=id:eq:<id>); found
// is false when JumpCloud no longer has it.
func (c *Client) UserGroupByID(ctx context.Context, id string) (g UserGroup, found bool, err error) {
	p, err := v2Page[UserGroup](ctx, c, kindGroup, "/api/v2/usergroups", "/api/v2/usergroups", 0, "id", url.Values{"filter": {"id:eq:" + id}})
	if err != nil || len(p.Items) == 0 {
		return UserGroup{}, false, err
	}
	return p.Items[0], true, nil
}

// ApplicationByID reads one SSO application, projected as the list is, with one filtered
// request (filter=_id:$eq:<id>); found is false when JumpCloud no longer has it.
func (c *Client) ApplicationByID(ctx context.Context, id string) (a Application, found bool, err error) {
	q := c.pageQuery(0, "_id")
	q.Set("filter", "_id:$eq:"+id)
	q.Set("fields", jsonFields[Application]())
	p, err := v1PageQuery[Application](ctx, c, kindApp, "/api/applications", "/api/applications", q, 0)
	if err != nil || len(p.Items) == 0 {
		return Application{}, false, err
	}
	return p.Items[0], true, nil
}
