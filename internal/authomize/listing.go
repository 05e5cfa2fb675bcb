package authomize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// The GET listings (`GET /v2/apps/{appId}/<kind>`) answer {"data":[...]} with every record of
// the kind and no paging, so they are read as a stream: the connector only ever needs the
// first record (is the app empty?) or one small record among the assets.

// errStop ends a stream early without an error.
var errStop = errors.New("stop")

// eachRecord calls fn with every element of the listing's data array, until fn returns
// errStop.
func eachRecord(r io.Reader, fn func(raw json.RawMessage) error) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if key, _ := tok.(string); key != "data" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return err
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if err := fn(raw); errors.Is(err, errStop) {
				return nil
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("listing has no data array")
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("listing: want %q, got %v", want, tok)
	}
	return nil
}

// listing streams GET /v2/apps/{appId}<suffix> through fn.
func (c *Client) listing(ctx context.Context, suffix string, fn func(raw json.RawMessage) error) error {
	cl, err := c.appCall(http.MethodGet, suffix, nil)
	if err != nil {
		return err
	}
	cl.stream = func(r io.Reader) error { return eachRecord(r, fn) }
	return c.do(ctx, cl, nil)
}

// HasData reports whether the app holds any account, grouping or asset: the kinds every
// sync writes. It reads one record of each listing at most.
func (c *Client) HasData(ctx context.Context) (bool, error) {
	for _, suffix := range []string{"/accounts/users", "/access/grouping", "/assets"} {
		found := false
		err := c.listing(ctx, suffix, func(json.RawMessage) error {
			found = true
			return errStop
		})
		if err != nil {
			return false, fmt.Errorf("authomize: check whether the app holds data: %w", err)
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}

// FindAsset returns the app's asset whose uniqueId is id, if there is one.
func (c *Client) FindAsset(ctx context.Context, id string) (Asset, bool, error) {
	var out Asset
	found := false
	err := c.listing(ctx, "/assets", func(raw json.RawMessage) error {
		var head struct {
			UniqueID string `json:"uniqueId"`
		}
		if json.Unmarshal(raw, &head) != nil || head.UniqueID != id {
			return nil
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Errorf("asset %s: %w", id, err)
		}
		found = true
		return errStop
	})
	if err != nil {
		return Asset{}, false, fmt.Errorf("authomize: read asset %s: %w", id, err)
	}
	return out, found, nil
}
