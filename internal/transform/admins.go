package transform

import (
	"net/url"
	"strings"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// Origin types shown in Authomize for what the transform creates.
const (
	originAdminRole = "JumpCloud Admin Role"
	originUserGroup = "JumpCloud User Group"
	originSSOApp    = "JumpCloud SSO Application"
)

// builtinRole describes a built-in admin role: JumpCloud's own spelling and the
// privilege type it holds on the admin console.
//
// Privilege types (enum NewPrivilegeType) per role, and why:
//   - Administrator (With Billing): full control of the org → Administrative.
//   - Manager: manages users, groups, devices and app access, i.e. decides who can reach
//     what → Administrative.
//   - Command Runner (With Billing): runs commands as root on managed devices; the console
//     is otherwise read-only for them, but fleet-wide code execution is administrative.
//   - Help Desk: resets passwords, unlocks and re-activates existing users; it changes
//     directory data without administering the org → Data Write.
//   - Read Only: sees all directory data (users, devices, groups) and changes nothing
//     → Data Read. (Not Metadata Read: user records are the data itself.)
//   - Billing Only: sees and manages the subscription, none of the directory; nothing it
//     can do changes anyone's access → Metadata Read.
//
// A custom or unknown role gets no privilegeType (the field is optional): nothing tells us
// what it grants, and guessing Administrative would inflate risk while guessing a read type
// would hide it.
type builtinRole struct {
	name          string
	privilegeType string
}

var builtinRoles = map[string]builtinRole{
	RoleSlug(jumpcloud.RoleAdministratorWithBilling): {jumpcloud.RoleAdministratorWithBilling, authomize.PrivilegeAdministrative},
	RoleSlug(jumpcloud.RoleAdministrator):            {jumpcloud.RoleAdministrator, authomize.PrivilegeAdministrative},
	RoleSlug(jumpcloud.RoleManager):                  {jumpcloud.RoleManager, authomize.PrivilegeAdministrative},
	RoleSlug(jumpcloud.RoleCommandRunnerWithBilling): {jumpcloud.RoleCommandRunnerWithBilling, authomize.PrivilegeAdministrative},
	RoleSlug(jumpcloud.RoleCommandRunner):            {jumpcloud.RoleCommandRunner, authomize.PrivilegeAdministrative},
	RoleSlug(jumpcloud.RoleHelpDesk):                 {jumpcloud.RoleHelpDesk, authomize.PrivilegeDataWrite},
	RoleSlug(jumpcloud.RoleReadOnly):                 {jumpcloud.RoleReadOnly, authomize.PrivilegeDataRead},
	RoleSlug(jumpcloud.RoleBillingOnly):              {jumpcloud.RoleBillingOnly, authomize.PrivilegeMetadataRead},
}

// adminRoles returns the admin's roles: roleName then roleNames, cleaned, without blanks,
// deduplicated case-insensitively by slug (first spelling wins). The role ObjectIds in
// role/roles are ignored: nothing pairs them with names, and names are what the ids use.
func adminRoles(a *jumpcloud.Admin, r *Report) []string {
	var out []string
	seen := make(map[string]struct{}, 1+len(a.RoleNames))
	add := func(raw string) {
		n := name(raw, "admin.role", r)
		if n == "" {
			return
		}
		slug := RoleSlug(n)
		if _, dup := seen[slug]; dup {
			return
		}
		seen[slug] = struct{}{}
		out = append(out, n)
	}
	add(a.RoleName)
	for _, n := range a.RoleNames {
		add(n)
	}
	return out
}

// Admins maps the console administrators (the whole list) to accounts, role groupings,
// role privileges, admin→role memberships and role→console permissions.
//
// Roles are derived from the admins because JumpCloud has no documented role listing, so
// only roles someone holds appear. A role's display name is JumpCloud's canonical spelling
// for a built-in role (so the name does not flip between runs when the admin list comes
// back in another order), otherwise the first spelling seen in the list.
func Admins(in []jumpcloud.Admin, opt Options, r *Report) AdminData {
	owner := opt.owner()
	out := AdminData{Accounts: make([]authomize.User, 0, len(in))}
	seenAdmin := make(map[string]struct{}, len(in))
	roleIndex := make(map[string]struct{})
	for i := range in {
		a := &in[i]
		id, st := cleanID(a.ID)
		if st != idOK {
			r.Skip(skipReason("admin", "_id", st))
			continue
		}
		if _, dup := seenAdmin[id]; dup {
			r.Skip("admin: duplicate _id")
			continue
		}
		seenAdmin[id] = struct{}{}
		acc := adminAccount(id, a, r)
		out.Accounts = append(out.Accounts, acc)

		roles := adminRoles(a, r)
		if len(roles) == 0 {
			r.Skip("admin: no role")
			continue
		}
		for _, role := range roles {
			slug := RoleSlug(role)
			out.Memberships = append(out.Memberships, authomize.AccountAssociation{
				SourceID: acc.UniqueID,
				TargetID: RoleGroupingID(role),
			})
			if _, known := roleIndex[slug]; known {
				continue
			}
			roleIndex[slug] = struct{}{}
			display, ptype := role, ""
			if b, ok := builtinRoles[slug]; ok {
				display, ptype = b.name, b.privilegeType
			}
			out.Roles = append(out.Roles, authomize.Grouping{
				UniqueID:   RoleGroupingID(role),
				Name:       display,
				OriginType: originAdminRole,
				Type:       authomize.GroupingTypeGroup,
				IsRole:     true,
				Owner:      owner,
				Tags:       tags(tagAdmin),
			})
			out.Privileges = append(out.Privileges, authomize.Privilege{
				UniqueID:      RolePrivilegeID(role),
				OriginName:    display,
				PrivilegeType: ptype,
			})
			out.Permissions = append(out.Permissions, authomize.Permission{
				SourceUniqueID: RoleGroupingID(role),
				SourceType:     authomize.SourceGrouping,
				PrivilegeID:    RolePrivilegeID(role),
				AssetID:        ConsoleAssetID,
				IsRole:         true,
			})
		}
	}
	return out
}

// adminAccount builds the account of one console administrator whose id is clean.
func adminAccount(id string, a *jumpcloud.Admin, r *Report) authomize.User {
	acc := authomize.User{
		UniqueID:  AdminAccountID(id),
		OriginID:  id,
		Email:     email(a.Email, "admin.email", r),
		FirstName: name(a.Firstname, "admin.firstName", r),
		LastName:  name(a.Lastname, "admin.lastName", r),
		Status:    authomize.StatusEnabled,
		// enableMultiFactor is the org requiring MFA of this admin, totpEnrolled is the
		// admin having a TOTP factor; either means sign-in needs a second factor.
		HasMFA: boolPtr(a.EnableMultiFactor || a.TOTPEnrolled),
		// Tagged so that reviewers can tell console logins from directory users at a glance.
		Tags: tags(tagAdmin),
	}
	if a.Suspended {
		acc.Status = authomize.StatusSuspended
	}
	// Admins sign in with their email, so it is their name.
	acc.Name = acc.Email
	if acc.Name == "" {
		if full := strings.TrimSpace(acc.FirstName + " " + acc.LastName); full != "" {
			acc.Name = full
			r.Adjust("admin.name: no email, used full name")
		} else {
			acc.Name = id
			r.Adjust("admin.name: no email or name, used _id")
		}
	}
	return acc
}

// DefaultConsoleURL is the admin console of JumpCloud's default (US) region.
const DefaultConsoleURL = "https://console.jumpcloud.com"

// ConsoleURLFor maps an integration's JumpCloud base URL to its admin console link.
// JumpCloud serves its API from the console's own host, one per region
// (console.jumpcloud.com, console.eu.jumpcloud.com), so a console host of jumpcloud.com is
// the link: https, without port or path. Anything else (empty, a simulator, a proxy) gives
// DefaultConsoleURL: the link is for people in Authomize and must point at JumpCloud, never
// at an address inside the worker's network.
func ConsoleURLFor(jumpCloudBaseURL string) string {
	u, err := url.Parse(strings.TrimSpace(jumpCloudBaseURL))
	if err != nil {
		return DefaultConsoleURL
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	region, ok := strings.CutPrefix(host, "console.")
	if !ok {
		return DefaultConsoleURL
	}
	region, ok = strings.CutSuffix(region, "jumpcloud.com")
	switch {
	case !ok:
		return DefaultConsoleURL
	case region == "":
		return "https://" + host // console.jumpcloud.com
	}
	// One DNS label between "console." and "jumpcloud.com": the region.
	region, ok = strings.CutSuffix(region, ".")
	if !ok || !isDNSLabel(region) {
		return DefaultConsoleURL
	}
	return "https://" + host
}

// isDNSLabel reports whether s is one host name label: letters, digits and inner hyphens.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// consoleURL is opt.ConsoleURL when it is a usable link (an absolute http(s) URL, kept whole
// up to maxURL), else DefaultConsoleURL: the console asset always has a link.
func (o Options) consoleURL() string {
	if v := httpURL(whole(o.ConsoleURL, maxURL, "", nil)); v != "" {
		return v
	}
	return DefaultConsoleURL
}

// ConsoleAsset is the JumpCloud admin console asset that admin roles grant access to; its
// link is the org's console (Options.ConsoleURL).
func ConsoleAsset(opt Options) authomize.Asset {
	return authomize.Asset{
		UniqueID:   ConsoleAssetID,
		Name:       "JumpCloud Admin Console",
		Type:       authomize.AssetApplication,
		Href:       opt.consoleURL(),
		OriginType: "JumpCloud Admin Console",
		Owner:      opt.owner(),
		Tags:       tags(tagJumpCloud),
	}
}
