package jumpcloudsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"jcsync/internal/jumpcloud"
)

// The served JSON carries fields the client does not model (phone numbers, ssh keys, app
// configs with key material, RADIUS secrets, display names, creation times, per-factor MFA
// status, custom attributes), like the real API. They prove that unknown fields are ignored
// and let tests check that secrets never travel further. They are derived from the stored
// object when served, so the org stays compact and holds only what the connector reads.

type phoneNumber struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Number string `json:"number"`
}

type sshKey struct {
	ID         string `json:"_id"`
	Name       string `json:"name"`
	PublicKey  string `json:"public_key"`
	CreateDate string `json:"create_date"`
}

type attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type mfaEnrollmentJSON struct {
	OverallStatus  string `json:"overallStatus"`
	TOTPStatus     string `json:"totpStatus"`
	WebAuthnStatus string `json:"webAuthnStatus"`
	PushStatus     string `json:"pushStatus"`
}

type userJSON struct {
	*jumpcloud.SystemUser
	Displayname          string             `json:"displayname"`
	Created              string             `json:"created"`
	MFAEnrollment        *mfaEnrollmentJSON `json:"mfaEnrollment,omitempty"`
	Attributes           []attribute        `json:"attributes"`
	Organization         string             `json:"organization"`
	PhoneNumbers         []phoneNumber      `json:"phoneNumbers"`
	SSHKeys              []sshKey           `json:"ssh_keys"`
	PasswordNeverExpires bool               `json:"password_never_expires"`
	BadLoginAttempts     int                `json:"badLoginAttempts"`
	Admin                any                `json:"admin"`
	RestrictedFields     []any              `json:"restrictedFields"`
}

// displayName is the display name JumpCloud shows for a user: given then family name,
// except for a CJK family name, which comes first without a space.
func displayName(first, last string) string {
	if isCJK(last) {
		return last + first
	}
	return first + " " + last
}

// createdAt is an object's creation time as its ObjectId records it (the first four bytes
// are seconds since the epoch, and the org issues ids in creation order); "" for an id that
// is not an ObjectId.
func createdAt(id string) string {
	if len(id) < 8 {
		return ""
	}
	secs, err := strconv.ParseUint(id[:8], 16, 32)
	if err != nil {
		return ""
	}
	return time.Unix(int64(secs), 0).UTC().Format(time.RFC3339)
}

func (s *Server) userOut(u *jumpcloud.SystemUser) userJSON {
	out := userJSON{SystemUser: u, Displayname: displayName(u.Firstname, u.Lastname), Created: createdAt(u.ID),
		Attributes: []attribute{}, Organization: s.orgID, PhoneNumbers: []phoneNumber{}, SSHKeys: []sshKey{}, RestrictedFields: []any{}}
	h := hashID(u.ID)
	if e := u.MFAEnrollment; e != nil {
		out.MFAEnrollment = &mfaEnrollmentJSON{OverallStatus: e.OverallStatus, TOTPStatus: "NOT_ENROLLED", WebAuthnStatus: "NOT_ENROLLED", PushStatus: "NOT_ENROLLED"}
		if strings.EqualFold(e.OverallStatus, "ENROLLED") {
			out.MFAEnrollment.TOTPStatus = "ENROLLED"
		}
	}
	if h%2 == 0 {
		out.PhoneNumbers = append(out.PhoneNumbers, phoneNumber{ID: fmt.Sprintf("%024x", h), Type: "work", Number: fmt.Sprintf("+1 555 %04d", h%10000)})
	}
	if h%3 == 0 {
		out.SSHKeys = append(out.SSHKeys, sshKey{ID: fmt.Sprintf("%024x", h+1), Name: "laptop",
			PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + u.ID + " " + u.Username, CreateDate: out.Created})
	}
	// A custom attribute past Authomize's 64-character limit for property values.
	if h%50 == 7 {
		out.Attributes = append(out.Attributes, attribute{Name: "costCode", Value: strings.Repeat("x", 70)})
	}
	out.BadLoginAttempts = int(h % 4)
	return out
}

