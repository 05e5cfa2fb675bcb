package jumpcloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// paging reads limit and skip with JumpCloud's defaults and bounds.
func (s *Server) paging(w http.ResponseWriter, r *http.Request) (limit, skip int, ok bool) {
	q := r.URL.Query()
	limit, skip = defaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: request parameter \"limit\" must be a non-negative integer"}`)
			return 0, 0, false
		}
		if n > maxPageLimit {
			s.writeRaw(w, r, http.StatusBadRequest, bodyLimitMax)
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: request parameter \"skip\" must be a non-negative integer"}`)
			return 0, 0, false
		}
		skip = n
	}
	return limit, skip, true
}

// fieldTable maps each field a list sorts and filters by to its value on one item. A field
// the table does not name reads as "", as an absent field does in JumpCloud's filters.
type fieldTable[T any] map[string]func(*T) string

// over is the table's field lookup for the items of one list.
func (t fieldTable[T]) over(items []T) func(i int, f string) string {
	return func(i int, f string) string {
		if get, ok := t[f]; ok {
			return get(&items[i])
		}
		return ""
	}
}

// noFields is the lookup of a list that takes sort and filter parameters but whose items
// have none of the fields asked for.
func noFields(int, string) string { return "" }

// list describes one list response.
type list struct {
	v1      bool
	n       int
	item    func(i int) any
	field   func(i int, f string) string // sortable fields; nil = endpoint takes no sort
	key     string                       // cache key of this collection (sort orders)
	defSort string
	id      string // path id, for the page counters
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, l list) {
	limit, skip, ok := s.paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var perm []int
	if l.field != nil {
		spec := q.Get("sort")
		if spec == "" {
			spec = l.defSort
		}
		if spec != "" {
			perm = s.sortOrder(l, spec)
		}
	}
	total := l.n
	if fs := q["filter"]; len(fs) > 0 {
		keep, ok := s.filter(w, r, l, fs)
		if !ok {
			return
		}
		if perm == nil {
			perm = identity(l.n)
		}
		filtered := make([]int, 0, len(perm))
		for _, i := range perm {
			if keep(i) {
				filtered = append(filtered, i)
			}
		}
		perm, total = filtered, len(filtered)
	}
	start := min(skip, total)
	end := min(total, start+limit)
	items := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		idx := i
		if perm != nil {
			idx = perm[i]
		}
		items = append(items, l.item(idx))
	}
	// Count the page before answering, for the same reason the recorder does.
	if st := state(r); !st.truncate && !st.malformed {
		sel := r.URL.Query()
		sel.Del("skip")
		s.cnt.page(PageKey{Endpoint: st.tmpl, ID: l.id, Skip: skip, Query: sel.Encode()})
	}
	if l.v1 {
		if fields := splitFields(q.Get("fields")); len(fields) > 0 {
			items = project(items, fields)
		}
		s.writeJSON(w, r, http.StatusOK, struct {
			TotalCount int   `json:"totalCount"`
			Results    []any `json:"results"`
		}{total, items})
	} else {
		w.Header().Set("x-total-count", strconv.Itoa(total))
		s.writeJSON(w, r, http.StatusOK, items)
	}
}

func identity(n int) []int {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	return perm
}

// filter parses `filter` parameters (ANDed): v1 takes `field:$op:value`, v2 `field:op:value`,
// with op eq or ne (the only ones the connector needs; others are refused rather than
// silently ignored, so a client relying on them would notice). Values are case-sensitive, as
// JumpCloud documents.
func (s *Server) filter(w http.ResponseWriter, r *http.Request, l list, specs []string) (func(i int) bool, bool) {
	if l.field == nil {
		s.writeJSON(w, r, http.StatusBadRequest, map[string]string{"message": "Bad Request: filtering is not supported on this endpoint"})
		return nil, false
	}
	type cond struct {
		field, value string
		neg          bool
	}
	var conds []cond
	for _, spec := range specs {
		parts := strings.SplitN(spec, ":", 3)
		op := ""
		if len(parts) == 3 {
			op = parts[1]
			if l.v1 {
				if !strings.HasPrefix(op, "$") {
					op = ""
				}
				op = strings.TrimPrefix(op, "$")
			}
		}
		if op != "eq" && op != "ne" {
			s.writeJSON(w, r, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("Bad Request: invalid filter %q", spec)})
			return nil, false
		}
		conds = append(conds, cond{field: parts[0], value: parts[2], neg: op == "ne"})
	}
	return func(i int) bool {
		for _, c := range conds {
			if (l.field(i, c.field) == c.value) == c.neg {
				return false
			}
		}
		return true
	}, true
}

// splitFields parses sort/fields lists: space-separated on v1, comma-separated on v2 (both
// accepted, since url-encoded spaces and commas are easy to mix up).
func splitFields(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}

// sortOrder returns the permutation for a sort spec, memoized until the next write.
func (s *Server) sortOrder(l list, spec string) []int {
	return s.cached("sort|"+l.key+"|"+spec, func() any {
		keys := splitFields(spec)
		perm := identity(l.n)
		slices.SortStableFunc(perm, func(a, b int) int {
			for _, k := range keys {
				desc := strings.HasPrefix(k, "-")
				k = strings.TrimPrefix(k, "-")
				c := strings.Compare(l.field(a, k), l.field(b, k))
				if desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
		return perm
	}).([]int)
}

// project keeps only the requested fields (and _id, which Mongo always returns).
func project(items []any, fields []string) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		b, _ := json.Marshal(it)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		p := map[string]json.RawMessage{}
		for _, f := range append(fields, "_id") {
			if v, ok := m[f]; ok {
				p[f] = v
			}
		}
		out = append(out, p)
	}
	return out
}
