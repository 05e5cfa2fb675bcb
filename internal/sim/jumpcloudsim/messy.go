package jumpcloudsim

import (
	"encoding/json"
	"strings"
)

// Records JumpCloud sends that do not fit. Org.Odd replaces fields of the served JSON of an
// object with values of the wrong type (a number for employeeIdentifier, a string for mfa, an
// object for displayLabel), which the typed org cannot hold. The connector leaves such a
// field out and keeps the record, unless the field says what the record is or whether it is
// active; then the record is left out. Expected applies that rule from the simulator's own
// lists below, so the two sides check each other.

// identityFields are, per kind, the fields whose wrong type leaves the record out.
var identityFields = map[string][]string{
	"user":  {"_id", "email", "username", "state", "suspended", "account_locked", "activated"},
	"admin": {"_id", "email", "suspended"},
	"group": {"id", "name"},
	"app":   {"_id"},
}

// appNameFields name an app, in order; an app is left out when one of them is odd and none
// gives a name.
var appNameFields = []string{"displayLabel", "displayName", "name"}

// SetOdd serves field of the object id as the raw JSON value (meant to be of the wrong type).
func (o *Org) SetOdd(id, field, raw string) {
	if o.Odd == nil {
		o.Odd = map[string]map[string]json.RawMessage{}
	}
	if o.Odd[id] == nil {
		o.Odd[id] = map[string]json.RawMessage{}
	}
	o.Odd[id][field] = json.RawMessage(raw)
}

// withOdd is item as served, with the odd fields of id in place of its own.
func (o *Org) withOdd(id string, item any) any {
	odd := o.Odd[id]
	if len(odd) == 0 {
		return item
	}
	b, err := json.Marshal(item)
	if err != nil {
		return item
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return item
	}
	for k, v := range odd {
		m[k] = v
	}
	return m
}

// leftOut reports whether the connector must leave out the object id of kind.
func (o *Org) leftOut(kind, id string) bool {
	odd := o.Odd[id]
	if len(odd) == 0 {
		return false
	}
	for _, f := range identityFields[kind] {
		if _, ok := odd[f]; ok {
			return true
		}
	}
	if kind != "app" {
		return false
	}
	a, ok := o.App(id)
	if !ok {
		return false
	}
	values := map[string]string{"displayLabel": a.DisplayLabel, "displayName": a.DisplayName, "name": a.Name}
	anyOdd := false
	for _, f := range appNameFields {
		if _, bad := odd[f]; bad {
			anyOdd = true
			continue
		}
		if strings.TrimSpace(values[f]) != "" {
			return false
		}
	}
	return anyOdd
}

// makeMessy gives n objects of each messy sort odd fields, at fixed places so that every
// sort exists in a small org: users with a numeric employeeIdentifier or a string for mfa
// (kept without the field), users with an object for email or a number for state (left out),
// apps with an object for displayLabel whose displayName names them (kept), and admins with
// a string for enableMultiFactor (kept).
func makeMessy(o *Org, n int) {
	for j := range n {
		if i := 10 + 6*j; i+3 < len(o.Users) {
			o.SetOdd(o.Users[i].ID, "employeeIdentifier", `100234`)
			o.SetOdd(o.Users[i+1].ID, "mfa", `"enabled"`)
			o.SetOdd(o.Users[i+2].ID, "email", `{"primary":"x@example.com"}`)
			o.SetOdd(o.Users[i+3].ID, "state", `3`)
		}
		if j < len(o.Apps) && strings.TrimSpace(o.Apps[j].DisplayName) != "" {
			o.SetOdd(o.Apps[j].ID, "displayLabel", `{"en":"`+o.Apps[j].DisplayName+`"}`)
		}
		if j < len(o.Admins) {
			o.SetOdd(o.Admins[j].ID, "enableMultiFactor", `"yes"`)
		}
	}
}
