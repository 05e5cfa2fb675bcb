package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// changePlan is what one poll's new events ask for, each record once, with the timestamp
// of its earliest change (from which its latency is measured).
type changePlan struct {
	users, deletedUsers, groups, members, apps, bindings map[string]time.Time
	// removalAt is the newest change only a full sync can apply; zero when none.
	removalAt     time.Time
	removalReason string
	removals      []AppliedChange
	fresh, noise  int
	newest        time.Time
	seen          []SeenEvent // every event applied that lies within the next poll's overlap
}

// planChanges sorts the events read since from into the updates they call for. Events
// already applied (seen) are skipped; logins and other services' events are noise.
func planChanges(events []jumpcloud.InsightsEvent, seen []SeenEvent, from time.Time) changePlan {
	p := changePlan{
		users: map[string]time.Time{}, deletedUsers: map[string]time.Time{}, groups: map[string]time.Time{},
		members: map[string]time.Time{}, apps: map[string]time.Time{}, bindings: map[string]time.Time{},
		seen: pruneSeen(seen, from),
	}
	done := map[string]bool{}
	for _, s := range p.seen {
		done[s.ID] = true
	}
	for _, e := range events {
		if e.ID != "" && done[e.ID] {
			continue
		}
		if e.ID != "" {
			done[e.ID] = true
			p.seen = append(p.seen, SeenEvent{ID: e.ID, At: e.Timestamp})
		}
		if !p.classify(e) {
			p.noise++
			continue
		}
		p.fresh++
		if e.Timestamp.After(p.newest) {
			p.newest = e.Timestamp
		}
	}
	return p
}

// note records id under m at the earliest timestamp of its changes.
func note(m map[string]time.Time, id string, at time.Time) {
	if id == "" {
		return
	}
	if t, ok := m[id]; !ok || at.Before(t) {
		m[id] = at
	}
}

// removal records a change that only a full sync's sweep can apply.
func (p *changePlan) removal(kind, id, reason string, at time.Time) {
	p.removals = append(p.removals, AppliedChange{Kind: kind, ID: id, EventAt: at})
	if at.After(p.removalAt) || p.removalAt.IsZero() {
		p.removalAt = at
		p.removalReason = reason
	}
}

// classify adds one directory change to the plan; false for an event that is not one
// (logins, other services, associations out of the connector's scope).
func (p *changePlan) classify(e jumpcloud.InsightsEvent) bool {
	if e.Service != "" && e.Service != "directory" {
		return false
	}
	t, id, at := e.EventType, e.Resource.ID, e.Timestamp
	switch {
	case strings.Contains(t, "login") || strings.Contains(t, "auth"):
		return false
	case t == "user_delete":
		note(p.deletedUsers, id, at)
		// Its memberships and bindings go with it: only the sweep removes those.
		p.removal(ChangeUserDeleted, id, "user "+id+" was deleted (its memberships and bindings)", at)
	case strings.HasPrefix(t, "user_"):
		// user_create, user_update (a suspension among them), and the like.
		note(p.users, id, at)
	case t == "group_delete":
		p.removal(ChangeRemoval, id, "group "+id+" was deleted", at)
	case strings.HasPrefix(t, "group_"):
		note(p.groups, id, at)
	case t == "application_delete":
		p.removal(ChangeRemoval, id, "application "+id+" was deleted", at)
	case strings.HasPrefix(t, "application_"):
		note(p.apps, id, at)
	case strings.HasPrefix(t, "admin_"):
		p.removal(ChangeAdmin, id, "an administrator changed ("+t+")", at)
	case t == "association_change":
		return p.association(e)
	default:
		return false
	}
	return true
}

// association plans an association_change: an addition re-reads the group's members or
// the app's bindings; a removal needs the sweep. Which end is which is not documented for
// bindings, so both orders are read.
func (p *changePlan) association(e jumpcloud.InsightsEvent) bool {
	as := e.Association
	if as == nil {
		p.removal(ChangeUnknown, e.ID, "an association changed, with no detail", e.Timestamp)
		return true
	}
	ends := map[string]string{strings.ToLower(as.FromType): as.FromID, strings.ToLower(as.ToType): as.ToID}
	group, hasGroup := ends[jumpcloud.GraphUserGroup]
	_, hasUser := ends[jumpcloud.GraphUser]
	app, hasApp := ends["application"]
	if !hasApp && !(hasGroup && hasUser) {
		return false // devices, policies, directories: not synced
	}
	if strings.EqualFold(as.Op, "remove") {
		what := "a member left group " + group
		if hasApp {
			what = "a binding of application " + app + " was removed"
		}
		p.removal(ChangeRemoval, e.ID, what, e.Timestamp)
		return true
	}
	if hasApp {
		note(p.bindings, app, e.Timestamp)
	} else {
		note(p.members, group, e.Timestamp)
	}
	return true
}

