package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"jcsync/internal/authomize"
	"jcsync/internal/counts"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// parentLookahead is how many pages of groups or apps are in flight at once; their members
// and bindings share the stage's fetch slots.
const parentLookahead = 2

// parentStage is the recipe of a stage whose list holds parents (groups, apps) of type P
// that own child lists of graph edges (members, bindings). Each page of parents is mapped to
// A and uploaded first, since the relations point at it; then the child lists of each
// uploaded parent are read whole, mapped to C and uploaded. The parent list's committed
// pages, and the parents finished beyond them, are the checkpoint.
type parentStage[P, A, C any] struct {
	name             string // the stage, and its list
	fetch            func(ctx context.Context, skip int) (jumpcloud.Page[P], error)
	id               func(P) string
	readKind, upKind string // "groups", "groupings"
	build            func([]P, transform.Options, *transform.Report) []A
	send             func(context.Context, []A) (authomize.UploadResult, error)
	// keys names the child lists of an uploaded parent. The keys are the checkpoint's Done.
	keys func(A) []string

	owner              string // what a child list belongs to: "group"
	childRead, childUp string // "members", "memberships"
	childList          func(key string) string
	childFetch         func(ctx context.Context, key string, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error)
	childBuild         func(key string, edges []jumpcloud.GraphConnection, rep *transform.Report) []C
	childSend          func(context.Context, []C) (authomize.UploadResult, error)
	// ownerExists asks JumpCloud for the owner of the child list key itself (the group, the
	// app): false only when that too answers 404.
	ownerExists func(ctx context.Context, key string) (bool, error)
}

// read reads the parent list from the checkpoint on, with every child list.
func (p *parentStage[P, A, C]) read(ctx context.Context, s *stageRun) error {
	r := reader(s, p.name, p.fetch, p.id)
	r.parallel = parentLookahead
	r.process = func(ctx context.Context, page int, items []P) error {
		parents, err := uploadPage(ctx, s, s.pageTally(page), p.readKind, items, func(items []P, rep *transform.Report) []A {
			return p.build(items, s.topt, rep)
		}, p.upKind, p.send)
		if err != nil {
			return err
		}
		var keys []string
		for _, parent := range parents {
			keys = append(keys, p.keys(parent)...)
		}
		return p.children(ctx, s, page, keys)
	}
	return readStageList(ctx, s, r)
}

// children reads the child lists of the keys on one parent page, each whole, and records
// each finished key so a retried attempt skips it.
func (p *parentStage[P, A, C]) children(ctx context.Context, s *stageRun, page int, keys []string) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, key := range keys {
		if s.skipFinishedParent(key) {
			continue
		}
		g.Go(func() error {
			if err := p.child(gctx, s, s.parentTally(page, key), key); err != nil {
				return err
			}
			s.finishParent(page, key)
			return nil
		})
	}
	return g.Wait()
}

// child reads the child list of key whole and uploads what it maps to into the parent's
// tally t. Member and binding lists have no documented order, so the reader treats them as
// lists that reorder (see listReader.reorders).
//
// A 404 on the list is believed only once the owner itself (GET the group, the app) answers
// 404 too: then it was deleted during the sync, it is counted as skipped, and the list ends
// there. A 404 from a list whose owner still exists (a gateway's answer, a list endpoint that
// lags its owner) says nothing of its relations; taking it for the end would leave them
// unsent, and the sweep would delete them. It fails the attempt, which is retried.
func (p *parentStage[P, A, C]) child(ctx context.Context, s *stageRun, t *tally, key string) error {
	list := p.childList(key)
	r := reader(s, list, func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
		page, err := p.childFetch(ctx, key, skip)
		if errors.Is(err, jumpcloud.ErrNotFound) {
			return page, errListGone
		}
		return page, err
	}, edgeKey)
	r.skipped = func(_ context.Context, _ int, left leftOut) error {
		s.addReport(t, transform.Report{Skipped: left.skipped, Adjusted: left.adjusted})
		s.markUnreadable(list, left.unreadable)
		return nil
	}
	r.process = func(ctx context.Context, _ int, items []jumpcloud.GraphConnection) error {
		_, err := uploadPage(ctx, s, t, p.childRead, items, func(items []jumpcloud.GraphConnection, rep *transform.Report) []C {
			return p.childBuild(key, items, rep)
		}, p.childUp, p.childSend)
		return err
	}
	r.reorders = true
	err := r.read(ctx, 0, nil, false)
	if !errors.Is(err, errListGone) {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	exists, err := p.ownerExists(ctx, key)
	s.release()
	if err != nil {
		return classify(fmt.Errorf("%s answered 404; checking its %s: %w", list, p.owner, err))
	}
	if exists {
		// Not wrapped: the 404 is not this error's cause, and a 404 is never retried.
		return classify(fmt.Errorf("%s answered 404 although its %s exists: not taken for an empty list", list, p.owner))
	}
	s.addReport(t, transform.Report{Skipped: counts.Counts{p.owner + ": deleted during the sync": 1}})
	return nil
}

