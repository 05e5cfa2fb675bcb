package activities

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/sync/errgroup"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

func (s *stageRun) concurrency() int {
	if s.a.PageConcurrency > 0 {
		return s.a.PageConcurrency
	}
	return 8
}

// parentLookahead is how many pages of groups or apps are in flight at once; their members
// and bindings share the stage's fetch slots.
const parentLookahead = 2

// finish ends a stage: its result, and err as the activity's error (final once the stage has
// spent its attempts without progress).
func (s *stageRun) finish(ctx context.Context, err error) (StageResult, error) {
	if err != nil {
		err = s.failed(ctx, err)
	}
	return s.result(err), err
}

// reader builds a list reader wired to the stage: fetches take one of the stage's slots and
// count as pages, changes and repairs are counted, an unstable list is noted.
func reader[T any](s *stageRun, name string, fetch func(ctx context.Context, skip int) (jumpcloud.Page[T], error), key func(T) string) *listReader[T] {
	return &listReader[T]{
		name: name,
		size: s.jc.PageSize(),
		fetch: func(ctx context.Context, skip int) (jumpcloud.Page[T], error) {
			if err := s.acquire(ctx); err != nil {
				return jumpcloud.Page[T]{}, err
			}
			p, err := fetch(ctx, skip)
			s.release()
			if errors.Is(err, errListGone) {
				return p, err
			}
			if err != nil {
				return p, classify(err)
			}
			s.notePage()
			return p, nil
		},
		key: key,
		// Records JumpCloud sent that the client could not use are counted with the page.
		skipped: func(skip int, reasons map[string]int, unreadable []string) {
			s.report(s.tally(skip), transform.Report{Skipped: reasons})
			s.noteUnreadable(name, unreadable)
		},
		parallel: s.concurrency(),
		changed:  s.noteChange,
		repaired: s.noteRepair,
		unstable: s.noteUnstable,
	}
}

// top sets a reader up for the stage's own list: its pages are the checkpoint.
func top[T any](ctx context.Context, s *stageRun, r *listReader[T]) error {
	r.commit = func(next int, tail []string, ended bool) { s.commit(ctx, next, tail, ended) }
	r.first = s.noteTotal
	s.resume(s.cp.NextSkip / r.stride())
	return r.read(ctx, s.cp.NextSkip, s.cp.Tail, s.cp.Ended)
}

func systemUserID(u jumpcloud.SystemUser) string { return u.ID }
func groupID(g jumpcloud.UserGroup) string       { return g.ID }
func appID(a jumpcloud.Application) string       { return a.ID }
func adminID(a jumpcloud.Admin) string           { return a.ID }
func edgeKey(c jumpcloud.GraphConnection) string { return c.To.Type + ":" + c.To.ID }

// Users reads every directory user and uploads them as accounts (and identities).
func (a *Activities) Users(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageUsers, in)
	if err != nil {
		return StageResult{}, err
	}
	r := reader(s, StageUsers, s.jc.SystemUsersPage, systemUserID)
	r.process = func(ctx context.Context, page int, items []jumpcloud.SystemUser) error {
		t := s.tally(page)
		s.read(t, "users", len(items))
		var rep transform.Report
		users, identities := transform.Users(items, s.topt, &rep)
		s.report(t, rep)
		if err := upload(ctx, s, t, "accounts", users, s.az.UploadUsers); err != nil {
			return err
		}
		return upload(ctx, s, t, "identities", identities, s.az.UploadIdentities)
	}
	return s.finish(ctx, top(ctx, s, r))
}

// children reads the child lists (members, bindings) of the keys on one parent page, each
// whole, and records each finished key so a retried attempt skips it.
func (s *stageRun) children(ctx context.Context, page int, keys []string, one func(ctx context.Context, t *tally, key string) error) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, key := range keys {
		if s.wasDone(key) {
			continue
		}
		g.Go(func() error {
			if err := one(gctx, s.parentTally(page, key), key); err != nil {
				return err
			}
			s.parentDone(ctx, page, key)
			return nil
		})
	}
	return g.Wait()
}

