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
	// Adjusted counts the fields left out of records that are in Items, by reason: a field
	// of the wrong type that says neither what the record is nor whether it is active
	// ("user.employeeIdentifier: wrong type"). Nil when every record decoded whole.
	Adjusted map[string]int
	// Keys are the keys of every record JumpCloud sent, usable or not, in its order ("" for
	// a record whose id cannot be read): what a reader compares to tell whether two pages
	// overlap. A record that does not decode still names its place in the list.
	Keys []string
	// Unreadable are the ids of the records in Skipped that were left out although their id
	// could be read: objects that exist in JumpCloud but could not be synced.
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
