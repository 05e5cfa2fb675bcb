package jumpcloudsim

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"jcsync/internal/jumpcloud"
)

// GenConfig sizes a generated org. Zero sizes give an empty collection.
type GenConfig struct {
	Seed                                    int64
	Users, Groups, Admins, Apps             int
	MaxGroupSize                            int // default Users
	AvgGroupSize                            int // default min(Users, 25)
	UserBindingsPerApp, GroupBindingsPerApp int // averages
	// Messy gives that many objects of each messy sort fields of the wrong type (see
	// makeMessy); Expected leaves out those the connector must leave out.
	Messy int
}

// Name pools mix ASCII, accents, CJK, Cyrillic and Arabic so the connector meets the names
// real orgs have.
var (
	firstNames = []string{"Alice", "Bob", "Carlos", "Dana", "Eve", "Farah", "Gustav", "Hana", "Ivan", "Jun",
		"Kofi", "Lena", "Mateo", "Nadia", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vik",
		"Wen", "Ximena", "Yusuf", "Zoë", "Émile", "Søren", "Łukasz", "Ngozi", "小龍", "Анна", "محمد"}
	lastNames = []string{"Smith", "García", "Nguyen", "Müller", "Ångström", "O'Brien", "Kowalski", "Tanaka",
		"李", "Dubois", "Okafor", "Rossi", "Silva", "Ivanova", "Cohen", "Haddad", "Johnson", "Lee"}
	departments = []string{"Engineering", "Sales", "Marketing", "Finance", "People", "IT", "Legal", "Support",
		"Operations", "Research & Development"}
	titles = []string{"Engineer", "Senior Engineer", "Engineering Manager", "Director", "Analyst", "Designer",
		"Account Executive", "IT Administrator", "Recruiter", "Support Specialist"}
	locations  = []string{"Berlin", "New York", "São Paulo", "東京", "Tel Aviv", "Remote"}
	groupNames = []string{"All Staff", "Engineering", "VPN Users", "Contractors", "Sales EMEA", "Équipe Paris",
		"東京オフィス", "On-call", "Finance Approvers", "Laptop Admins", "Interns", "Security Champions"}
	appCatalog = []struct{ name, label, sso string }{
		{"slack", "Slack", "saml"}, {"github", "GitHub Enterprise", "saml"}, {"salesforce", "Salesforce", "saml"},
		{"zoom", "Zoom", "oidc"}, {"atlassian", "Atlassian Cloud", "saml"}, {"googleworkspace", "Google Workspace", "saml"},
		{"aws", "AWS IAM Identity Center", "saml"}, {"notion", "Notion", "oidc"}, {"bookmark", "Company Wiki", "bookmark"},
		{"figma", "Figma", "saml"}, {"custom-oidc", "Internal Portal", "oidc"}, {"bookmark", "Benefits Portal", "bookmark"},
	}
)

// Generate builds an org from cfg. The same config always gives the same org, ids included.
func Generate(cfg GenConfig) *Org {
	o := NewOrg(cfg.Seed)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed)^0x5eed, uint64(cfg.Seed)+7))
	o.Users = make([]jumpcloud.SystemUser, cfg.Users)
	for i := range o.Users {
		o.Users[i] = genUser(o, rng, i)
	}
	o.reindex()

	genGroups(o, rng, cfg)
	genAdmins(o, rng, cfg)
	genApps(o, rng, cfg)
	o.reindex()
	makeMessy(o, cfg.Messy)
	return o
}

func genUser(o *Org, rng *rand.Rand, i int) jumpcloud.SystemUser {
	first := firstNames[rng.IntN(len(firstNames))]
	last := lastNames[rng.IntN(len(lastNames))]
	switch i {
	case 0:
		first, last = "Zoë", "Ångström"
	case 1:
		first, last = "小龍", "李"
	}
	uname := "u" + strconv.Itoa(i)
	u := jumpcloud.SystemUser{
		ID:                 o.NewID(),
		Username:           uname,
		Email:              uname + "@example.com",
		Firstname:          first,
		Lastname:           last,
		Department:         departments[rng.IntN(len(departments))],
		JobTitle:           titles[rng.IntN(len(titles))],
		Company:            "Acme Corp",
		Location:           locations[rng.IntN(len(locations))],
		EmployeeType:       "Full-Time",
		EmployeeIdentifier: "E" + strconv.Itoa(100000+i),
	}
	// States: mostly active, some staged (not yet invited) and suspended. Fixed indexes
	// guarantee every state exists in small orgs too.
	r := rng.IntN(100)
	switch {
	case i == 2 || (i > 5 && r < 8):
		u.State = jumpcloud.StateStaged
	case i == 3 || (i > 5 && r < 16):
		u.State = jumpcloud.StateSuspended
		u.Suspended = true
		u.Activated = true
	default:
		u.State = jumpcloud.StateActivated
		u.Activated = true
		u.AccountLocked = i == 4 || rng.IntN(100) < 3
	}
	if i%2 == 0 {
		u.TOTPEnabled = true
		u.MFA = &jumpcloud.MFA{Configured: true}
		u.MFAEnrollment = &jumpcloud.MFAEnrollment{OverallStatus: "ENROLLED"}
	} else if i%5 != 0 {
		u.MFA = &jumpcloud.MFA{}
		u.MFAEnrollment = &jumpcloud.MFAEnrollment{OverallStatus: "NOT_ENROLLED"}
	} // every tenth user has no mfa object at all, as older accounts do
	if i > 0 && rng.IntN(100) < 60 {
		u.Manager = o.Users[rng.IntN(i)].ID
	}
	// Values past Authomize's limits (64 for custom properties, 256 for alternative names).
	if i%50 == 7 {
		u.JobTitle = strings.Repeat("Principal ", 8) + "Staff Engineer"
		u.Description = strings.Repeat("Long description for limit testing. ", 9)
	}
	if i%3 == 0 {
		u.Addresses = []jumpcloud.Address{{Type: "work", Locality: u.Location, Country: "DE"}}
	}
	return u
}

