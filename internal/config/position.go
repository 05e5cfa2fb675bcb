package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Where the fields of a config file are. encoding/json reports an unknown field without its
// place, and the checks after decoding (a missing secret, a bad URL) know a field's path but
// not its line; so each integration is walked once, token by token, recording where every
// field's key (and every list element) starts, and refusing the first key its struct does not
// have, with its full path, its place and the closest known name.

// positions maps a field's full path ("integrations[0].jumpcloud.base_url") to the byte
// offset, in the file, of its key (of the value, for a list element).
type positions map[string]int64

// at is where path is written or, when it is not (a required field left out), where the
// nearest enclosing field is: the place to look, either way. ok is false when nothing of the
// path is in the file.
func (p positions) at(path string) (int64, bool) {
	for path != "" {
		if off, ok := p[path]; ok {
			return off, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0, false
}

// unknownFieldError is a key that its object's struct does not have.
type unknownFieldError struct {
	Path    string // the key's full path
	Key     string
	Offset  int64    // of the key, in the file
	Known   []string // the object's field names
	Suggest string   // the closest known name, if one is close
	Secret  bool     // the object is a secret reference
}

func (e *unknownFieldError) Error() string {
	msg := fmt.Sprintf("%s: unknown field %q", e.Path, e.Key)
	if e.Suggest != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggest)
	}
	if e.Secret {
		return msg + ": " + secretRefForm
	}
	return msg + "; known fields: " + strings.Join(e.Known, ", ")
}

// walker reads one JSON value of a config file, recording positions and refusing unknown keys.
type walker struct {
	dec  *json.Decoder
	data []byte // the value's bytes
	base int64  // the value's offset in the file
	pos  positions
}

// walkFields walks raw (a value of type t at offset base of the file, whose path is path),
// adding the positions of its fields to pos. Its error is an *unknownFieldError, or the
// decoder's for a malformed value (which the decoding that follows reports in full).
func walkFields(raw []byte, base int64, path string, t reflect.Type, pos positions) error {
	w := &walker{dec: json.NewDecoder(bytes.NewReader(raw)), data: raw, base: base, pos: pos}
	return w.value(path, t)
}

// next is where the walker's next token starts.
func (w *walker) next() int64 { return nextToken(w.data, w.dec.InputOffset()) }

// nextToken is where the token after offset off of data starts: past the whitespace, commas
// and colons a json.Decoder at off has not consumed yet.
func nextToken(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// value walks one value of type t (nil: any, unchecked).
func (w *walker) value(path string, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		fields := fieldsOf(t)
		for w.dec.More() {
			keyAt := w.base + w.next()
			tok, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			full := path + "." + key
			w.pos[full] = keyAt
			var ft reflect.Type
			if fields != nil {
				f, ok := lookupField(fields, key)
				if !ok {
					return &unknownFieldError{Path: full, Key: key, Offset: keyAt, Known: fields.names, Suggest: closest(key, fields.names), Secret: t == secretRefType}
				}
				ft = f
			} else if t != nil && t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := w.value(full, ft); err != nil {
				return err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			elem := fmt.Sprintf("%s[%d]", path, i)
			w.pos[elem] = w.base + w.next()
			if err := w.value(elem, et); err != nil {
				return err
			}
		}
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}

var secretRefType = reflect.TypeFor[SecretRef]()

// structFields are the JSON keys of a struct, in declaration order, with their types.
type structFields struct {
	names []string
	types []reflect.Type
}

// fieldsOf lists the keys of struct type t as encoding/json names them; nil when t is not a
// struct (its keys are not checked).
func fieldsOf(t reflect.Type) *structFields {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	fs := &structFields{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs.names = append(fs.names, name)
		fs.types = append(fs.types, f.Type)
	}
	return fs
}

// lookupField finds key as encoding/json does: the exact name first, else one that differs
// only in case. A key it accepts must never be refused here.
func lookupField(fs *structFields, key string) (reflect.Type, bool) {
	for i, n := range fs.names {
		if n == key {
			return fs.types[i], true
		}
	}
	for i, n := range fs.names {
		if strings.EqualFold(n, key) {
			return fs.types[i], true
		}
	}
	return nil, false
}

// closest is the known name nearest to key, when it is near enough to be a misspelling of it
// (a dropped or doubled letter, "-" or no separator for "_", two letters swapped), else "".
func closest(key string, known []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
	}
	k := norm(key)
	best, bestDist := "", 0
	for _, n := range known {
		d := editDistance(k, norm(n))
		if best == "" || d < bestDist {
			best, bestDist = n, d
		}
	}
	// Two edits at most, and fewer than a third of the key: "colour" is no "org_id".
	if best == "" || bestDist > 2 || bestDist*3 > utf8.RuneCountInString(k) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, counting a swap of neighbours as one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// place is "line L, column C" of a byte offset of data; the column counts characters.
func place(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	line := bytes.Count(data[:off], []byte("\n")) + 1
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return fmt.Sprintf("line %d, column %d", line, utf8.RuneCount(data[start:off])+1)
}

// secretRefForm says how a secret is written in the file.
const secretRefForm = `a secret reference is {"env": "VAR_NAME"} or {"file": "/path/to/file"}`