func groupID(g jumpcloud.UserGroup) string       { return g.ID }
func appID(a jumpcloud.Application) string       { return a.ID }
func edgeKey(c jumpcloud.GraphConnection) string { return c.To.Type + ":" + c.To.ID }

// Groups reads every user group, uploads it as a grouping, then uploads its direct members
// as account→grouping associations (user accounts are uploaded by an earlier phase). The
// checkpoint is the offset into the group list: a retried attempt skips the groups whose
// members were all uploaded.
func (a *Activities) Groups(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageGroups, in)
	if err != nil {
		return StageResult{}, err
	}
	dropped := s.loadDropped(StageUsers)
	users := dropped[StageUsers].as(transform.UserAccountID)
	groups := &parentStage[jumpcloud.UserGroup, authomize.Grouping, authomize.AccountAssociation]{
		name: StageGroups, fetch: s.jc.UserGroupsPage, id: groupID,
		readKind: "groups", upKind: "groupings", build: transform.Groups, send: s.az.UploadGroupings,
		keys:  func(g authomize.Grouping) []string { return []string{g.OriginID} },
		owner: "group", childRead: "members", childUp: "memberships",
		childList:  func(gid string) string { return "members of group " + gid },
		childFetch: s.jc.GroupMembersPage,
		// A membership of a user the users stage left out would point at a record this run
		// did not upload.
		childBuild: func(gid string, edges []jumpcloud.GraphConnection, rep *transform.Report) []authomize.AccountAssociation {
			return withoutDroppedMembers(transform.Memberships(gid, edges, rep), users, rep)
		},
		childSend:   s.az.UploadAccountAssociations,
		ownerExists: s.jc.UserGroupExists,
	}
	return s.finish(ctx, groups.read(ctx, s))
}

// Apps reads every SSO application, uploads it as an asset (with the one SSO-access
// privilege that bindings grant), then uploads its direct bindings to users and to groups as
// permissions. JumpCloud takes one association target per request, so every app is two
// keys, "<app id>|<target>". LDAP and RADIUS servers are read only to be counted as skipped:
// they are out of scope and never reach Authomize.
func (a *Activities) Apps(ctx context.Context, in StageInput) (StageResult, error) {
	s, err := a.startStage(ctx, StageApps, in)
	if err != nil {
		return StageResult{}, err
	}
	dropped := s.loadDropped(StageUsers, StageGroups)
	users, groups := dropped[StageUsers].as(transform.UserAccountID), dropped[StageGroups].as(transform.GroupID)
	end := s.pageTally(stageEnd)
	if err := upload(ctx, s, end, "privileges", []authomize.Privilege{transform.SSOPrivilege()}, s.az.UploadPrivileges); err != nil {
		return s.finish(ctx, err)
	}
	apps := &parentStage[jumpcloud.Application, authomize.Asset, authomize.Permission]{
		name: StageApps, fetch: s.jc.ApplicationsPage, id: appID,
		readKind: "apps", upKind: "assets", build: transform.Apps, send: s.az.UploadAssets,
		keys: func(as authomize.Asset) []string {
			return []string{as.OriginID + "|" + jumpcloud.GraphUser, as.OriginID + "|" + jumpcloud.GraphUserGroup}
		},
		owner: "app", childRead: "bindings", childUp: "permissions",
		childList: func(key string) string {
			aid, target, _ := strings.Cut(key, "|")
			return target + " bindings of app " + aid
		},
		childFetch: func(ctx context.Context, key string, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
			aid, target, _ := strings.Cut(key, "|")
			return s.jc.AppAssociationsPage(ctx, aid, target, skip)
		},
		childBuild: func(key string, edges []jumpcloud.GraphConnection, rep *transform.Report) []authomize.Permission {
			aid, _, _ := strings.Cut(key, "|")
			// A binding of a user or group an earlier stage left out would point at a
			// record this run did not upload.
			return withoutDroppedSources(transform.AppBindings(aid, edges, rep), users, groups, rep)
		},
		childSend: s.az.UploadPermissions,
		ownerExists: func(ctx context.Context, key string) (bool, error) {
			aid, _, _ := strings.Cut(key, "|")
			return s.jc.ApplicationExists(ctx, aid)
		},
	}
	err = apps.read(ctx, s)
	if err == nil {
		err = s.countOutOfScope(ctx, end)
	}
	return s.finish(ctx, err)
}
