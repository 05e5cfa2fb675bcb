// Package transform maps JumpCloud models to Authomize models. Pure functions: no I/O.
package transform

import (
	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// Options are the per-integration choices that change the mapping.
type Options struct {
	// Identities also emits an Authomize identity per directory user (JumpCloud is the
	// organisation's source of truth for people).
	Identities bool
	// OwnerID, when set, is the uniqueId of the account that owns every asset and grouping.
	OwnerID string
}

// Report counts what the transform skipped or adjusted, by reason. Reasons are short
// stable keys such as "user: missing _id" or "user.title: truncated to 64". A nil *Report
// is allowed and counts nothing.
type Report struct {
	Skipped  map[string]int `json:"skipped,omitempty"`
	Adjusted map[string]int `json:"adjusted,omitempty"`
}

// AdminData is everything derived from the console administrators.
type AdminData struct {
	Accounts    []authomize.User
	Roles       []authomize.Grouping
	Privileges  []authomize.Privilege
	Memberships []authomize.AccountAssociation
	Permissions []authomize.Permission
}

// Users maps directory users to accounts (and identities when opt.Identities).
func Users(in []jumpcloud.SystemUser, opt Options, r *Report) ([]authomize.User, []authomize.Identity) {
	panic("unimplemented")
}

// Admins maps the console administrators (the whole list) to accounts, role groupings,
// role privileges, admin→role memberships and role→console permissions.
func Admins(in []jumpcloud.Admin, opt Options, r *Report) AdminData { panic("unimplemented") }

// ConsoleAsset is the JumpCloud admin console asset that admin roles grant access to.
func ConsoleAsset(opt Options) authomize.Asset { panic("unimplemented") }

// Groups maps user groups to groupings.
func Groups(in []jumpcloud.UserGroup, opt Options, r *Report) []authomize.Grouping {
	panic("unimplemented")
}

// Memberships maps the direct members of one group to account→grouping associations.
// Members that are not users are skipped and counted.
func Memberships(groupID string, members []jumpcloud.GraphConnection, r *Report) []authomize.AccountAssociation {
	panic("unimplemented")
}

// Apps maps SSO applications to assets.
func Apps(in []jumpcloud.Application, opt Options, r *Report) []authomize.Asset {
	panic("unimplemented")
}

// SSOPrivilege is the privilege an SSO app binding grants.
func SSOPrivilege() authomize.Privilege { panic("unimplemented") }

// AppBindings maps the direct associations of one app (targets=user or user_group) to
// permissions. Edges to LDAP/RADIUS or other types are skipped and counted.
func AppBindings(appID string, edges []jumpcloud.GraphConnection, r *Report) []authomize.Permission {
	panic("unimplemented")
}
