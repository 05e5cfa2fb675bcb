package jumpcloudsim

import (
	"fmt"
	"slices"
	"strings"

	"jcsync/internal/jumpcloud"
)

// The served JSON carries fields the client does not model (phone numbers, ssh keys, app
// configs with key material, RADIUS secrets), like the real API. They prove that unknown
// fields are ignored and let tests check that secrets never travel further. They are derived
// from the stored object when served, so the org stays compact.

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

type userJSON struct {
	*jumpcloud.SystemUser
	Organization         string        `json:"organization"`
	PhoneNumbers         []phoneNumber `json:"phoneNumbers"`
	SSHKeys              []sshKey      `json:"ssh_keys"`
	PasswordNeverExpires bool          `json:"password_never_expires"`
	BadLoginAttempts     int           `json:"badLoginAttempts"`
	Admin                any           `json:"admin"`
	RestrictedFields     []any         `json:"restrictedFields"`
}

func (s *Server) userOut(u *jumpcloud.SystemUser) userJSON {
	out := userJSON{SystemUser: u, Organization: s.orgID, PhoneNumbers: []phoneNumber{}, SSHKeys: []sshKey{}, RestrictedFields: []any{}}
	h := hashID(u.ID)
	if h%2 == 0 {
		out.PhoneNumbers = append(out.PhoneNumbers, phoneNumber{ID: fmt.Sprintf("%024x", h), Type: "work", Number: fmt.Sprintf("+1 555 %04d", h%10000)})
	}
	if h%3 == 0 {
		out.SSHKeys = append(out.SSHKeys, sshKey{ID: fmt.Sprintf("%024x", h+1), Name: "laptop",
			PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + u.ID + " " + u.Username, CreateDate: u.Created})
	}
	out.BadLoginAttempts = int(h % 4)
	return out
}

type adminJSON struct {
	*jumpcloud.Admin
	APIKeyAllowed bool           `json:"apiKeyAllowed"`
	APIKeySet     bool           `json:"apiKeySet"`
	SessionCount  int            `json:"sessionCount"`
	UsersTimeZone string         `json:"usersTimeZone"`
	GrowthData    map[string]any `json:"growthData"`
}

func adminOut(a *jumpcloud.Admin) adminJSON {
	return adminJSON{Admin: a, APIKeyAllowed: true, APIKeySet: hashID(a.ID)%2 == 0, SessionCount: int(hashID(a.ID) % 5),
		UsersTimeZone: "Europe/Berlin", GrowthData: map[string]any{"experimentStates": map[string]any{}, "onboardingState": map[string]any{}}}
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

type appJSON struct {
	*jumpcloud.Application
	SSO                *ssoJSON               `json:"sso,omitempty"`
	Color              string                 `json:"color"`
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

func appOut(a *jumpcloud.Application) appJSON {
	out := appJSON{Application: a, Color: "#202D38", DatabaseAttributes: []any{}}
	if a.SSO != nil {
		out.SSO = &ssoJSON{Type: a.SSO.Type, Beta: a.SSO.Beta, Hidden: a.SSO.Hidden, JIT: a.SSO.JIT}
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
	return groupJSON{UserGroup: g, Attributes: attrs, OrganizationObjectID: o.ID,
		SuggestionCounts: map[string]int{"add": 0, "remove": 0, "total": 0}}
}

func radiusOut(o *Org) map[string]any {
	return map[string]any{"_id": o.RADIUS.ID, "name": o.RADIUS.Name, "networkSourceIp": "203.0.113.10",
		"sharedSecret": "radius-shared-secret-" + o.RADIUS.ID, "mfa": "ENABLED", "authIdp": "JUMPCLOUD",
		"organization": o.ID, "userLockoutAction": "REMOVE", "userPasswordExpirationAction": "MAINTAIN"}
}

func ldapOut(o *Org) map[string]any {
	return map[string]any{"id": o.LDAP.ID, "name": o.LDAP.Name, "userLockoutAction": "disable",
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
