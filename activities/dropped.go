package activities

import (
	"context"
	"fmt"

	"jcsync/internal/authomize"
	"jcsync/internal/transform"
)

// Records left out. A record JumpCloud sends whose identity does not fit its model (see
// jumpcloud.Page.Unreadable) exists, but this run cannot upload it. Three things follow:
//   - its id joins the stage's Dropped list, so that no later stage sends a relation to a
//     record this run did not upload (a membership of a user left out, a binding to a group
//     left out);
//   - an account (a directory user, an admin) keeps its earlier copy: a PATCH of its uniqueId
//     alone refreshes what Authomize holds without changing it, and the sweep spares it;
//   - a grouping or asset cannot be kept that way (their PATCH requires a name, which is
//     what could not be read), so it is counted as unreadable and the sweep waits for it.

// maxDropped bounds the ids of records left out that a stage keeps in its checkpoint and
// result (a few KB of ObjectIds; they are rare). Beyond it they are only counted
// (DroppedMore), and the stages after it fall back to sending every relation, as Authomize
// checks references anyway, with a warning.
const maxDropped = 1000

// droppedBefore reports whether an earlier attempt of the stage already handled the record
// id (it is in the checkpoint). Callers hold mu.
func (s *stageRun) droppedBefore(id string) bool {
	if s.droppedSeen == nil {
		s.droppedSeen = make(map[string]struct{}, len(s.cp.Counts.Dropped))
		for _, d := range s.cp.Counts.Dropped {
			s.droppedSeen[d] = struct{}{}
		}
	}
	_, ok := s.droppedSeen[id]
	return ok
}

