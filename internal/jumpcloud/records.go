package jumpcloud

import (
	"encoding/json"
	"fmt"
	"strings"
)

// record is a list item: each model says which id a usable record carries and what makes two
// records of one page the same one.
type record interface {
	// recordID is the id the mapping keys the record by; blank means it has none.
	recordID() string
	// recordKey identifies the record within its page, for duplicates.
	recordKey() string
}

func (u SystemUser) recordID() string    { return u.ID }
func (u SystemUser) recordKey() string   { return u.ID }
func (a Admin) recordID() string         { return a.ID }
func (a Admin) recordKey() string        { return a.ID }
func (a Application) recordID() string   { return a.ID }
func (a Application) recordKey() string  { return a.ID }
func (r RadiusServer) recordID() string  { return r.ID }
func (r RadiusServer) recordKey() string { return r.ID }
func (g UserGroup) recordID() string     { return g.ID }
func (g UserGroup) recordKey() string    { return g.ID }
func (l LDAPServer) recordID() string    { return l.ID }
func (l LDAPServer) recordKey() string   { return l.ID }

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
