package transform

// The Report methods accept a nil receiver so that callers that do not care about the
// counts can pass nil instead of building a Report they would throw away.

// Skip counts one record (or edge) that was left out, under a short stable reason.
func (r *Report) Skip(reason string) {
	if r == nil {
		return
	}
	if r.Skipped == nil {
		r.Skipped = make(map[string]int)
	}
	r.Skipped[reason]++
}

// Adjust counts one value that was changed to pass Authomize's validation (truncated,
// dropped, replaced) or filled in from a fallback, under a short stable reason.
func (r *Report) Adjust(reason string) {
	if r == nil {
		return
	}
	if r.Adjusted == nil {
		r.Adjusted = make(map[string]int)
	}
	r.Adjusted[reason]++
}

// Merge adds other's counts to r. Activities transform page by page and merge the
// per-page reports into the stage result.
func (r *Report) Merge(other Report) {
	if r == nil {
		return
	}
	for k, n := range other.Skipped {
		if r.Skipped == nil {
			r.Skipped = make(map[string]int)
		}
		r.Skipped[k] += n
	}
	for k, n := range other.Adjusted {
		if r.Adjusted == nil {
			r.Adjusted = make(map[string]int)
		}
		r.Adjusted[k] += n
	}
}

// SkippedTotal is the number of records skipped for any reason.
func (r *Report) SkippedTotal() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, v := range r.Skipped {
		n += v
	}
	return n
}

// AdjustedTotal is the number of values adjusted for any reason.
func (r *Report) AdjustedTotal() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, v := range r.Adjusted {
		n += v
	}
	return n
}