type adminJSON struct {
	*jumpcloud.Admin
	Role          string         `json:"role"`
	Roles         []string       `json:"roles"`
	Organization  string         `json:"organization"`
	Created       string         `json:"created"`
	APIKeyAllowed bool           `json:"apiKeyAllowed"`
	APIKeySet     bool           `json:"apiKeySet"`
	SessionCount  int            `json:"sessionCount"`
	UsersTimeZone string         `json:"usersTimeZone"`
	GrowthData    map[string]any `json:"growthData"`
}

// roleID is a built-in role's ObjectId as the simulator serves it in an admin's "role".
func roleID(name string) string {
	for i, r := range jumpcloud.BuiltinRoles {
		if strings.EqualFold(r, name) {
			return fmt.Sprintf("5c%022x", i)
		}
	}
	return ""
}

func (s *Server) adminOut(a *jumpcloud.Admin) adminJSON {
	out := adminJSON{Admin: a, Role: roleID(a.RoleName), Roles: []string{}, Organization: s.orgID, Created: createdAt(a.ID),
		APIKeyAllowed: true, APIKeySet: hashID(a.ID)%2 == 0, SessionCount: int(hashID(a.ID) % 5),
		UsersTimeZone: "Europe/Berlin", GrowthData: map[string]any{"experimentStates": map[string]any{}, "onboardingState": map[string]any{}}}
	for _, n := range a.RoleNames {
		if id := roleID(n); id != "" {
			out.Roles = append(out.Roles, id)
		}
	}
	return out
}

type configField struct {
	Label    string `json:"label"`
	Position int    `json:"position"`
	ReadOnly bool   `json:"readOnly"`
	Required bool   `json:"required"`
	Tooltip  any    `json:"tooltip"`
	Type     string `json:"type"`
	Value    any    `json:"value"`
	Visible  bool   `json:"visible"`
}

type ssoJSON struct {
	Type                    string `json:"type,omitempty"`
	Beta                    bool   `json:"beta"`
	Hidden                  bool   `json:"hidden"`
	JIT                     bool   `json:"jit"`
	IdpCertExpirationAt     string `json:"idpCertExpirationAt,omitempty"`
	IdpCertificateUpdatedAt string `json:"idpCertificateUpdatedAt,omitempty"`
}

type logoJSON struct {
	URL   string `json:"url,omitempty"`
	Color string `json:"color"`
}

type appJSON struct {
	*jumpcloud.Application
	SSO                *ssoJSON               `json:"sso,omitempty"`
	Logo               *logoJSON              `json:"logo,omitempty"`
	Color              string                 `json:"color"`
	Beta               bool                   `json:"beta"`
	Organization       string                 `json:"organization"`
	Created            string                 `json:"created"`
	Config             map[string]configField `json:"config"`
	DatabaseAttributes []any                  `json:"databaseAttributes"`
}

// Markers of key material in served app configs; tests search uploads for them.
const (
	PrivateKeyMarker  = "-----BEGIN PRIVATE KEY-----"
	CertificateMarker = "-----BEGIN CERTIFICATE-----"
)

func pem(marker, end, id string) string {
	line := strings.Repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw"+id, 2)
	return marker + "\n" + line[:64] + "\n" + line[64:] + "\n" + end + "\n"
}

