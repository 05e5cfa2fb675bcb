package transform

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"jcsync/internal/authomize"
)

// Limits the transform enforces so that no single value can make Authomize answer 422 or
// push one item towards the 1 MB request limit. Lengths are in characters (runes), because
// Authomize validates with pydantic and Python counts code points, not bytes.
const (
	// maxPropertyValue is Authomize's limit on a custom property value.
	maxPropertyValue = 64
	// maxAlternativeName is Authomize's limit on alternativeName (groupings and campaigns).
	maxAlternativeName = 256
	// maxName caps names and other single-line free text. Authomize sets no limit, but a
	// runaway value must not make one item large enough to threaten the 1 MB request cap.
	maxName = 512
	// maxDescription caps user and identity descriptions, for the same reason.
	maxDescription = 1024
	// maxAssetDescription is what Authomize's asset schema text promises ("up to 512
	// characters") even though the schema itself declares no maxLength.
	maxAssetDescription = 512
	// maxEmail is the longest address a mail system accepts (64 local + '@' + 255 domain).
	// A longer value is not an address, and a truncated address would be a wrong one, so
	// longer values are dropped rather than cut.
	maxEmail = 320
	// maxURL caps links; longer ones are dropped rather than cut into a broken link.
	maxURL = 2048
	// maxID caps JumpCloud ids. Real ids are 24-character ObjectIds; an id cannot be
	// truncated (two records would collide and relations would point nowhere), so a record
	// whose id is longer is skipped.
	maxID = 256
)

// Tags put on what the transform emits (tags must be non-empty strings). Each item gets
// its own slice so that a caller editing one item's tags cannot change another's.
const (
	tagJumpCloud = "jumpcloud"
	tagAdmin     = "jumpcloud-admin"
)

func tags(t string) []string { return []string{t} }

// idStatus says why an id is unusable.
type idStatus int

const (
	idOK idStatus = iota
	idMissing
	idTooLong
)

// cleanID makes a JumpCloud id safe to use in a uniqueId. Ids are never trimmed or
// otherwise rewritten beyond what JSON encoding would do anyway (invalid UTF-8 becomes
// U+FFFD), so an id derived here matches the same id derived for a relation elsewhere.
// A blank id counts as missing: uniqueId must be non-empty and a run of spaces is not an id.
func cleanID(id string) (string, idStatus) {
	if strings.TrimSpace(id) == "" {
		return "", idMissing
	}
	if len(id) > maxID {
		return "", idTooLong
	}
	if !utf8.ValidString(id) {
		id = strings.ToValidUTF8(id, "\uFFFD")
	}
	return id, idOK
}

// skipReason is the Report key for a record skipped because of its id.
func skipReason(kind, idField string, st idStatus) string {
	if st == idTooLong {
		return kind + ": " + idField + " too long"
	}
	return kind + ": missing " + idField
}

// isControl reports a character that is removed from text. Control characters carry no
// meaning in names and break CSV exports and the UI on the Authomize side; tab, newline
// and carriage return are kept in multi-line text (descriptions), where they are layout.
func isControl(r rune, multiline bool) bool {
	if multiline && (r == '\t' || r == '\n' || r == '\r') {
		return false
	}
	return unicode.IsControl(r)
}

// cleanText makes a free-text value valid for Authomize: invalid UTF-8 is replaced with
// U+FFFD (pydantic rejects undecodable input, and replacing keeps the rest of the value),
// control characters are removed, surrounding white space is trimmed (not counted: it is
// cosmetic), and the value is cut to max characters on a rune boundary. Every change
// except trimming is counted under field.
func cleanText(s string, max int, multiline bool, field string, r *Report) string {
	if s == "" {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		r.Adjust(field + ": invalid UTF-8 replaced")
	}
	if strings.IndexFunc(s, func(c rune) bool { return isControl(c, multiline) }) >= 0 {
		s = strings.Map(func(c rune) rune {
			if isControl(c, multiline) {
				return -1
			}
			return c
		}, s)
		r.Adjust(field + ": control characters removed")
	}
	s = strings.TrimSpace(s)
	if max > 0 {
		if cut, ok := truncateRunes(s, max); ok {
			s = strings.TrimRightFunc(cut, unicode.IsSpace)
			r.Adjust(field + ": truncated to " + strconv.Itoa(max))
		}
	}
	return s
}

