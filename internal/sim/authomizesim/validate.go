package authomizesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks an ingestion request body for kind the way the real (FastAPI/pydantic v1)
// server does and returns nil or a *ValidationError listing every problem. It is exported so
// tests elsewhere (the transform, the activities) can check their output without a server.
func Validate(kind Kind, body []byte) error {
	_, probs := parseBody(kind, body)
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}

// parseBody decodes and validates a list body; on success it returns the raw items.
func parseBody(kind Kind, body []byte) ([]json.RawMessage, []Problem) {
	fields, ok := schemas[kind]
	if !ok {
		return nil, []Problem{{Loc: []any{"path"}, Msg: "unknown kind " + string(kind), Type: "value_error"}}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, []Problem{missing("body")}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var anyv any
		if json.Unmarshal(body, &anyv) == nil {
			// Valid JSON but not an object.
			return nil, []Problem{{Loc: []any{"body"}, Msg: "value is not a valid dict", Type: "type_error.dict"}}
		}
		return nil, []Problem{{Loc: []any{"body", 0}, Msg: "JSON decode error: " + err.Error(), Type: "value_error.jsondecode"}}
	}
	rawData, ok := top["data"]
	if !ok || string(rawData) == "null" {
		if ok {
			return nil, []Problem{{Loc: []any{"body", "data"}, Msg: "none is not an allowed value", Type: "type_error.none.not_allowed"}}
		}
		return nil, []Problem{missing("body", "data")}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rawData, &items); err != nil {
		return nil, []Problem{{Loc: []any{"body", "data"}, Msg: "value is not a valid list", Type: "type_error.list"}}
	}
	if len(items) < 1 {
		return nil, []Problem{{Loc: []any{"body", "data"}, Msg: "ensure this value has at least 1 items", Type: "value_error.list.min_items", Ctx: map[string]any{"limit_value": 1}}}
	}
	if len(items) > MaxItems {
		return nil, []Problem{{Loc: []any{"body", "data"}, Msg: fmt.Sprintf("ensure this value has at most %d items", MaxItems), Type: "value_error.list.max_items", Ctx: map[string]any{"limit_value": MaxItems}}}
	}
	var probs []Problem
	for i, raw := range items {
		probs = append(probs, validateItem(fields, raw, []any{"body", "data", i})...)
	}
	return items, probs
}

func missing(loc ...any) Problem {
	return Problem{Loc: loc, Msg: "field required", Type: "value_error.missing"}
}

func at(base []any, more ...any) []any {
	out := make([]any, 0, len(base)+len(more))
	return append(append(out, base...), more...)
}

func decodeObject(raw json.RawMessage) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

func validateItem(fields []field, raw json.RawMessage, loc []any) []Problem {
	m, ok := decodeObject(raw)
	if !ok {
		return []Problem{{Loc: loc, Msg: "value is not a valid dict", Type: "type_error.dict"}}
	}
	var probs []Problem
	for _, f := range fields {
		v, present := m[f.name]
		floc := at(loc, f.name)
		if !present {
			if f.required {
				probs = append(probs, missing(floc...))
			}
			continue
		}
		if v == nil {
			// pydantic v1 accepts null for optional fields and rejects it for required ones.
			if f.required {
				probs = append(probs, Problem{Loc: floc, Msg: "none is not an allowed value", Type: "type_error.none.not_allowed"})
			}
			continue
		}
		probs = append(probs, checkField(f, v, floc)...)
	}
	return probs
}