func (s *Server) appOut(a *jumpcloud.Application) appJSON {
	out := appJSON{Application: a, Color: "#202D38", Organization: s.orgID, Created: createdAt(a.ID), DatabaseAttributes: []any{}}
	if a.Logo != nil {
		out.Logo = &logoJSON{URL: a.Logo.URL, Color: "#202D38"}
	}
	if a.SSO != nil {
		out.SSO = &ssoJSON{Type: a.SSO.Type, JIT: a.SSO.Type == "saml" && hashID(a.ID)%2 == 0}
		if a.SSO.Type == "saml" {
			out.SSO.IdpCertExpirationAt = "2030-01-01T00:00:00Z"
			out.SSO.IdpCertificateUpdatedAt = "2024-01-01T00:00:00Z"
		}
	}
	host := "https://" + strings.ReplaceAll(a.Name, " ", "") + ".example.com"
	out.Config = map[string]configField{
		"acsUrl":         {Label: "ACS URL", Position: 1, Type: "text", Value: host + "/sso/saml/acs", Visible: true, Required: true},
		"spEntityId":     {Label: "SP Entity ID", Position: 2, Type: "text", Value: host, Visible: true, Required: true},
		"idpEntityId":    {Label: "IdP Entity ID", Position: 3, Type: "text", Value: "JumpCloud", Visible: true, Required: true},
		"idpCertificate": {Label: "IdP Certificate", Position: 4, Type: "file", Value: pem(CertificateMarker, "-----END CERTIFICATE-----", a.ID), Visible: true},
		"idpPrivateKey":  {Label: "IdP Private Key", Position: 5, Type: "file", Value: pem(PrivateKeyMarker, "-----END PRIVATE KEY-----", a.ID), Visible: true},
		"signAssertion":  {Label: "Sign Assertion", Position: 6, Type: "checkbox", Value: true, Visible: true},
		"constantAttributes": {Label: "Constant Attributes", Position: 7, Type: "list", Visible: true,
			Value: []map[string]string{{"name": "Role", "value": "member"}}},
	}
	return out
}

type groupJSON struct {
	*jumpcloud.UserGroup
	Type                 string         `json:"type"`
	Attributes           map[string]any `json:"attributes"`
	MemberQuery          any            `json:"memberQuery"`
	OrganizationObjectID string         `json:"organizationObjectId"`
	SuggestionCounts     map[string]int `json:"suggestionCounts"`
}

// groupOut shows LDAP/RADIUS settings inside group attributes, another place they leak.
func groupOut(o *Org, g *jumpcloud.UserGroup) groupJSON {
	attrs := map[string]any{"sudo": map[string]bool{"enabled": false, "withoutPassword": false}}
	if slices.Contains(o.LDAPGroups, g.ID) {
		attrs["ldapGroups"] = []map[string]string{{"name": strings.ToLower(strings.ReplaceAll(g.Name, " ", "-"))}}
	}
	if slices.Contains(o.RadiusGroups, g.ID) {
		attrs["radius"] = map[string]any{"reply": []map[string]string{{"name": "Filter-Id", "value": "wifi"}}}
	}
	return groupJSON{UserGroup: g, Type: jumpcloud.GraphUserGroup, Attributes: attrs, OrganizationObjectID: o.ID,
		SuggestionCounts: map[string]int{"add": 0, "remove": 0, "total": 0}}
}

// Names of the org's one LDAP and one RADIUS server.
const (
	ldapName   = "JumpCloud LDAP"
	radiusName = "Office Wi-Fi RADIUS"
)

func radiusOut(o *Org) map[string]any {
	return map[string]any{"_id": o.RADIUS.ID, "name": radiusName, "networkSourceIp": "203.0.113.10",
		"sharedSecret": "radius-shared-secret-" + o.RADIUS.ID, "mfa": "ENABLED", "authIdp": "JUMPCLOUD",
		"organization": o.ID, "userLockoutAction": "REMOVE", "userPasswordExpirationAction": "MAINTAIN"}
}

func ldapOut(o *Org) map[string]any {
	return map[string]any{"id": o.LDAP.ID, "name": ldapName, "userLockoutAction": "disable",
		"userPasswordExpirationAction": "disable"}
}

// hashID is a cheap stable hash, to vary derived fields per object without storing them.
func hashID(id string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return h
}
