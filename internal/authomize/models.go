package authomize

// Typed models for what the connector sends to Authomize's connector API (spec 4.6.8).
// JSON names follow the OpenAPI document; optional fields are omitted when empty so that a
// zero value never fails pydantic's minLength checks.

// UserStatus values (enum UserStatus).
const (
	StatusStaged    = "Staged"
	StatusEnabled   = "Enabled"
	StatusDisabled  = "Disabled"
	StatusSuspended = "Suspended"
	StatusDeleted   = "Deleted"
	StatusUnknown   = "Unknown"
)

// CustomProperty is a key/value pair; Authomize limits the value to 64 characters.
type CustomProperty struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// User is an app account (POST /v2/apps/{appId}/accounts/users).
type User struct {
	UniqueID         string           `json:"uniqueId"`
	OriginID         string           `json:"originId,omitempty"`
	Name             string           `json:"name,omitempty"`
	Email            string           `json:"email,omitempty"`
	FirstName        string           `json:"firstName,omitempty"`
	LastName         string           `json:"lastName,omitempty"`
	Status           string           `json:"status,omitempty"`
	Department       string           `json:"department,omitempty"`
	Title            string           `json:"title,omitempty"`
	Description      string           `json:"description,omitempty"`
	IsExternal       bool             `json:"isExternal"`
	HasMFA           *bool            `json:"hasMFA,omitempty"`
	LastLoginAt      string           `json:"lastLoginAt,omitempty"`
	Tags             []string         `json:"tags,omitempty"`
	CustomProperties []CustomProperty `json:"customProperties,omitempty"`
}

// Identity is a person (POST /v2/apps/{appId}/identities).
type Identity struct {
	UniqueID       string   `json:"uniqueId"`
	OriginID       string   `json:"originId,omitempty"`
	Name           string   `json:"name,omitempty"`
	Email          string   `json:"email,omitempty"`
	PersonalEmail  string   `json:"personalEmail,omitempty"`
	FirstName      string   `json:"firstName,omitempty"`
	LastName       string   `json:"lastName,omitempty"`
	EmployeeNumber string   `json:"employeeNumber,omitempty"`
	Status         string   `json:"status,omitempty"`
	Country        string   `json:"country,omitempty"`
	City           string   `json:"city,omitempty"`
	Department     string   `json:"department,omitempty"`
	Title          string   `json:"title,omitempty"`
	ManagerID      string   `json:"managerId,omitempty"`
	Description    string   `json:"description,omitempty"`
	Tags           []string `json:"tags,omitempty"`
}

// Grouping types (enum GroupingType).
const (
	GroupingTypeGroup        = "Group"
	GroupingTypeVirtualGroup = "VirtualGroup"
)

// Grouping is a group or a role (POST /v2/apps/{appId}/access/grouping).
type Grouping struct {
	UniqueID             string           `json:"uniqueId"`
	Name                 string           `json:"name"`
	OriginID             string           `json:"originId,omitempty"`
	OriginType           string           `json:"originType,omitempty"`
	Type                 string           `json:"type,omitempty"`
	IsRole               bool             `json:"isRole"`
	AnyoneCanJoinOrLeave bool             `json:"anyoneCanJoinOrLeave"`
	Owner                string           `json:"owner,omitempty"`
	Tags                 []string         `json:"tags,omitempty"`
	AlternativeName      string           `json:"alternativeName,omitempty"`
	CustomProperties     []CustomProperty `json:"customProperties,omitempty"`
}

// AccountAssociation makes an account a member of a grouping (POST .../association/accounts).
type AccountAssociation struct {
	SourceID string `json:"sourceId"` // account uniqueId
	TargetID string `json:"targetId"` // grouping uniqueId
}

// Privilege types (enum NewPrivilegeType; values contain spaces).
const (
	PrivilegeAdministrative = "Administrative"
	PrivilegeDataRead       = "Data Read"
	PrivilegeMetadataRead   = "Metadata Read"
	PrivilegeDataWrite      = "Data Write"
)

// Privilege is what a permission grants (POST /v2/apps/{appId}/privileges).
type Privilege struct {
	UniqueID      string `json:"uniqueId"`
	OriginName    string `json:"originName"`
	OriginID      string `json:"originId,omitempty"`
	PrivilegeType string `json:"privilegeType,omitempty"`
}

// Permission source types.
const (
	SourceUser     = "User"
	SourceGrouping = "Grouping"
)

// Permission grants a privilege on an asset to a user or a grouping
// (POST /v2/apps/{appId}/access/permissions).
type Permission struct {
	SourceUniqueID string   `json:"sourceUniqueId"`
	SourceType     string   `json:"sourceType"`
	PrivilegeID    string   `json:"privilegeId"`
	AssetID        string   `json:"assetId,omitempty"`
	IsRole         bool     `json:"isRole"`
	Tags           []string `json:"tags,omitempty"`
}

// Asset types used by the connector (enum AssetType).
const (
	AssetApplication = "Application"
	AssetOther       = "Other"
)

// Asset is a resource (POST /v2/apps/{appId}/assets).
type Asset struct {
	UniqueID         string           `json:"uniqueId"`
	Name             string           `json:"name"`
	OriginID         string           `json:"originId,omitempty"`
	Type             string           `json:"type,omitempty"`
	AlternativeName  string           `json:"alternativeName,omitempty"`
	OriginType       string           `json:"originType,omitempty"`
	Href             string           `json:"href,omitempty"`
	Owner            string           `json:"owner,omitempty"`
	Description      string           `json:"description,omitempty"`
	CreatedAt        string           `json:"createdAt,omitempty"`
	Tags             []string         `json:"tags,omitempty"`
	CustomProperties []CustomProperty `json:"customProperties,omitempty"`
}

// App is an Authomize app (GET /v2/apps/{appId}).
type App struct {
	ID              string `json:"id"`
	CreatedAt       string `json:"createdAt"`
	ModifiedAt      string `json:"modifiedAt"`
	IntegrationName string `json:"integrationName,omitempty"`
}

// Me is the answer of GET /me.
type Me struct {
	Version string `json:"version"`
	ID      string `json:"id"`
	Tenant  string `json:"tenant"`
}
