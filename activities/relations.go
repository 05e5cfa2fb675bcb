package activities

import (
	"context"
	"errors"
	"strings"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// Memberships walks every user group and uploads its direct members as account→grouping
// associations. The checkpoint is the offset into the group list: a retried attempt skips the
// groups whose members were all uploaded.
func (a *Activities) Memberships(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageMemberships, in)
	if err != nil {
		return StageResult{}, err
	}
	s.resume(s.cp.NextSkip / pageSize)
	list := func(ctx context.Context, skip int) ([]string, int, error) {
		p, err := s.jc.UserGroupsPage(ctx, skip)
		if err != nil {
			return nil, 0, classify(err)
		}
		s.page()
		keys := make([]string, 0, len(p.Items))
		for _, g := range p.Items {
			if g.ID != "" {
				keys = append(keys, g.ID)
			}
		}
		return keys, p.Total, nil
	}
	child := func(ctx context.Context, groupID string, skip int) (int, int, error) {
		p, err := s.jc.GroupMembersPage(ctx, groupID, skip)
		if errors.Is(err, jumpcloud.ErrNotFound) {
			// The group was deleted since the list was read: nothing to upload for it.
			s.report(transform.Report{Skipped: map[string]int{"group: deleted during the sync": 1}})
			return 0, 0, nil
		}
		if err != nil {
			return 0, 0, classify(err)
		}
		s.page()
		s.read("members", len(p.Items))
		var r transform.Report
		assoc := transform.Memberships(groupID, p.Items, &r)
		s.report(r)
		if err := upload(ctx, s, "memberships", assoc, s.az.UploadAccountAssociations); err != nil {
			return 0, 0, err
		}
		return p.Total, len(p.Items), nil
	}
	err = fanOut(ctx, s.cp.NextSkip, pageSize, s.concurrency(), list, child, func(next int) { s.commit(ctx, next) })
	return s.result(), err
}

// Bindings walks every SSO app and uploads its direct bindings, to users and to groups, as
// permissions. JumpCloud takes one association target per request, so every app is two keys.
func (a *Activities) Bindings(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageBindings, in)
	if err != nil {
		return StageResult{}, err
	}
	s.resume(s.cp.NextSkip / pageSize)
	list := func(ctx context.Context, skip int) ([]string, int, error) {
		p, err := s.jc.ApplicationsPage(ctx, skip)
		if err != nil {
			return nil, 0, classify(err)
		}
		s.page()
		keys := make([]string, 0, 2*len(p.Items))
		for _, app := range p.Items {
			if app.ID != "" {
				keys = append(keys, app.ID+"|"+jumpcloud.GraphUser, app.ID+"|"+jumpcloud.GraphUserGroup)
			}
		}
		return keys, p.Total, nil
	}
	child := func(ctx context.Context, key string, skip int) (int, int, error) {
		appID, target, _ := strings.Cut(key, "|")
		p, err := s.jc.AppAssociationsPage(ctx, appID, target, skip)
		if errors.Is(err, jumpcloud.ErrNotFound) {
			s.report(transform.Report{Skipped: map[string]int{"app: deleted during the sync": 1}})
			return 0, 0, nil
		}
		if err != nil {
			return 0, 0, classify(err)
		}
		s.page()
		s.read("bindings", len(p.Items))
		var r transform.Report
		perms := transform.AppBindings(appID, p.Items, &r)
		s.report(r)
		if err := upload(ctx, s, "permissions", perms, s.az.UploadPermissions); err != nil {
			return 0, 0, err
		}
		return p.Total, len(p.Items), nil
	}
	err = fanOut(ctx, s.cp.NextSkip, pageSize, s.concurrency(), list, child, func(next int) { s.commit(ctx, next) })
	return s.result(), err
}
