package jumpcloud

// Typed models for what the connector reads from JumpCloud. Field names follow JumpCloud's
// swagger (v1 objects use "_id", v2 objects use "id"). Unknown fields are ignored by
// encoding/json; missing optional fields decode as zero values.
//
// A model declares only the fields the mapping to Authomize uses (and the ids the client
// checks). Every record is decoded on its own and one that does not fit its model is
// skipped, so a declared field is a field whose wrong type costs the record: a field nobody
// reads must not be declared, and then JumpCloud may send it as anything. The v1 `fields`
// projection is derived from these declarations, so an undeclared field is not transferred
// either.
//
// Application deliberately has no Config field: JumpCloud returns SAML certificates and
// private keys inside an app's "config", and a field that is never decoded can never be
// logged, transformed or uploaded.

// SystemUser is a directory user (GET /api/systemusers).
type SystemUser struct {
	ID                 string         `json:"_id"`
	Username           string         `json:"username,omitempty"`
	Email              string         `json:"email,omitempty"`
	Firstname          string         `json:"firstname,omitempty"`
	Lastname           string         `json:"lastname,omitempty"`
	Activated          bool           `json:"activated,omitempty"`
	State              string         `json:"state,omitempty"` // STAGED, ACTIVATED, SUSPENDED
	Suspended          bool           `json:"suspended,omitempty"`
	AccountLocked      bool           `json:"account_locked,omitempty"`
	Department         string         `json:"department,omitempty"`
	JobTitle           string         `json:"jobTitle,omitempty"`
	Company            string         `json:"company,omitempty"`
	CostCenter         string         `json:"costCenter,omitempty"`
	EmployeeType       string         `json:"employeeType,omitempty"`
	Location           string         `json:"location,omitempty"`
	Description        string         `json:"description,omitempty"`
	EmployeeIdentifier string         `json:"employeeIdentifier,omitempty"`
	Manager            string         `json:"manager,omitempty"`
	TOTPEnabled        bool           `json:"totp_enabled,omitempty"`
	MFA                *MFA           `json:"mfa,omitempty"`
	MFAEnrollment      *MFAEnrollment `json:"mfaEnrollment,omitempty"`
	Addresses          []Address      `json:"addresses,omitempty"`
}

// User states as JumpCloud reports them.
const (
	StateStaged    = "STAGED"
	StateActivated = "ACTIVATED"
	StateSuspended = "SUSPENDED"
)

// MFA is a system user's MFA configuration: configured or not.
type MFA struct {
	Configured bool `json:"configured,omitempty"`
}

// MFAEnrollment is a system user's MFA enrollment. JumpCloud also reports each factor;
// the overall status is what says whether the user has MFA.
type MFAEnrollment struct {
	OverallStatus string `json:"overallStatus,omitempty"`
}

// Address is a postal address of a system user.
type Address struct {
	Type     string `json:"type,omitempty"`
	Locality string `json:"locality,omitempty"`
	Country  string `json:"country,omitempty"`
}

// Admin is a console administrator (GET /api/users, undocumented but used by JumpCloud's
// own tools). Admins log in separately from directory users.
type Admin struct {
	ID                string   `json:"_id"`
	Email             string   `json:"email,omitempty"`
	Firstname         string   `json:"firstname,omitempty"`
	Lastname          string   `json:"lastname,omitempty"`
	RoleName          string   `json:"roleName,omitempty"`
	RoleNames         []string `json:"roleNames,omitempty"`
	EnableMultiFactor bool     `json:"enableMultiFactor,omitempty"`
	TOTPEnrolled      bool     `json:"totpEnrolled,omitempty"`
	Suspended         bool     `json:"suspended,omitempty"`
}

// Built-in admin role names (JumpCloud's PowerShell module ValidateSet). Compare
// case-insensitively: sources disagree on capitalisation.
const (
	RoleAdministratorWithBilling = "Administrator With Billing"
	RoleAdministrator            = "Administrator"
	RoleManager                  = "Manager"
	RoleCommandRunnerWithBilling = "Command Runner With Billing"
	RoleCommandRunner            = "Command Runner"
	RoleHelpDesk                 = "Help Desk"
	RoleBillingOnly              = "Billing Only"
	RoleReadOnly                 = "Read Only"
)

// BuiltinRoles lists every built-in admin role.
var BuiltinRoles = []string{
	RoleAdministratorWithBilling, RoleAdministrator, RoleManager, RoleCommandRunnerWithBilling,
	RoleCommandRunner, RoleHelpDesk, RoleBillingOnly, RoleReadOnly,
}

// UserGroup is a v2 user group (GET /api/v2/usergroups).
type UserGroup struct {
	ID               string `json:"id"`
	Name             string `json:"name,omitempty"`
	Description      string `json:"description,omitempty"`
	Email            string `json:"email,omitempty"`
	MembershipMethod string `json:"membershipMethod,omitempty"`
}

// Graph object types that matter to the connector.
const (
	GraphUser         = "user"
	GraphUserGroup    = "user_group"
	GraphApplication  = "application"
	GraphLDAPServer   = "ldap_server"
	GraphRadiusServer = "radius_server"
)

// GraphObject is a node of JumpCloud's graph.
type GraphObject struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// GraphConnection is an edge. Only its target is read: "from" is optional in JumpCloud's
// answers and is always the object the list was asked for.
type GraphConnection struct {
	To GraphObject `json:"to"`
}

// GraphObjectWithPaths is a traversal result: the object and every path that reaches it.
type GraphObjectWithPaths struct {
	ID    string              `json:"id"`
	Type  string              `json:"type"`
	Paths [][]GraphConnection `json:"paths"`
}

// Direct reports whether one of the paths is a single edge (a direct binding or membership).
func (g GraphObjectWithPaths) Direct() bool {
	for _, p := range g.Paths {
		if len(p) == 1 {
			return true
		}
	}
	return false
}

// Application is an SSO application (GET /api/applications).
type Application struct {
	ID           string `json:"_id"`
	Name         string `json:"name,omitempty"`
	DisplayName  string `json:"displayName,omitempty"`
	DisplayLabel string `json:"displayLabel,omitempty"`
	Description  string `json:"description,omitempty"`
	SSOURL       string `json:"ssoUrl,omitempty"`
	LearnMore    string `json:"learnMore,omitempty"`
	Active       bool   `json:"active,omitempty"`
	Logo         *Logo  `json:"logo,omitempty"`
	SSO          *SSO   `json:"sso,omitempty"`
}

// Logo is an application's logo.
type Logo struct {
	URL string `json:"url,omitempty"`
}

// SSO describes how an application signs users in.
type SSO struct {
	Type string `json:"type,omitempty"` // not enumerated by JumpCloud; seen: saml, oidc, bookmark
}

// LDAPServer is a JumpCloud LDAP server (GET /api/v2/ldapservers). Never synced: only
// counted as out of scope, so only its id is read.
type LDAPServer struct {
	ID string `json:"id"`
}

// RadiusServer is a JumpCloud RADIUS server (GET /api/radiusservers). Never synced: only
// counted as out of scope, so only its id is read.
type RadiusServer struct {
	ID string `json:"_id"`
}