// uploadPage counts a page of JumpCloud records as read into the tally t, maps them with
// build (which reports what it skipped or adjusted) and uploads the result as upKind. It
// returns what it uploaded, for the relations that point at it.
func uploadPage[T, U any](ctx context.Context, s *stageRun, t *tally, readKind string, items []T,
	build func([]T, *transform.Report) []U, upKind string, send func(context.Context, []U) (authomize.UploadResult, error)) ([]U, error) {
	s.read(t, readKind, len(items))
	var rep transform.Report
	out := build(items, &rep)
	s.report(t, rep)
	return out, upload(ctx, s, t, upKind, out, send)
}

// edges reads one child list of graph edges (a group's members, an app's bindings of one
// target type) whole, and uploads what build makes of it into the parent's tally t. A 404
// means the owner (the group, the app) was deleted during the sync: it is noted, and the
// list ends there.
func edges[U any](ctx context.Context, s *stageRun, t *tally, list, owner, readKind, upKind string,
	fetch func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error),
	build func([]jumpcloud.GraphConnection, *transform.Report) []U,
	send func(context.Context, []U) (authomize.UploadResult, error)) error {
	r := reader(s, list, func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
		p, err := fetch(ctx, skip)
		if errors.Is(err, jumpcloud.ErrNotFound) {
			return p, errListGone
		}
		return p, err
	}, edgeKey)
	r.skipped = func(_ int, reasons map[string]int, unreadable []string) {
		s.report(t, transform.Report{Skipped: reasons})
		s.noteUnreadable(list, unreadable)
	}
	r.process = func(ctx context.Context, _ int, items []jumpcloud.GraphConnection) error {
		_, err := uploadPage(ctx, s, t, readKind, items, build, upKind, send)
		return err
	}
	err := r.read(ctx, 0, nil, false)
	if errors.Is(err, errListGone) {
		s.report(t, transform.Report{Skipped: map[string]int{owner + ": deleted during the sync": 1}})
		return nil
	}
	return err
}

// Groups reads every user group, uploads it as a grouping, then uploads its direct members
// as account→grouping associations (user accounts are uploaded by an earlier phase). The
// checkpoint is the offset into the group list: a retried attempt skips the groups whose
// members were all uploaded.
func (a *Activities) Groups(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageGroups, in)
	if err != nil {
		return StageResult{}, err
	}
	members := func(ctx context.Context, t *tally, gid string) error {
		return edges(ctx, s, t, "members of group "+gid, "group", "members", "memberships",
			func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
				return s.jc.GroupMembersPage(ctx, gid, skip)
			},
			func(items []jumpcloud.GraphConnection, rep *transform.Report) []authomize.AccountAssociation {
				return transform.Memberships(gid, items, rep)
			}, s.az.UploadAccountAssociations)
	}
	r := reader(s, StageGroups, s.jc.UserGroupsPage, groupID)
	r.parallel = parentLookahead
	r.process = func(ctx context.Context, page int, items []jumpcloud.UserGroup) error {
		// The groupings go first: the memberships of this page point at them.
		groupings, err := uploadPage(ctx, s, s.tally(page), "groups", items, func(items []jumpcloud.UserGroup, rep *transform.Report) []authomize.Grouping {
			return transform.Groups(items, s.topt, rep)
		}, "groupings", s.az.UploadGroupings)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(groupings))
		for _, g := range groupings {
			keys = append(keys, g.OriginID)
		}
		return s.children(ctx, page, keys, members)
	}
	return s.finish(ctx, top(ctx, s, r))
}

