package authomizesim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Behaviour knobs that bend the upload path in ways the real Authomize may (stamp skew,
// a missing acceptedTimestamp, relations it refuses). They are independent of the fault
// knobs: ClearFaults leaves them alone, and each is cleared by its zero value.

// Fixed seeds: the knobs take no seed argument, and a fixed one makes every run of a test
// see the same skews and the same rejected items.
const (
	stampSeed  = 0x57a4b5ce3
	rejectSeed = 0x2e1ec7ed
)

// knobState is the configuration behind SetStampSkew, OmitAcceptedTimestamp,
// RejectRelations and RejectEntities. It has its own mutex so the setters never wait on s.mu; uploads take
// mu while holding s.mu, never the other way round.
type knobState struct {
	mu     sync.Mutex
	skew   time.Duration
	omitTS map[Kind]bool
	reject map[Kind]float64
}

// uploadKnobs is what one upload request sees: a copy taken once, so a setter called
// mid-request cannot apply to half of its items.
type uploadKnobs struct {
	kind   Kind
	skew   time.Duration
	rng    *rand.Rand // nil when skew is zero
	omitTS bool
	reject float64
}

// SetStampSkew makes uploads store each accepted item with modifiedAt = the response's
// acceptedTimestamp minus a random duration in [0, max], drawn per item (so one request's
// items straddle the cutoff) at microsecond granularity like the timestamps themselves.
// It models an Authomize that stamps records a moment before it computes the
// acceptedTimestamp it returns: a client that sweeps with modifiedBefore = that exact
// timestamp then deletes what it just wrote. The draws come from a generator seeded with a
// fixed seed and the request's sequence number, so a test replays identically. Zero (or
// anything under a microsecond) disables it. The sweep, the startDate filter and ModifiedAt
// all see the skewed time.
func (s *Server) SetStampSkew(max time.Duration) {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	s.knobs.skew = max.Truncate(time.Microsecond)
	if s.knobs.skew < 0 {
		s.knobs.skew = 0
	}
}

// OmitAcceptedTimestamp makes responses to uploads of the given kinds leave out the
// acceptedTimestamp field entirely, which the spec allows (it is optional). The items are
// still stored and stamped as usual. Each call replaces the previous set; call it with no
// kinds to clear. Responses to DELETE requests are not affected.
func (s *Server) OmitAcceptedTimestamp(kinds ...Kind) {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	s.knobs.omitTS = nil
	for _, k := range kinds {
		if s.knobs.omitTS == nil {
			s.knobs.omitTS = map[Kind]bool{}
		}
		s.knobs.omitTS[k] = true
	}
}

// RejectRelations makes uploads of a relation kind (KindAccountAssociations or
// KindPermissions) treat that fraction of their items as carrying invalid references,
// whatever is actually stored: such an item is not stored (an earlier stored copy stays as
// it was, modifiedAt included), not counted in numberOfAcceptedEntities, and every id it
// references is listed in the response's invalid*Ids fields, as for a reference that does
// not resolve. Because the verdict is per item, an id can then appear in both a valid and
// an invalid list of the same response.
//
// The verdict is a fixed-seed hash of the item's key (sourceId+targetId, or
// sourceType+sourceUniqueId+privilegeId+assetId), so re-uploading an item gets the same
// verdict in every request and every run, and the items rejected at a lower fraction are
// among those rejected at a higher one. The realised share only approximates fraction.
// fraction 0 clears the knob for kind; it panics for a non-relation kind or a fraction
// outside [0, 1], both mistakes in the calling test.
func (s *Server) RejectRelations(kind Kind, fraction float64) {
	if kind != KindAccountAssociations && kind != KindPermissions {
		panic(fmt.Sprintf("authomizesim: RejectRelations: %q is not a relation kind", kind))
	}
	s.setReject("RejectRelations", kind, fraction)
}

// RejectEntities makes uploads of an entity kind (users, identities, groupings, privileges,
// assets) refuse that fraction of their items, as a validation Authomize applies and the
// client did not foresee: such an item is not stored (an earlier stored copy stays as it
// was, modifiedAt included) and not counted in numberOfAcceptedEntities. The verdict is a
// fixed-seed hash of the item's uniqueId, as for RejectRelations: the same items are
// refused in every request and every run. fraction 0 clears the knob for kind; it panics
// for a relation kind or a fraction outside [0, 1].
func (s *Server) RejectEntities(kind Kind, fraction float64) {
	if kind == KindAccountAssociations || kind == KindPermissions {
		panic(fmt.Sprintf("authomizesim: RejectEntities: %q is a relation kind (use RejectRelations)", kind))
	}
	s.setReject("RejectEntities", kind, fraction)
}

func (s *Server) setReject(fn string, kind Kind, fraction float64) {
	if !(fraction >= 0 && fraction <= 1) {
		panic(fmt.Sprintf("authomizesim: %s: fraction %v outside [0, 1]", fn, fraction))
	}
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	if fraction == 0 {
		delete(s.knobs.reject, kind)
		return
	}
	if s.knobs.reject == nil {
		s.knobs.reject = map[Kind]float64{}
	}
	s.knobs.reject[kind] = fraction
}

// ModifiedAt returns the modifiedAt of one stored record of appID, keyed as in Snapshot:
// the uniqueId for entity kinds, sourceId and targetId for account associations, and
// sourceType, sourceUniqueId, privilegeId and assetId ("" when absent) for permissions.
// ok is false when there is no such record.
func (s *Server) ModifiedAt(appID string, kind Kind, key ...string) (t time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return time.Time{}, false
	}
	r := a.data[kind][strings.Join(key, "\x1f")]
	if r == nil {
		return time.Time{}, false
	}
	return r.modifiedAt, true
}

// forUpload copies the knobs that apply to an upload of kind; seq is the request's
// sequence number, which seeds its skew draws.
func (k *knobState) forUpload(kind Kind, seq uint64) uploadKnobs {
	k.mu.Lock()
	defer k.mu.Unlock()
	u := uploadKnobs{kind: kind, skew: k.skew, omitTS: k.omitTS[kind], reject: k.reject[kind]}
	if u.skew > 0 {
		u.rng = rand.New(rand.NewPCG(stampSeed, seq))
	}
	return u
}

// stamp is the modifiedAt to store for one item accepted at ts.
func (u *uploadKnobs) stamp(ts time.Time) time.Time {
	if u.rng == nil {
		return ts
	}
	return ts.Add(-time.Duration(u.rng.Int64N(u.skew.Microseconds()+1)) * time.Microsecond)
}

// rejects reports whether the item with this key is to be treated as invalid.
func (u *uploadKnobs) rejects(key ...string) bool {
	if u.reject <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%x\x1e%s", rejectSeed, u.kind)
	for _, part := range key {
		// The separator keeps {"ab","c"} and {"a","bc"} apart.
		h.Write([]byte{0x1f})
		h.Write([]byte(part))
	}
	return unitFloat(mix64(h.Sum64())) < u.reject
}

// mix64 is splitmix64's finaliser: FNV alone leaves keys that differ only in their last
// byte ("u1", "u2") too close for their top bits to be independent.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unitFloat maps x uniformly onto [0, 1).
func unitFloat(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// DeleteRecord removes one stored record, as an operator deleting it by hand would; key is
// as for ModifiedAt. It reports whether the record existed.
func (s *Server) DeleteRecord(appID string, kind Kind, key ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return false
	}
	k := strings.Join(key, "\x1f")
	if _, ok := a.data[kind][k]; !ok {
		return false
	}
	delete(a.data[kind], k)
	return true
}
