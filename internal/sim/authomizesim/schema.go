package authomizesim

import (
	"fmt"
	"strings"
)

// Kind names one of the ingestion item kinds the simulator validates and stores.
type Kind string

// The ingestion kinds, one per POST endpoint under /v2/apps/{appId}.
const (
	KindUsers               Kind = "users"
	KindIdentities          Kind = "identities"
	KindGroupings           Kind = "groupings"
	KindAccountAssociations Kind = "accountAssociations"
	KindPrivileges          Kind = "privileges"
	KindPermissions         Kind = "permissions"
	KindAssets              Kind = "assets"
)

// MaxItems is the spec's maxItems for every ingestion list body.
const MaxItems = 10000

// Problem is one entry of a FastAPI/pydantic v1 validation error ("detail" list item).
type Problem struct {
	Loc  []any          `json:"loc"`
	Msg  string         `json:"msg"`
	Type string         `json:"type"`
	Ctx  map[string]any `json:"ctx,omitempty"`
}

// String renders the problem the way a human reads it: body.data.3.uniqueId: msg (type).
func (p Problem) String() string {
	parts := make([]string, len(p.Loc))
	for i, l := range p.Loc {
		parts[i] = fmt.Sprint(l)
	}
	return fmt.Sprintf("%s: %s (%s)", strings.Join(parts, "."), p.Msg, p.Type)
}

// ValidationError is what Validate returns: the list the server would put in a 422 body.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return "validation failed: " + strings.Join(s, "; ")
}

type fieldType int

const (
	fString fieldType = iota
	fBool
	fDateTime
	fStrings     // array of strings
	fCustomProps // array of {key, value}
)

type field struct {
	name     string
	typ      fieldType
	required bool
	minLen   int // strings: minimum length; string arrays: minimum length of each item
	maxLen   int // 0 = unbounded
	enum     []string
}

var (
	userStatus       = []string{"Staged", "Enabled", "Disabled", "Suspended", "Deleted", "Unknown"}
	groupingType     = []string{"Group", "VirtualGroup"}
	assetType        = []string{"Application", "Database", "Drive", "File", "Folder", "GitRepository", "Integration", "Project", "Site", "Table", "Ticket", "VirtualMachine", "Secret", "Other"}
	newPrivilegeType = []string{"Administrative", "Data Create", "Metadata Create", "Data Read", "Metadata Read", "Data Write", "Metadata Write", "Data Update", "Metadata Update", "Data Delete", "Metadata Delete"}
	oldPrivilegeType = []string{"Administrative", "Unknown", "Read", "ReadMetadata", "Write", "Create", "Delete", "Execute", "Enable", "Assign", "Restore", "Import", "Export", "Update", "Cancel", "Use", "Delegate", "Join", "Invite", "Share"}
	permSourceType   = []string{"User", "Grouping"}
)

func str(name string) field              { return field{name: name, typ: fString} }
func str1(name string) field             { return field{name: name, typ: fString, minLen: 1} }
func req1(name string) field             { return field{name: name, typ: fString, required: true, minLen: 1} }
func boolean(name string) field          { return field{name: name, typ: fBool} }
func datetime(name string) field         { return field{name: name, typ: fDateTime} }
func tags() field                        { return field{name: "tags", typ: fStrings, minLen: 1} }
func customProps() field                 { return field{name: "customProperties", typ: fCustomProps} }
func enum(name string, v []string) field { return field{name: name, typ: fString, enum: v} }

// schemas mirrors the New*RequestSchema definitions of spec 4.6.8, in declaration order
// so problems come out in the order pydantic would report them.
var schemas = map[Kind][]field{
	KindUsers: {
		str1("originId"), str("name"), str("email"), str("firstName"), str("lastName"),
		enum("status", userStatus), str("department"), str("title"), str("description"),
		boolean("isExternal"), boolean("hasMFA"), datetime("lastLoginAt"), tags(),
		req1("uniqueId"), customProps(),
	},
	KindIdentities: {
		req1("uniqueId"), str1("originId"), str("name"), str("email"), str("personalEmail"),
		str("firstName"), str("lastName"), str("employeeNumber"), enum("status", userStatus),
		str("country"), str("city"), str("department"), str("division"), str("title"),
		str("managerId"), datetime("hireAt"), datetime("terminationAt"), str("description"), tags(),
	},
	KindGroupings: {
		req1("uniqueId"), str1("originId"), req1("name"), str("originType"),
		enum("type", groupingType), boolean("isRole"), boolean("anyoneCanJoinOrLeave"),
		str("owner"), tags(), {name: "alternativeName", typ: fString, maxLen: 256}, customProps(),
	},
	KindAccountAssociations: {
		req1("sourceId"), req1("targetId"),
	},
	KindPrivileges: {
		str1("originId"), enum("privilegeType", newPrivilegeType),
		{name: "originName", typ: fString, required: true}, req1("uniqueId"),
		enum("type", oldPrivilegeType),
	},
	KindPermissions: {
		req1("sourceUniqueId"), {name: "sourceType", typ: fString, required: true, enum: permSourceType},
		req1("privilegeId"), str("assetId"), boolean("isRole"), tags(), boolean("escalationPathPossible"),
	},
	KindAssets: {
		req1("uniqueId"), str1("originId"), req1("name"), enum("type", assetType),
		str("alternativeName"), str("originType"), datetime("createdAt"), datetime("lastUsedAt"),
		str("description"), str("href"), tags(), str("owner"), customProps(),
	},
}
