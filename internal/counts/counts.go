// Package counts holds the one type the sync uses to count things by name: records read and
// uploaded per kind, records skipped or adjusted per reason, relations sent and rejected.
//
// Counts is a plain map underneath, so it encodes to JSON exactly as map[string]int does:
// workflow histories and checkpoints written before the type existed decode into it unchanged.
package counts

// Counts maps a name (a kind of record, a reason) to how many times it was seen.
// The zero value (nil) is empty and ready to read; Add and Merge return the map they wrote
// to, so a nil Counts grows on first use: c = c.Add("users", 3).
type Counts map[string]int

// Add adds n under k and returns the map written to. Adding zero leaves a nil map nil, so an
// empty count stays out of JSON marked omitempty.
func (c Counts) Add(k string, n int) Counts {
	if n == 0 {
		return c
	}
	if c == nil {
		c = Counts{}
	}
	c[k] += n
	return c
}

// Merge adds every count of other and returns the map written to.
func (c Counts) Merge(other Counts) Counts {
	for k, n := range other {
		c = c.Add(k, n)
	}
	return c
}

// Clone returns a copy that shares nothing with c; nil stays nil.
func (c Counts) Clone() Counts {
	if c == nil {
		return nil
	}
	out := make(Counts, len(c))
	for k, n := range c {
		out[k] = n
	}
	return out
}

// Total is the sum of every count.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}
