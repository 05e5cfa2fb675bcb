package activities

import (
	"context"
	"errors"
	"strings"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// pageSize is JumpCloud's maximum page: the fewest requests per list.
const pageSize = 100

func (s *stageRun) concurrency() int {
	if s.a.PageConcurrency > 0 {
		return s.a.PageConcurrency
	}
	return 8
}

// resume notes how many pages the checkpoint spared this attempt.
func (s *stageRun) resume(pages int) {
	if s.cp.Counts.Attempts > 1 && pages > 0 {
		s.cp.Counts.PagesResumed += pages
	}
}

// finish ends a stage: its result, and err as the activity's error.
func (s *stageRun) finish(err error) (StageResult, error) {
	return s.result(err), err
}

// Users reads every directory user and uploads them as accounts (and identities).
func (a *Activities) Users(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageUsers, in)
	if err != nil {
		return StageResult{}, err
	}
	s.resume(s.cp.NextSkip / pageSize)
	err = walkPages(ctx, s.cp.NextSkip, pageSize, s.concurrency(), func(ctx context.Context, skip int) (int, int, error) {
		p, err := s.jc.SystemUsersPage(ctx, skip)
		if err != nil {
			return 0, 0, classify(err)
		}
		s.page()
		s.total(StageUsers, p.Total)
		t := s.tally(skip)
		s.read(t, "users", len(p.Items))
		var r transform.Report
		users, identities := transform.Users(p.Items, s.topt, &r)
		s.report(t, r)
		if err := upload(ctx, s, t, "accounts", users, s.az.UploadUsers); err != nil {
			return 0, 0, err
		}
		if err := upload(ctx, s, t, "identities", identities, s.az.UploadIdentities); err != nil {
			return 0, 0, err
		}
		return p.Total, len(p.Items), nil
	}, func(next int) { s.commit(ctx, next) })
	return s.finish(err)
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
	s.resume(s.cp.NextSkip / pageSize)
	list := func(ctx context.Context, skip int) ([]string, int, int, error) {
		p, err := s.jc.UserGroupsPage(ctx, skip)
		if err != nil {
			return nil, 0, 0, classify(err)
		}
		s.page()
		s.total(StageGroups, p.Total)
		t := s.tally(skip)
		s.read(t, "groups", len(p.Items))
		var r transform.Report
		groupings := transform.Groups(p.Items, s.topt, &r)
		s.report(t, r)
		// The groupings go first: the memberships of this page point at them.
		if err := upload(ctx, s, t, "groupings", groupings, s.az.UploadGroupings); err != nil {
			return nil, 0, 0, err
		}
		keys := make([]string, 0, len(groupings))
		for _, g := range groupings {
			keys = append(keys, g.OriginID)
		}
		return keys, len(p.Items), p.Total, nil
	}
	child := func(ctx context.Context, parentSkip int, groupID string, skip int) (int, int, error) {
		t := s.parentTally(parentSkip, groupID)
		p, err := s.jc.GroupMembersPage(ctx, groupID, skip)
		if errors.Is(err, jumpcloud.ErrNotFound) {
			// The group was deleted since the list was read: nothing to upload for it.
			s.report(t, transform.Report{Skipped: map[string]int{"group: deleted during the sync": 1}})
			return 0, 0, nil
		}
		if err != nil {
			return 0, 0, classify(err)
		}
		s.page()
		childTotal(s, "members of group "+groupID, p)
		s.read(t, "members", len(p.Items))
		var r transform.Report
		assoc := transform.Memberships(groupID, p.Items, &r)
		s.report(t, r)
		if err := upload(ctx, s, t, "memberships", assoc, s.az.UploadAccountAssociations); err != nil {
			return 0, 0, err
		}
		return p.Total, len(p.Items), nil
	}
	err = fanOut(ctx, s.cp.NextSkip, pageSize, s.concurrency(), list, child, func(next int) { s.commit(ctx, next) }, s.parents(ctx))
	return s.finish(err)
}

// parents hooks the stage's checkpoint into the fan-out: parents finished by an earlier
// attempt are skipped, finished ones are recorded.
func (s *stageRun) parents(ctx context.Context) parents {
	return parents{
		done:   func(_ int, key string) bool { return s.wasDone(key) },
		finish: func(page int, key string) { s.parentDone(ctx, page, key) },
	}
}