func isCJK(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// sample picks k distinct ints from [0, n) with Floyd's algorithm, in a deterministic order.
func sample(rng *rand.Rand, n, k int) []int {
	k = min(k, n)
	if k <= 0 {
		return nil
	}
	seen := make(map[int]struct{}, k)
	out := make([]int, 0, k)
	for j := n - k; j < n; j++ {
		t := rng.IntN(j + 1)
		if _, dup := seen[t]; dup {
			t = j
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	return out
}

func genGroups(o *Org, rng *rand.Rand, cfg GenConfig) {
	maxSize := cfg.MaxGroupSize
	if maxSize <= 0 {
		maxSize = cfg.Users
	}
	avg := cfg.AvgGroupSize
	if avg <= 0 {
		avg = min(cfg.Users, 25)
	}
	o.Groups = make([]jumpcloud.UserGroup, cfg.Groups)
	for i := range o.Groups {
		name := groupNames[i%len(groupNames)]
		if i >= len(groupNames) {
			name += " " + strconv.Itoa(i/len(groupNames)+1)
		}
		g := jumpcloud.UserGroup{ID: o.NewID(), Name: name, MembershipMethod: "STATIC", Description: "Group " + name}
		if i%4 == 3 {
			g.Email = "group" + strconv.Itoa(i) + "@example.com"
		}
		o.Groups[i] = g
		// Sizes differ a lot: one empty, one with exactly one member, one with several
		// hundred (when the org is that big), the rest skewed around the average.
		var size int
		switch i {
		case 0:
			size = 0
		case 1:
			size = 1
		case 2:
			size = 300 + rng.IntN(200)
		default:
			size = int(rng.ExpFloat64() * float64(avg))
		}
		size = min(size, maxSize, cfg.Users)
		ms := make([]string, 0, size)
		for _, u := range sample(rng, cfg.Users, size) {
			ms = append(ms, o.Users[u].ID)
		}
		if len(ms) > 0 {
			o.Members[g.ID] = ms
		}
		switch i % 10 {
		case 5:
			o.LDAPGroups = append(o.LDAPGroups, g.ID)
		case 6:
			o.RadiusGroups = append(o.RadiusGroups, g.ID)
		}
	}
	// One nested group, so /members leaks a user_group edge that is not an account.
	if len(o.Groups) >= 4 {
		o.NestedGroups[o.Groups[3].ID] = []string{o.Groups[1].ID}
	}
}

func genAdmins(o *Org, rng *rand.Rand, cfg GenConfig) {
	roles := jumpcloud.BuiltinRoles
	o.Admins = make([]jumpcloud.Admin, cfg.Admins)
	for i := range o.Admins {
		role := roles[i%len(roles)]
		a := jumpcloud.Admin{
			ID:                o.NewID(),
			Email:             "admin" + strconv.Itoa(i) + "@example.com",
			Firstname:         firstNames[rng.IntN(len(firstNames))],
			Lastname:          lastNames[rng.IntN(len(lastNames))],
			RoleName:          role,
			EnableMultiFactor: i%4 != 1,
			TOTPEnrolled:      i%4 != 1,
			Suspended:         i%11 == 10,
		}
		// Several roles for some admins, and sources disagree on capitalisation.
		if i%3 == 2 {
			a.RoleNames = []string{role, roles[(i+3)%len(roles)]}
		}
		if i%5 == 4 {
			a.RoleName = strings.ToLower(role)
		}
		// An admin who is also a directory user logs in separately: same email, two accounts.
		if i == 0 && len(o.Users) > 0 {
			a.Email = o.Users[0].Email
		}
		o.Admins[i] = a
	}
}

func genApps(o *Org, rng *rand.Rand, cfg GenConfig) {
	o.Apps = make([]jumpcloud.Application, cfg.Apps)
	for i := range o.Apps {
		c := appCatalog[i%len(appCatalog)]
		label := c.label
		if i >= len(appCatalog) {
			label += " " + strconv.Itoa(i/len(appCatalog)+1)
		}
		a := jumpcloud.Application{
			ID:           o.NewID(),
			Name:         c.name,
			DisplayName:  c.label,
			DisplayLabel: label,
			Description:  c.label + " single sign-on",
			SSOURL:       "https://sso.jumpcloud.com/saml2/" + c.name + strconv.Itoa(i),
			LearnMore:    "https://jumpcloud.com/support/" + c.name,
			Active:       i%9 != 8,
			Logo:         &jumpcloud.Logo{URL: "https://cdn.jumpcloud.com/logos/" + c.name + ".png"},
			SSO:          &jumpcloud.SSO{Type: c.sso},
		}
		if i%7 == 6 {
			a.DisplayLabel = "" // the connector must fall back to displayName
		}
		o.Apps[i] = a
		users := sample(rng, cfg.Users, rng.IntN(2*cfg.UserBindingsPerApp+1))
		for _, u := range users {
			o.AppUsers[a.ID] = append(o.AppUsers[a.ID], o.Users[u].ID)
		}
		groups := sample(rng, cfg.Groups, rng.IntN(2*cfg.GroupBindingsPerApp+1))
		for _, g := range groups {
			o.AppGroups[a.ID] = append(o.AppGroups[a.ID], o.Groups[g].ID)
		}
	}
}