func checkField(f field, v any, loc []any) []Problem {
	switch f.typ {
	case fString:
		s, ok := asString(v)
		if !ok {
			return []Problem{{Loc: loc, Msg: "str type expected", Type: "type_error.str"}}
		}
		return checkString(f, s, loc)
	case fBool:
		if !asBool(v) {
			return []Problem{{Loc: loc, Msg: "value could not be parsed to a boolean", Type: "type_error.bool"}}
		}
	case fDateTime:
		if !isDateTime(v) {
			return []Problem{{Loc: loc, Msg: "invalid datetime format", Type: "value_error.datetime"}}
		}
	case fStrings:
		list, ok := v.([]any)
		if !ok {
			return []Problem{{Loc: loc, Msg: "value is not a valid list", Type: "type_error.list"}}
		}
		var probs []Problem
		for j, it := range list {
			iloc := at(loc, j)
			if it == nil {
				probs = append(probs, Problem{Loc: iloc, Msg: "none is not an allowed value", Type: "type_error.none.not_allowed"})
				continue
			}
			s, ok := asString(it)
			if !ok {
				probs = append(probs, Problem{Loc: iloc, Msg: "str type expected", Type: "type_error.str"})
				continue
			}
			probs = append(probs, checkString(field{minLen: f.minLen}, s, iloc)...)
		}
		return probs
	case fCustomProps:
		list, ok := v.([]any)
		if !ok {
			return []Problem{{Loc: loc, Msg: "value is not a valid list", Type: "type_error.list"}}
		}
		var probs []Problem
		for j, it := range list {
			obj, ok := it.(map[string]any)
			if !ok {
				probs = append(probs, Problem{Loc: at(loc, j), Msg: "value is not a valid dict", Type: "type_error.dict"})
				continue
			}
			for _, cf := range []field{{name: "key", typ: fString, required: true}, {name: "value", typ: fString, required: true, maxLen: 64}} {
				cv, present := obj[cf.name]
				cloc := at(loc, j, cf.name)
				switch {
				case !present:
					probs = append(probs, missing(cloc...))
				case cv == nil:
					probs = append(probs, Problem{Loc: cloc, Msg: "none is not an allowed value", Type: "type_error.none.not_allowed"})
				default:
					probs = append(probs, checkField(cf, cv, cloc)...)
				}
			}
		}
		return probs
	}
	return nil
}

func checkString(f field, s string, loc []any) []Problem {
	// Python's len counts code points, which is what RuneCountInString counts.
	n := utf8.RuneCountInString(s)
	if f.minLen > 0 && n < f.minLen {
		return []Problem{{Loc: loc, Msg: fmt.Sprintf("ensure this value has at least %d characters", f.minLen), Type: "value_error.any_str.min_length", Ctx: map[string]any{"limit_value": f.minLen}}}
	}
	if f.maxLen > 0 && n > f.maxLen {
		return []Problem{{Loc: loc, Msg: fmt.Sprintf("ensure this value has at most %d characters", f.maxLen), Type: "value_error.any_str.max_length", Ctx: map[string]any{"limit_value": f.maxLen}}}
	}
	if f.enum != nil {
		for _, e := range f.enum {
			if s == e {
				return nil
			}
		}
		quoted := make([]string, len(f.enum))
		for i, e := range f.enum {
			quoted[i] = "'" + e + "'"
		}
		return []Problem{{Loc: loc, Msg: "value is not a valid enumeration member; permitted: " + strings.Join(quoted, ", "), Type: "type_error.enum", Ctx: map[string]any{"enum_values": f.enum}}}
	}
	return nil
}

// asString follows pydantic v1's str validator: strings pass, numbers (and, because Python's
// bool is an int, booleans) are coerced; lists and objects are rejected.
func asString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "True", true
		}
		return "False", true
	}
	return "", false
}

// asBool follows pydantic v1's bool validator, which accepts 0/1 and a set of words.
func asBool(v any) bool {
	switch t := v.(type) {
	case bool:
		return true
	case json.Number:
		return t.String() == "0" || t.String() == "1"
	case string:
		switch strings.ToLower(t) {
		case "0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes":
			return true
		}
	}
	return false
}

func isDateTime(v any) bool {
	switch t := v.(type) {
	case json.Number:
		return true // pydantic v1 reads numbers as Unix times
	case string:
		_, ok := ParseDateTime(t)
		return ok
	}
	return false
}

// datetimeRE is pydantic v1's datetime grammar: date, 'T' or space, time with optional
// seconds, fraction and zone. A missing zone means a naive time, which we read as UTC.
var datetimeRE = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d{0,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$`)

// ParseDateTime parses the date-time forms the server accepts (pydantic v1 grammar, or a
// Unix time in seconds); naive times are taken as UTC.
func ParseDateTime(s string) (time.Time, bool) {
	m := datetimeRE.FindStringSubmatch(s)
	if m == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			sec := int64(f)
			return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
		}
		return time.Time{}, false
	}
	num := func(x string) int { n, _ := strconv.Atoi(x); return n }
	year, month, day, hour, minute, sec := num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6])
	usec := 0
	if m[7] != "" {
		usec = num((m[7] + "000000")[:6])
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		digits := strings.ReplaceAll(z[1:], ":", "")
		off := num(digits[:2]) * 3600
		if len(digits) == 4 {
			off += num(digits[2:]) * 60
		}
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, loc)
	if t.Day() != day { // e.g. 31 February normalised into March
		return time.Time{}, false
	}
	return t.UTC(), true
}
