package jumpcloud

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
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
	// name is the record's kind in the reasons of its fields ("user.mfa: wrong type").
	name string
	// lenient says a record that does not decode is decoded again field by field (see
	// decodeFields); identity lists the fields whose wrong type still leaves the record out.
	lenient  bool
	identity map[string]bool
	// names, when set, are fields of which one must give the record a name: a record that
	// sent one of them with the wrong type and has a usable one in none is left out.
	names []string
}

func newKind(name, idField string) kind {
	return kind{undecodable: name + ": undecodable record", missingID: name + ": missing " + idField,
		duplicate: name + ": duplicate " + idField, idField: idField, name: name}
}

// withIdentity makes k lenient: a wrong type in any field but these is left out of the record
// and counted, and the record kept.
func (k kind) withIdentity(fields ...string) kind {
	k.lenient = true
	k.identity = map[string]bool{k.idField: true}
	for _, f := range fields {
		k.identity[f] = true
	}
	return k
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

// The fields that say what a record is, or whether the person may sign in: a wrong type in
// one of them leaves the record out (a user without a usable state could be shown active
// when JumpCloud suspended them; one without a usable email or username may be shown as
// somebody else). A wrong type in any other field only costs that field. Admins are known by
// their email (their sign-in name) and suspended says whether they may sign in; their roles
// are lenient, roleName and roleNames each give roles on their own. An app is named by the
// first usable one of displayLabel, displayName and name.
var (
	kindUser       = newKind("user", "_id").withIdentity("email", "username", "state", "suspended", "account_locked", "activated")
	kindAdmin      = newKind("admin", "_id").withIdentity("email", "suspended")
	kindApp        = withNames(newKind("app", "_id").withIdentity(), "displayLabel", "displayName", "name")
	kindRadius     = newKind("radius server", "_id")
	kindGroup      = newKind("group", "id").withIdentity("name")
	kindLDAP       = newKind("ldap server", "id")
	kindMembership = kind{undecodable: "membership: undecodable record", missingID: "membership: missing member id", duplicate: "membership: duplicate", idField: "to", edge: true}
	kindBinding    = kind{undecodable: "binding: undecodable record", missingID: "binding: missing target id", duplicate: "binding: duplicate", idField: "to", edge: true}
)

func withNames(k kind, names ...string) kind {
	k.names = names
	return k
}

// modelFields maps the JSON names of a model's fields to their index, for decodeFields.
type modelFields struct {
	exact map[string]int
	fold  map[string]int // lower-cased names: encoding/json matches keys case-insensitively too
}

var modelFieldsCache sync.Map // reflect.Type → *modelFields

func fieldsOf(t reflect.Type) *modelFields {
	if v, ok := modelFieldsCache.Load(t); ok {
		return v.(*modelFields)
	}
	m := &modelFields{exact: map[string]int{}, fold: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		m.exact[name] = i
		if _, dup := m.fold[strings.ToLower(name)]; !dup {
			m.fold[strings.ToLower(name)] = i
		}
	}
	v, _ := modelFieldsCache.LoadOrStore(t, m)
	return v.(*modelFields)
}

// decodeFields decodes a record that did not decode as a whole one field at a time, as
// encoding/json would have (the same names, unknown fields ignored), and returns the JSON
// names of the fields whose value did not fit, sorted; those are left at their zero value.
// ok is false when the record is not a JSON object at all. It is the slow path, taken only
// by records that need it: a record that decodes costs nothing more.
func decodeFields(raw json.RawMessage, v reflect.Value) (wrong []string, ok bool) {
	var rec map[string]json.RawMessage
	if json.Unmarshal(raw, &rec) != nil || rec == nil {
		return nil, false
	}
	mf := fieldsOf(v.Type())
	v.SetZero()
	t := v.Type()
	for key, val := range rec {
		i, known := mf.exact[key]
		if !known {
			if i, known = mf.fold[strings.ToLower(key)]; !known {
				continue
			}
			// An exact match elsewhere in the record wins, as in encoding/json's lookup.
			if _, exact := rec[fieldName(t.Field(i))]; exact {
				continue
			}
		}
		f := v.Field(i)
		if err := json.Unmarshal(val, f.Addr().Interface()); err != nil {
			f.SetZero()
			wrong = append(wrong, fieldName(t.Field(i)))
		}
	}
	sort.Strings(wrong)
	return wrong, true
}

func fieldName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// lenientVerdict decides on a record decoded by decodeFields: the reason it is left out
// ("" when it is kept), and the reasons of the fields left out of a kept record.
func (k kind) lenientVerdict(wrong []string, named func(field string) bool) (skip string, adjusted []string) {
	for _, f := range wrong {
		if k.identity[f] {
			return k.name + "." + f + ": wrong type, " + k.name + " left out", nil
		}
	}
	if len(k.names) > 0 {
		bad, usable := false, false
		for _, n := range k.names {
			bad = bad || slices.Contains(wrong, n)
			usable = usable || named(n)
		}
		if bad && !usable {
			return k.name + ": no name of the right type, " + k.name + " left out", nil
		}
	}
	for _, f := range wrong {
		adjusted = append(adjusted, k.name+"."+f+": wrong type")
	}
	return "", adjusted
}

// fill decodes the page's records one by one into Items and counts those it leaves out in
// Skipped: a record that is not an object, one without a usable id, one whose identity (see
// kindUser) has the wrong type, and a repeat of an id already on the page. One such record
// must not cost the rest of the page, nor the stage: the records around it are good, and
// JumpCloud would send the same bad record on every retry. A wrong type in any other field
// (a number for employeeIdentifier, a string for mfa) costs only that field: it is left out
// of the record and counted in Adjusted, so a stray field never hides a person. An id is
// checked only within the page: consecutive pages overlap by one record on purpose.
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
			reason, adjusted := k.undecodable, []string(nil)
			if k.lenient {
				reason, adjusted = k.lenientDecode(raw, &it)
			}
			if reason != "" {
				key := k.keyOf(raw)
				p.Keys = append(p.Keys, key)
				if key != "" {
					p.Unreadable = append(p.Unreadable, key)
				}
				skip(reason)
				continue
			}
			if len(adjusted) > 0 && p.Adjusted == nil {
				p.Adjusted = map[string]int{}
			}
			for _, a := range adjusted {
				p.Adjusted[a]++
			}
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

// lenientDecode decodes a record that did not decode as a whole field by field into it, and
// says why it is left out ("" when it is kept) and what was left out of it. A record whose
// id has the wrong type (or that is no object) is undecodable: nothing names it.
func (k kind) lenientDecode(raw json.RawMessage, it any) (skip string, adjusted []string) {
	v := reflect.ValueOf(it).Elem()
	wrong, ok := decodeFields(raw, v)
	if !ok || slices.Contains(wrong, k.idField) {
		return k.undecodable, nil
	}
	mf := fieldsOf(v.Type())
	return k.lenientVerdict(wrong, func(field string) bool {
		i, ok := mf.exact[field]
		if !ok {
			return false
		}
		f := v.Field(i)
		return f.Kind() == reflect.String && strings.TrimSpace(f.String()) != ""
	})
}
