package transform

import (
	"strings"
	"unicode"
)

// Authomize uniqueIds for everything the connector uploads. They are stable across runs
// (the sweep keeps only what a run re-sent, so an id that changed between runs would be
// deleted and re-created) and derived only from JumpCloud ids or role names.
const (
	// ConsoleAssetID is the asset that admin roles grant access to: the JumpCloud admin console.
	ConsoleAssetID = "jumpcloud-admin-console"
	// SSOPrivilegeID is the one privilege that an SSO app binding grants.
	SSOPrivilegeID = "jumpcloud-sso-access"
)

// UserAccountID is the account id of a directory user: its JumpCloud _id.
func UserAccountID(userID string) string { return userID }

// AdminAccountID is the account id of a console administrator. Admins log in separately from
// directory users, so they are separate accounts.
func AdminAccountID(adminID string) string { return "admin:" + adminID }

// GroupID is the grouping id of a user group: its JumpCloud id.
func GroupID(groupID string) string { return groupID }

// AppAssetID is the asset id of an SSO application: its JumpCloud _id.
func AppAssetID(appID string) string { return appID }

// RoleGroupingID is the role grouping of an admin role. Role names are compared
// case-insensitively (JumpCloud's sources disagree on capitalisation), so the id is a slug.
func RoleGroupingID(roleName string) string { return "role:" + RoleSlug(roleName) }

// RolePrivilegeID is the privilege an admin role holds on the admin console.
func RolePrivilegeID(roleName string) string { return "role-privilege:" + RoleSlug(roleName) }

// RoleSlug lower-cases a role name and joins its words with '-'.
func RoleSlug(roleName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(roleName)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "unnamed"
	}
	return b.String()
}