// Apps reads every SSO application, uploads it as an asset (with the one SSO-access
// privilege that bindings grant), then uploads its direct bindings to users and to groups as
// permissions. JumpCloud takes one association target per request, so every app is two
// keys. LDAP and RADIUS servers are read only to be counted as skipped: they are out of
// scope and never reach Authomize.
func (a *Activities) Apps(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageApps, in)
	if err != nil {
		return StageResult{}, err
	}
	end := s.tally(stageEnd)
	if err := upload(ctx, s, end, "privileges", []authomize.Privilege{transform.SSOPrivilege()}, s.az.UploadPrivileges); err != nil {
		return s.finish(ctx, err)
	}
	bindings := func(ctx context.Context, t *tally, key string) error {
		aid, target, _ := strings.Cut(key, "|")
		return edges(ctx, s, t, target+" bindings of app "+aid, "app", "bindings", "permissions",
			func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
				return s.jc.AppAssociationsPage(ctx, aid, target, skip)
			},
			func(items []jumpcloud.GraphConnection, rep *transform.Report) []authomize.Permission {
				return transform.AppBindings(aid, items, rep)
			}, s.az.UploadPermissions)
	}
	r := reader(s, StageApps, s.jc.ApplicationsPage, appID)
	r.parallel = parentLookahead
	r.process = func(ctx context.Context, page int, items []jumpcloud.Application) error {
		assets, err := uploadPage(ctx, s, s.tally(page), "apps", items, func(items []jumpcloud.Application, rep *transform.Report) []authomize.Asset {
			return transform.Apps(items, s.topt, rep)
		}, "assets", s.az.UploadAssets)
		if err != nil {
			return err
		}
		keys := make([]string, 0, 2*len(assets))
		for _, as := range assets {
			keys = append(keys, as.OriginID+"|"+jumpcloud.GraphUser, as.OriginID+"|"+jumpcloud.GraphUserGroup)
		}
		return s.children(ctx, page, keys, bindings)
	}
	err = top(ctx, s, r)
	if err == nil {
		err = s.countOutOfScope(ctx, end)
	}
	return s.finish(ctx, err)
}

// countOutOfScope counts LDAP and RADIUS servers as skipped. A key without the rights to list
// them must not fail a sync that does not need them, so 403/404 are noted, not fatal.
func (s *stageRun) countOutOfScope(ctx context.Context, t *tally) error {
	var r transform.Report
	err := jumpcloud.Walk(ctx, s.jc.LDAPServersPage, func(p jumpcloud.Page[jumpcloud.LDAPServer]) error {
		s.notePage()
		r.Skipped = addTo(r.Skipped, "ldap server: out of scope", len(p.Items))
		return nil
	})
	if err != nil && !errors.Is(err, jumpcloud.ErrForbidden) && !errors.Is(err, jumpcloud.ErrNotFound) {
		return classify(err)
	}
	err = jumpcloud.Walk(ctx, s.jc.RadiusServersPage, func(p jumpcloud.Page[jumpcloud.RadiusServer]) error {
		s.notePage()
		r.Skipped = addTo(r.Skipped, "radius server: out of scope", len(p.Items))
		return nil
	})
	if err != nil && !errors.Is(err, jumpcloud.ErrForbidden) && !errors.Is(err, jumpcloud.ErrNotFound) {
		return classify(err)
	}
	s.report(t, r)
	return nil
}

func addTo(m map[string]int, k string, n int) map[string]int {
	if n == 0 {
		return m
	}
	if m == nil {
		m = map[string]int{}
	}
	m[k] += n
	return m
}

// Admins reads every console administrator and uploads them as accounts, their roles as
// role groupings with a privilege and a permission on the admin-console asset, and each
// admin's role memberships. Admins are few, so the stage reads them all and has no cursor.
func (a *Activities) Admins(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageAdmins, in)
	if err != nil {
		return StageResult{}, err
	}
	var admins []jumpcloud.Admin
	r := reader(s, StageAdmins, s.jc.AdminsPage, adminID)
	r.parallel = 1
	r.process = func(_ context.Context, _ int, items []jumpcloud.Admin) error {
		admins = append(admins, items...)
		return nil
	}
	if err := r.read(ctx, 0, nil, false); err != nil {
		return s.finish(ctx, err)
	}
	t := s.tally(stageEnd)
	s.read(t, "admins", len(admins))
	var rep transform.Report
	d := transform.Admins(admins, s.topt, &rep)
	s.report(t, rep)
	steps := []func() error{
		func() error {
			return upload(ctx, s, t, "assets", []authomize.Asset{transform.ConsoleAsset(s.topt)}, s.az.UploadAssets)
		},
		func() error { return upload(ctx, s, t, "privileges", d.Privileges, s.az.UploadPrivileges) },
		func() error { return upload(ctx, s, t, "groupings", d.Roles, s.az.UploadGroupings) },
		func() error { return upload(ctx, s, t, "accounts", d.Accounts, s.az.UploadUsers) },
		func() error { return upload(ctx, s, t, "memberships", d.Memberships, s.az.UploadAccountAssociations) },
		func() error { return upload(ctx, s, t, "permissions", d.Permissions, s.az.UploadPermissions) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return s.finish(ctx, err)
		}
	}
	return s.finish(ctx, nil)
}
