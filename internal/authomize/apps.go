package authomize

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Me checks the token (GET /me).
func (c *Client) Me(ctx context.Context) (Me, error) {
	var me Me
	err := c.do(ctx, call{method: http.MethodGet, endpoint: "/me", path: "/me", idempotent: true}, &me)
	return me, err
}

// App reads the configured app (GET /v2/apps/{appId}); ErrAppNotFound if it doesn't exist.
func (c *Client) App(ctx context.Context) (App, error) {
	cl, err := c.appCall(http.MethodGet, "", nil)
	if err != nil {
		return App{}, err
	}
	var a App
	err = c.do(ctx, cl, &a)
	return a, err
}

// CreateApp creates an app (POST /v2/apps). It is retried only on 429 (not processed), since
// a retry after an ambiguous failure could create a duplicate app.
func (c *Client) CreateApp(ctx context.Context, integrationName string) (App, error) {
	body, err := json.Marshal(map[string]string{"integrationName": integrationName})
	if err != nil {
		return App{}, fmt.Errorf("authomize: encoding app: %w", err)
	}
	var a App
	err = c.do(ctx, call{method: http.MethodPost, endpoint: "/v2/apps", path: "/v2/apps", body: body}, &a)
	return a, err
}

// RenameApp sets the configured app's name (PATCH /v2/apps/{appId}).
func (c *Client) RenameApp(ctx context.Context, name string) (App, error) {
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		return App{}, fmt.Errorf("authomize: encoding app name: %w", err)
	}
	cl, err := c.appCall(http.MethodPatch, "", body)
	if err != nil {
		return App{}, err
	}
	var a App
	err = c.do(ctx, cl, &a)
	return a, err
}

// ListApps returns every app of the tenant (GET /v2/apps, paged by limit/skip).
func (c *Client) ListApps(ctx context.Context) ([]App, error) {
	const pageSize = 100
	const maxPages = 10000 // a server that always says hasMore must not loop us forever
	var all []App
	for page := 0; page < maxPages; page++ {
		var resp struct {
			Pagination struct {
				Limit   int  `json:"limit"`
				Skip    int  `json:"skip"`
				Total   int  `json:"total"`
				HasMore bool `json:"hasMore"`
			} `json:"pagination"`
			Data []App `json:"data"`
		}
		q := url.Values{"limit": {strconv.Itoa(pageSize)}, "skip": {strconv.Itoa(len(all))}}
		if err := c.do(ctx, call{method: http.MethodGet, endpoint: "/v2/apps", path: "/v2/apps", query: q, idempotent: true}, &resp); err != nil {
			return all, err
		}
		all = append(all, resp.Data...)
		if !resp.Pagination.HasMore || len(resp.Data) == 0 {
			return all, nil
		}
	}
	return all, fmt.Errorf("authomize: GET /v2/apps: more than %d pages", maxPages)
}

// cutoffLayout is RFC 3339 with microseconds, the precision Authomize stamps records with.
const cutoffLayout = "2006-01-02T15:04:05.000000Z07:00"

// DeleteData removes the app's records last modified before modifiedBefore
// (DELETE /v2/apps/{appId}/data?modifiedBefore=…): the sweep after a full upload. A zero
// time is refused without a request, because omitting the cutoff wipes the whole app.
func (c *Client) DeleteData(ctx context.Context, modifiedBefore time.Time) error {
	if modifiedBefore.IsZero() {
		return fmt.Errorf("authomize: DELETE /v2/apps/{appId}/data: zero modifiedBefore: %w", ErrUnsafeSweep)
	}
	cl, err := c.appCall(http.MethodDelete, "/data", nil)
	if err != nil {
		return err
	}
	// Truncating (not rounding) to microseconds can only move the cutoff earlier, so it can
	// never delete a record stamped at the cutoff itself.
	cl.query = url.Values{"modifiedBefore": {modifiedBefore.UTC().Truncate(time.Microsecond).Format(cutoffLayout)}}
	return c.do(ctx, cl, &struct{}{})
}