// name cleans a single-line value capped at maxName.
func name(s, field string, r *Report) string { return cleanText(s, maxName, false, field, r) }

// truncateRunes cuts s to at most max runes. It reports whether it cut anything.
func truncateRunes(s string, max int) (string, bool) {
	if len(s) <= max { // bytes ≥ runes, so this is the cheap common case
		return s, false
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i], true
		}
		n++
	}
	return s, false
}

// whole cleans a value that must not be cut (an email, a URL): it is cleaned like any
// text, and dropped (counted) when it is longer than max, because a truncated address or
// link would point somewhere else.
func whole(s string, max int, field string, r *Report) string {
	s = cleanText(s, 0, false, field, r)
	if utf8.RuneCountInString(s) > max {
		r.Adjust(field + ": longer than " + strconv.Itoa(max) + ", dropped")
		return ""
	}
	return s
}

// email cleans an email address; see whole.
func email(s, field string, r *Report) string { return whole(s, maxEmail, field, r) }

// httpURL returns s when it is an absolute http(s) link with a host, else "".
func httpURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return ""
	}
	return s
}

// props collects custom properties. Values are cleaned and cut to Authomize's 64-character
// limit; empty values are left out because an empty property says nothing.
type props struct {
	list []authomize.CustomProperty
	kind string
	r    *Report
}

// add appends key=value, truncating value to 64 characters (counted).
func (p *props) add(key, value string) {
	v := cleanText(value, maxPropertyValue, false, p.kind+"."+key, p.r)
	if v != "" {
		p.list = append(p.list, authomize.CustomProperty{Key: key, Value: v})
	}
}

// addBool appends key="true"/"false".
func (p *props) addBool(key string, v bool) {
	p.list = append(p.list, authomize.CustomProperty{Key: key, Value: strconv.FormatBool(v)})
}

// addSplit appends a value that must not be cut (a URL) over as many properties as it
// needs, each within Authomize's 64-character limit: key holds the first 64 characters,
// key.2 the next 64, then key.3, and so on; JoinedProperty puts them back together. A value
// up to 64 characters is the single property key, as any other. A value over max characters
// is dropped and counted: it bounds the properties one item gets.
func (p *props) addSplit(key, value string, max int) {
	v := whole(value, max, p.kind+"."+key, p.r)
	for i, part := range splitRunes(v, maxPropertyValue) {
		k := key
		if i > 0 {
			k = splitKey(key, i+1)
		}
		p.list = append(p.list, authomize.CustomProperty{Key: k, Value: part})
	}
}

// splitKey names part n (from 2) of a value split over properties.
func splitKey(key string, n int) string { return key + "." + strconv.Itoa(n) }

// splitRunes cuts s into parts of at most n runes, in order; "" has no parts.
func splitRunes(s string, n int) []string {
	var parts []string
	for s != "" {
		part, _ := truncateRunes(s, n)
		parts = append(parts, part)
		s = s[len(part):]
	}
	return parts
}

// JoinedProperty returns the value of key that the transform may have split over numbered
// custom properties (key, key.2, key.3, …; see MAPPING.md): the parts concatenated in
// order, up to the first missing number. It is "" when key is absent.
func JoinedProperty(list []authomize.CustomProperty, key string) string {
	byKey := make(map[string]string, len(list))
	for _, p := range list {
		if _, dup := byKey[p.Key]; !dup {
			byKey[p.Key] = p.Value
		}
	}
	v, ok := byKey[key]
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString(v)
	for n := 2; ; n++ {
		part, ok := byKey[splitKey(key, n)]
		if !ok {
			return b.String()
		}
		b.WriteString(part)
	}
}

// owner is opt.OwnerID made safe: invalid UTF-8 replaced, and blank treated as unset.
func (o Options) owner() string {
	id, st := cleanID(o.OwnerID)
	if st != idOK {
		return ""
	}
	return id
}

// boolPtr returns a pointer to v, for optional booleans in the output models.
func boolPtr(v bool) *bool { return &v }