// leftOut handles the records of the stage's own list that were left out although their id
// could be read: each is kept (keep, when the stage can) or counted as unreadable, then
// recorded as dropped. Records seen before (the overlap of two pages, a page read again after
// a retry) are handled once. The list goes into the checkpoint at once, like unstable lists.
func (s *stageRun) leftOut(ctx context.Context, list string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	s.mu.Lock()
	fresh := make([]string, 0, len(ids))
	for _, id := range ids {
		if !s.droppedBefore(id) {
			fresh = append(fresh, id)
		}
	}
	s.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	// Kept before it is recorded: an attempt that dies in between keeps it again.
	var kept map[string]bool
	if s.keep != nil {
		var err error
		if kept, err = s.keep(ctx, fresh); err != nil {
			return err
		}
	} else {
		s.markUnreadable(list, fresh)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range fresh {
		if len(s.cp.Counts.Dropped) >= maxDropped {
			s.cp.Counts.DroppedMore++
			continue
		}
		s.cp.Counts.Dropped = append(s.cp.Counts.Dropped, id)
		if kept[id] {
			s.cp.Counts.KeptIDs = append(s.cp.Counts.KeptIDs, id)
		}
		s.droppedSeen[id] = struct{}{}
	}
	return nil
}

// keepAccounts keeps the earlier copies of the accounts (and, with identities, the identities)
// of records left out: account maps a JumpCloud id to the account's uniqueId. It returns the
// ids whose account Authomize held and refreshed.
func (s *stageRun) keepAccounts(account func(string) string, identities bool) func(context.Context, []string) (map[string]bool, error) {
	return func(ctx context.Context, ids []string) (map[string]bool, error) {
		accounts := make([]string, len(ids))
		for i, id := range ids {
			accounts[i] = account(id)
		}
		kept, err := keepUpload(ctx, s, "accounts", accounts, s.az.KeepUsers)
		if err != nil {
			return nil, err
		}
		if identities {
			if _, err := keepUpload(ctx, s, "identities", ids, s.az.KeepIdentities); err != nil {
				return nil, err
			}
		}
		out := make(map[string]bool, len(ids))
		for i, id := range ids {
			out[id] = kept[accounts[i]]
		}
		return out, nil
	}
}

// keepUpload PATCHes the uniqueIds (or, in a dry run, only counts them) and counts in the
// checkpoint, at once, what Authomize kept and what it did not hold. An accepted PATCH stamps
// the record like a POST (inferred from the API's notes), so its time takes part in the
// cutoff like any upload's. A uniqueId Authomize does not hold is not accepted: the record
// was never uploaded, there is nothing to keep, and nothing for the sweep to delete.
//
// It returns which uniqueIds were kept. Authomize answers with a count, not ids: when it
// accepted fewer than were sent, each is sent again alone to tell them apart (records left
// out are few; a PATCH of a kept record again is harmless).
func keepUpload(ctx context.Context, s *stageRun, kind string, ids []string, send func(context.Context, []string) (authomize.UploadResult, error)) (map[string]bool, error) {
	kept := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return kept, nil
	}
	if s.in.DryRun {
		s.mu.Lock()
		s.cp.Counts.Kept = s.cp.Counts.Kept.Add(kind, len(ids))
		s.mu.Unlock()
		for _, id := range ids {
			kept[id] = true
		}
		return kept, nil
	}
	patch := func(ids []string) (int, error) {
		res, err := send(ctx, ids)
		if err != nil {
			return 0, classify(fmt.Errorf("keep the earlier copies of %d %s in Authomize: %w", len(ids), kind, err))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c := &s.cp.Counts
		c.keepEarliest(res.EarliestAccepted)
		c.NoTimestamp += res.MissingTimestamps
		return res.Accepted, nil
	}
	accepted, err := patch(ids)
	if err != nil {
		return nil, err
	}
	switch {
	case accepted >= len(ids):
		for _, id := range ids {
			kept[id] = true
		}
	case accepted > 0 && len(ids) > 1:
		for _, id := range ids {
			n, err := patch([]string{id})
			if err != nil {
				return nil, err
			}
			kept[id] = n > 0
		}
	}
	n := 0
	for _, id := range ids {
		if kept[id] {
			n++
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.cp.Counts.Kept = s.cp.Counts.Kept.Add(kind, n)
	}
	if n < len(ids) {
		s.cp.Counts.NotKept = s.cp.Counts.NotKept.Add(kind, len(ids)-n)
	}
	return kept, nil
}

// droppedIDs are the records of one kind an earlier stage of the run left out.
type droppedIDs struct {
	ids map[string]struct{}
}

// as maps the JumpCloud ids to the uniqueIds relations use (transform.UserAccountID, …).
func (d droppedIDs) as(uniqueID func(string) string) droppedIDs {
	out := droppedIDs{ids: make(map[string]struct{}, len(d.ids))}
	for id := range d.ids {
		out.ids[uniqueID(id)] = struct{}{}
	}
	return out
}

func (d droppedIDs) has(id string) bool {
	_, ok := d.ids[id]
	return ok
}

// EarlierDropped is what the stages an activity's phase follows left out, by stage: the
// workflow passes it in the next phase's input, from the results it already holds. Known
// says the workflow passes it at all (runs started by earlier versions do not: their
// relations go out as before, and Authomize checks their references).
type EarlierDropped struct {
	Known  bool                `json:"known,omitempty"`
	Stages map[string][]string `json:"stages,omitempty"`
	// More counts, by stage, the records left out beyond those listed (maxDropped).
	More map[string]int `json:"more,omitempty"`
}

// DroppedOf is what the finished stages of results left out, for the next phase's input.
//
// A record whose account was kept is not among them: its account is in Authomize, so its
// memberships and bindings (read from JumpCloud as always) point at a record that is there,
// and the person's access stays visible.
func DroppedOf(results []StageResult) EarlierDropped {
	d := EarlierDropped{Known: true}
	for _, r := range results {
		kept := make(map[string]bool, len(r.Counts.KeptIDs))
		for _, id := range r.Counts.KeptIDs {
			kept[id] = true
		}
		for _, id := range r.Counts.Dropped {
			if kept[id] {
				continue
			}
			if d.Stages == nil {
				d.Stages = map[string][]string{}
			}
			d.Stages[r.Stage] = append(d.Stages[r.Stage], id)
		}
		if r.Counts.DroppedMore > 0 {
			if d.More == nil {
				d.More = map[string]int{}
			}
			d.More[r.Stage] = r.Counts.DroppedMore
		}
	}
	return d
}

// loadDropped is which records the earlier stages of the run left out, by stage. A stage it
// cannot account for is incomplete, and says so in the stage's warnings: its relations are
// then sent as before, and Authomize's reference checks (counted) catch those that point at
// nothing.
func (s *stageRun) loadDropped(stages ...string) map[string]droppedIDs {
	out := map[string]droppedIDs{}
	earlier := s.in.Earlier
	for _, stage := range stages {
		d := droppedIDs{ids: map[string]struct{}{}}
		for _, id := range earlier.Stages[stage] {
			d.ids[id] = struct{}{}
		}
		if more := earlier.More[stage]; more > 0 {
			s.warn(fmt.Sprintf("the %s stage left out more records than it lists (%d): relations to the %d beyond the first %d were sent, and Authomize checks their references",
				stage, len(d.ids)+more, more, len(d.ids)))
		}
		out[stage] = d
	}
	return out
}

// warn adds a warning to the stage's result.
func (s *stageRun) warn(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnings = append(s.warnings, msg)
}

// withoutDroppedMembers leaves out the memberships of users an earlier stage left out.
func withoutDroppedMembers(in []authomize.AccountAssociation, users droppedIDs, rep *transform.Report) []authomize.AccountAssociation {
	if len(users.ids) == 0 {
		return in
	}
	out := in[:0]
	for _, m := range in {
		if users.has(m.SourceID) {
			rep.Skip("membership: member not uploaded")
			continue
		}
		out = append(out, m)
	}
	return out
}

// withoutDroppedSources leaves out the bindings of users and groups an earlier stage left out.
func withoutDroppedSources(in []authomize.Permission, users, groups droppedIDs, rep *transform.Report) []authomize.Permission {
	if len(users.ids) == 0 && len(groups.ids) == 0 {
		return in
	}
	out := in[:0]
	for _, p := range in {
		switch {
		case p.SourceType == authomize.SourceUser && users.has(p.SourceUniqueID):
			rep.Skip("binding: user not uploaded")
			continue
		case p.SourceType == authomize.SourceGrouping && groups.has(p.SourceUniqueID):
			rep.Skip("binding: group not uploaded")
			continue
		}
		out = append(out, p)
	}
	return out
}
