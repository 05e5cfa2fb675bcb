package activities

import (
	"context"
	"errors"

	"jcsync/internal/authomize"
	"jcsync/internal/counts"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// reader builds a list reader wired to the stage: fetches take one of the stage's slots and
// count as pages, changes and repairs are counted, an unstable list is marked. Records
// JumpCloud sent that the client could not use are counted in the tally of their page.
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
			s.countPage()
			return p, nil
		},
		key: key,
		skipped: func(ctx context.Context, skip int, left leftOut) error {
			s.addReport(s.pageTally(skip), transform.Report{Skipped: left.skipped, Adjusted: left.adjusted})
			return s.leftOut(ctx, name, left.unreadable)
		},
		parallel: s.pageCap(),
		changed:  s.countChange,
		repaired: s.countRepairs,
		unstable: s.markUnstable,
		short:    s.noteShort,
	}
}

// readStageList reads the stage's own list from the checkpoint on: its committed pages are
// the checkpoint. Every stage list (users, groups, apps) is sorted by id, which is what lets a
// retried attempt tell what the committed pages counted (see listReader.ordered).
func readStageList[T any](ctx context.Context, s *stageRun, r *listReader[T]) error {
	r.ordered = true
	r.commit = s.commitPages
	r.first = s.setTotal
	s.countResumed(s.cp.NextSkip / r.stride())
	return r.read(ctx, s.cp.NextSkip, s.cp.Tail, s.cp.Ended)
}

// uploadPage counts a page of JumpCloud records as read into the tally t, maps them with
// build (which reports what it skipped or adjusted) and uploads the result as upKind. It
// returns what it uploaded, for the relations that point at it.
func uploadPage[T, U any](ctx context.Context, s *stageRun, t *tally, readKind string, items []T,
	build func([]T, *transform.Report) []U, upKind string, send func(context.Context, []U) (authomize.UploadResult, error)) ([]U, error) {
	s.countRead(t, readKind, len(items))
	var rep transform.Report
	out := build(items, &rep)
	s.addReport(t, rep)
	return out, upload(ctx, s, t, upKind, out, send)
}

func systemUserID(u jumpcloud.SystemUser) string { return u.ID }
func adminID(a jumpcloud.Admin) string           { return a.ID }

// Users reads every directory user and uploads them as accounts (and identities).
func (a *Activities) Users(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageUsers, in)
	if err != nil {
		return StageResult{}, err
	}
	s.keep = s.keepAccounts(transform.UserAccountID, s.topt.Identities)
	r := reader(s, StageUsers, s.jc.SystemUsersPage, systemUserID)
	r.process = func(ctx context.Context, page int, items []jumpcloud.SystemUser) error {
		t := s.pageTally(page)
		s.countRead(t, "users", len(items))
		var rep transform.Report
		users, identities := transform.Users(items, s.topt, &rep)
		s.addReport(t, rep)
		if err := upload(ctx, s, t, "accounts", users, s.az.UploadUsers); err != nil {
			return err
		}
		return upload(ctx, s, t, "identities", identities, s.az.UploadIdentities)
	}
	return s.finish(ctx, readStageList(ctx, s, r))
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
	s.keep = s.keepAccounts(transform.AdminAccountID, false)
	r := reader(s, StageAdmins, s.jc.AdminsPage, adminID)
	r.parallel = 1
	r.ordered = true // sort=_id
	r.process = func(_ context.Context, _ int, items []jumpcloud.Admin) error {
		admins = append(admins, items...)
		return nil
	}
	if err := r.read(ctx, 0, nil, false); err != nil {
		return s.finish(ctx, err)
	}
	t := s.pageTally(stageEnd)
	s.countRead(t, "admins", len(admins))
	var rep transform.Report
	d := transform.Admins(admins, s.topt, &rep)
	s.addReport(t, rep)
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

// countOutOfScope counts LDAP and RADIUS servers as skipped. A key without the rights to list
// them must not fail a sync that does not need them, so 403/404 are noted, not fatal.
func (s *stageRun) countOutOfScope(ctx context.Context, t *tally) error {
	var skipped counts.Counts
	err := jumpcloud.Walk(ctx, s.jc.LDAPServersPage, func(p jumpcloud.Page[jumpcloud.LDAPServer]) error {
		s.countPage()
		skipped = skipped.Add("ldap server: out of scope", len(p.Items))
		return nil
	})
	if err != nil && !errors.Is(err, jumpcloud.ErrForbidden) && !errors.Is(err, jumpcloud.ErrNotFound) {
		return classify(err)
	}
	err = jumpcloud.Walk(ctx, s.jc.RadiusServersPage, func(p jumpcloud.Page[jumpcloud.RadiusServer]) error {
		s.countPage()
		skipped = skipped.Add("radius server: out of scope", len(p.Items))
		return nil
	})
	if err != nil && !errors.Is(err, jumpcloud.ErrForbidden) && !errors.Is(err, jumpcloud.ErrNotFound) {
		return classify(err)
	}
	s.addReport(t, transform.Report{Skipped: skipped})
	return nil
}