// childTotal checks a child list (members of a group, bindings of an app) for changes
// across its pages; a list of one page has nothing to compare and is not remembered.
func childTotal[T any](s *stageRun, list string, p jumpcloud.Page[T]) {
	if p.Skip == 0 && !p.More() {
		return
	}
	s.total(list, p.Total)
	if !p.More() {
		s.forget(list)
	}
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
		return s.finish(err)
	}
	s.resume(s.cp.NextSkip / pageSize)
	list := func(ctx context.Context, skip int) ([]string, int, int, error) {
		p, err := s.jc.ApplicationsPage(ctx, skip)
		if err != nil {
			return nil, 0, 0, classify(err)
		}
		s.page()
		s.total(StageApps, p.Total)
		t := s.tally(skip)
		s.read(t, "apps", len(p.Items))
		var r transform.Report
		assets := transform.Apps(p.Items, s.topt, &r)
		s.report(t, r)
		if err := upload(ctx, s, t, "assets", assets, s.az.UploadAssets); err != nil {
			return nil, 0, 0, err
		}
		keys := make([]string, 0, 2*len(assets))
		for _, as := range assets {
			keys = append(keys, as.OriginID+"|"+jumpcloud.GraphUser, as.OriginID+"|"+jumpcloud.GraphUserGroup)
		}
		return keys, len(p.Items), p.Total, nil
	}
	child := func(ctx context.Context, parentSkip int, key string, skip int) (int, int, error) {
		t := s.parentTally(parentSkip, key)
		appID, target, _ := strings.Cut(key, "|")
		p, err := s.jc.AppAssociationsPage(ctx, appID, target, skip)
		if errors.Is(err, jumpcloud.ErrNotFound) {
			s.report(t, transform.Report{Skipped: map[string]int{"app: deleted during the sync": 1}})
			return 0, 0, nil
		}
		if err != nil {
			return 0, 0, classify(err)
		}
		s.page()
		childTotal(s, target+" bindings of app "+appID, p)
		s.read(t, "bindings", len(p.Items))
		var r transform.Report
		perms := transform.AppBindings(appID, p.Items, &r)
		s.report(t, r)
		if err := upload(ctx, s, t, "permissions", perms, s.az.UploadPermissions); err != nil {
			return 0, 0, err
		}
		return p.Total, len(p.Items), nil
	}
	err = fanOut(ctx, s.cp.NextSkip, pageSize, s.concurrency(), list, child, func(next int) { s.commit(ctx, next) }, s.parents(ctx))
	if err == nil {
		err = s.countOutOfScope(ctx, end)
	}
	return s.finish(err)
}

// countOutOfScope counts LDAP and RADIUS servers as skipped. A key without the rights to list
// them must not fail a sync that does not need them, so 403/404 are noted, not fatal.
func (s *stageRun) countOutOfScope(ctx context.Context, t *tally) error {
	var r transform.Report
	err := jumpcloud.Walk(ctx, s.jc.LDAPServersPage, func(p jumpcloud.Page[jumpcloud.LDAPServer]) error {
		s.page()
		r.Skipped = addTo(r.Skipped, "ldap server: out of scope", len(p.Items))
		return nil
	})
	if err != nil && !errors.Is(err, jumpcloud.ErrForbidden) && !errors.Is(err, jumpcloud.ErrNotFound) {
		return classify(err)
	}
	err = jumpcloud.Walk(ctx, s.jc.RadiusServersPage, func(p jumpcloud.Page[jumpcloud.RadiusServer]) error {
		s.page()
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
	err = jumpcloud.Walk(ctx, s.jc.AdminsPage, func(p jumpcloud.Page[jumpcloud.Admin]) error {
		s.page()
		s.total(StageAdmins, p.Total)
		admins = append(admins, p.Items...)
		return nil
	})
	if err != nil {
		return s.finish(classify(err))
	}
	t := s.tally(stageEnd)
	s.read(t, "admins", len(admins))
	var r transform.Report
	d := transform.Admins(admins, s.topt, &r)
	s.report(t, r)
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
			return s.finish(err)
		}
	}
	return s.finish(nil)
}