// changes counts the targeted updates of the plan.
func (p changePlan) changes() int {
	return len(p.users) + len(p.deletedUsers) + len(p.groups) + len(p.members) + len(p.apps) + len(p.bindings)
}

// applier writes one poll's targeted updates.
type applier struct {
	a      *Activities
	integ  config.Integration
	jc     *jumpcloud.Client
	az     *authomize.Client
	topt   transform.Options
	dryRun bool
	owner  bool // topt.OwnerID resolved
	out    []AppliedChange
}

// applyChanges re-reads every record the plan names from JumpCloud and writes it to
// Authomize: users first, then groups and their members, then apps and their bindings, as
// Authomize checks references when relations arrive. A dry run reads and writes nothing.
func (a *Activities) applyChanges(ctx context.Context, integ config.Integration, jc *jumpcloud.Client, p changePlan, dryRun bool) ([]AppliedChange, error) {
	out := slices.Clone(p.removals)
	if p.changes() == 0 {
		return out, nil
	}
	az, err := a.authomize(integ)
	if err != nil {
		return nil, err
	}
	ap := &applier{a: a, integ: integ, jc: jc, az: az, dryRun: dryRun, out: out,
		topt: transform.Options{Identities: integ.Identities, ConsoleURL: transform.ConsoleURLFor(integ.JumpCloud.BaseURL)}}
	for _, step := range []func(context.Context, changePlan) error{ap.users, ap.groups, ap.members, ap.apps, ap.bindings} {
		if err := step(ctx, p); err != nil {
			return nil, err
		}
	}
	return ap.out, nil
}

// done records that kind id reached Authomize now.
func (ap *applier) done(kind, id string, at time.Time) {
	ap.out = append(ap.out, AppliedChange{Kind: kind, ID: id, EventAt: at, DoneAt: time.Now(), DryRun: ap.dryRun})
}

// send uploads items unless this is a dry run.
func send[T any](ctx context.Context, ap *applier, items []T, up func(context.Context, []T) (authomize.UploadResult, error)) error {
	if ap.dryRun || len(items) == 0 {
		return nil
	}
	_, err := up(ctx, items)
	return err
}

// users re-reads each created, changed or deleted user: one found is uploaded whole (its
// status with it: a suspension shows as Suspended); one JumpCloud no longer has is marked
// Deleted (PATCH of its status), which needs no sweep.
func (ap *applier) users(ctx context.Context, p changePlan) error {
	all := maps.Clone(p.users)
	for id, at := range p.deletedUsers {
		note(all, id, at)
	}
	var found []jumpcloud.SystemUser
	var gone []string
	for _, id := range slices.Sorted(maps.Keys(all)) {
		u, ok, err := ap.jc.SystemUserByID(ctx, id)
		if err != nil {
			return fmt.Errorf("re-read user %s: %w", id, err)
		}
		if ok {
			found = append(found, u)
		} else {
			gone = append(gone, id)
		}
	}
	var rep transform.Report
	accounts, identities := transform.Users(found, ap.topt, &rep)
	if err := send(ctx, ap, accounts, ap.az.UploadUsers); err != nil {
		return fmt.Errorf("upload %d users: %w", len(accounts), err)
	}
	if err := send(ctx, ap, identities, ap.az.UploadIdentities); err != nil {
		return fmt.Errorf("upload %d identities: %w", len(identities), err)
	}
	for _, u := range found {
		ap.done(ChangeUserUpsert, u.ID, all[u.ID])
	}
	if len(gone) == 0 {
		return nil
	}
	ids := make([]string, len(gone))
	for i, id := range gone {
		ids[i] = transform.UserAccountID(id)
	}
	if !ap.dryRun {
		if _, err := ap.az.SetUserStatus(ctx, ids, authomize.StatusDeleted); err != nil {
			return fmt.Errorf("mark %d deleted users: %w", len(ids), err)
		}
		if ap.integ.Identities {
			if _, err := ap.az.SetIdentityStatus(ctx, ids, authomize.StatusDeleted); err != nil {
				return fmt.Errorf("mark %d deleted identities: %w", len(ids), err)
			}
		}
	}
	for _, id := range gone {
		ap.done(ChangeUserDeleted, id, all[id])
	}
	return nil
}

