package transform

// The package's tests declare a type named counts, so the package is imported as count.
import count "jcsync/internal/counts"

// Report counts what the transform skipped or adjusted, by reason. Reasons are short
// stable keys such as "user: missing _id" or "user.title: truncated to 64".
//
// The methods accept a nil receiver, which counts nothing: callers that do not care about
// the counts pass nil instead of building a Report they would throw away.
type Report struct {
	Skipped  count.Counts `json:"skipped,omitempty"`
	Adjusted count.Counts `json:"adjusted,omitempty"`
}

// Skip counts one record (or edge) that was left out, under a short stable reason.
func (r *Report) Skip(reason string) {
	if r == nil {
		return
	}
	r.Skipped = r.Skipped.Add(reason, 1)
}

// Adjust counts one value that was changed to pass Authomize's validation (truncated,
// dropped, replaced) or filled in from a fallback, under a short stable reason.
func (r *Report) Adjust(reason string) {
	if r == nil {
		return
	}
	r.Adjusted = r.Adjusted.Add(reason, 1)
}

// Merge adds other's counts to r. Activities transform page by page and merge the
// per-page reports into the stage's counts.
func (r *Report) Merge(other Report) {
	if r == nil {
		return
	}
	r.Skipped = r.Skipped.Merge(other.Skipped)
	r.Adjusted = r.Adjusted.Merge(other.Adjusted)
}

// Clone returns a copy that shares no map with r.
func (r Report) Clone() Report {
	return Report{Skipped: r.Skipped.Clone(), Adjusted: r.Adjusted.Clone()}
}

// SkippedTotal is the number of records skipped for any reason.
func (r *Report) SkippedTotal() int {
	if r == nil {
		return 0
	}
	return r.Skipped.Total()
}

// AdjustedTotal is the number of values adjusted for any reason.
func (r *Report) AdjustedTotal() int {
	if r == nil {
		return 0
	}
	return r.Adjusted.Total()
}