// resolveOwner finds the app owner's account once, for the groupings and assets uploaded:
// without it a targeted upload would clear the owner a full sync set.
func (ap *applier) resolveOwner(ctx context.Context) error {
	if ap.owner {
		return nil
	}
	var v ValidateResult
	if err := resolveOwner(ctx, ap.integ, ap.jc, &adminList{jc: ap.jc}, &v); err != nil {
		return err
	}
	ap.topt.OwnerID, ap.owner = v.OwnerID, true
	return nil
}

// groups re-reads each created or changed group and uploads it.
func (ap *applier) groups(ctx context.Context, p changePlan) error {
	if len(p.groups) == 0 {
		return nil
	}
	if err := ap.resolveOwner(ctx); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(p.groups)) {
		g, ok, err := ap.jc.UserGroupByID(ctx, id)
		if err != nil {
			return fmt.Errorf("re-read group %s: %w", id, err)
		}
		if !ok {
			continue // deleted since: its group_delete event asks for the sweep
		}
		var rep transform.Report
		if err := send(ctx, ap, transform.Groups([]jumpcloud.UserGroup{g}, ap.topt, &rep), ap.az.UploadGroupings); err != nil {
			return fmt.Errorf("upload group %s: %w", id, err)
		}
		ap.done(ChangeGroup, id, p.groups[id])
	}
	return nil
}

// members re-reads the members of each group that gained one and uploads them: the cost is
// the group's members, not the org.
func (ap *applier) members(ctx context.Context, p changePlan) error {
	for _, id := range slices.Sorted(maps.Keys(p.members)) {
		var edges []jumpcloud.GraphConnection
		err := jumpcloud.Walk(ctx, func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
			return ap.jc.GroupMembersPage(ctx, id, skip)
		}, func(pg jumpcloud.Page[jumpcloud.GraphConnection]) error {
			edges = append(edges, pg.Items...)
			return nil
		})
		if err != nil {
			return fmt.Errorf("re-read the members of group %s: %w", id, err)
		}
		var rep transform.Report
		if err := send(ctx, ap, transform.Memberships(id, edges, &rep), ap.az.UploadAccountAssociations); err != nil {
			return fmt.Errorf("upload the members of group %s: %w", id, err)
		}
		ap.done(ChangeMembersAdded, id, p.members[id])
	}
	return nil
}

// apps re-reads each created or changed application and uploads it.
func (ap *applier) apps(ctx context.Context, p changePlan) error {
	if len(p.apps) == 0 {
		return nil
	}
	if err := ap.resolveOwner(ctx); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(p.apps)) {
		app, ok, err := ap.jc.ApplicationByID(ctx, id)
		if err != nil {
			return fmt.Errorf("re-read application %s: %w", id, err)
		}
		if !ok {
			continue
		}
		var rep transform.Report
		if err := send(ctx, ap, transform.Apps([]jumpcloud.Application{app}, ap.topt, &rep), ap.az.UploadAssets); err != nil {
			return fmt.Errorf("upload application %s: %w", id, err)
		}
		ap.done(ChangeApp, id, p.apps[id])
	}
	return nil
}

// bindings re-reads the direct bindings (users and groups) of each app that gained one and
// uploads them as permissions.
func (ap *applier) bindings(ctx context.Context, p changePlan) error {
	for _, id := range slices.Sorted(maps.Keys(p.bindings)) {
		var edges []jumpcloud.GraphConnection
		for _, target := range []string{jumpcloud.GraphUser, jumpcloud.GraphUserGroup} {
			err := jumpcloud.Walk(ctx, func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
				return ap.jc.AppAssociationsPage(ctx, id, target, skip)
			}, func(pg jumpcloud.Page[jumpcloud.GraphConnection]) error {
				edges = append(edges, pg.Items...)
				return nil
			})
			if err != nil {
				return fmt.Errorf("re-read the %s bindings of application %s: %w", target, id, err)
			}
		}
		var rep transform.Report
		if err := send(ctx, ap, transform.AppBindings(id, edges, &rep), ap.az.UploadPermissions); err != nil {
			return fmt.Errorf("upload the bindings of application %s: %w", id, err)
		}
		ap.done(ChangeBindingsAdded, id, p.bindings[id])
	}
	return nil
}
