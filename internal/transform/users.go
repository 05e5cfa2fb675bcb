package transform

import (
	"strings"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// userStatus maps a directory user's state to Authomize's UserStatus. The order matters:
//   - suspended (state SUSPENDED or the suspended flag) wins, because an administrator
//     decided the user may not sign in, and that outlasts any lock;
//   - a locked account (account_locked, set after failed sign-ins) cannot sign in, and
//     Authomize has no "Locked" status, so it is Disabled; the lock is also kept in the
//     accountLocked custom property so reviewers can tell the two apart;
//   - STAGED → Staged, ACTIVATED → Enabled;
//   - no state at all but activated=true → Enabled: older records carry only the flag;
//   - any other value → Unknown: a state JumpCloud adds later must not be guessed into
//     Enabled, which would hide a user who cannot actually sign in (or the reverse).
func userStatus(state string, suspended, locked, activated bool) string {
	st := strings.ToUpper(strings.TrimSpace(state))
	switch {
	case st == jumpcloud.StateSuspended || suspended:
		return authomize.StatusSuspended
	case locked:
		return authomize.StatusDisabled
	case st == jumpcloud.StateStaged:
		return authomize.StatusStaged
	case st == jumpcloud.StateActivated:
		return authomize.StatusEnabled
	case st == "" && activated:
		return authomize.StatusEnabled
	default:
		return authomize.StatusUnknown
	}
}

// userHasMFA is true when any of JumpCloud's three MFA signals says the user has a second
// factor: the MFA configuration, the legacy TOTP flag, or the overall enrollment status.
// The value is always sent (never omitted): JumpCloud is authoritative for its own users,
// so "false" is a fact, not a gap.
func userHasMFA(u jumpcloud.SystemUser) bool {
	if u.TOTPEnabled || (u.MFA != nil && u.MFA.Configured) {
		return true
	}
	return u.MFAEnrollment != nil && strings.EqualFold(strings.TrimSpace(u.MFAEnrollment.OverallStatus), "ENROLLED")
}

// Users maps directory users to accounts (and identities when opt.Identities).
//
// Users without a usable _id are skipped; a repeated _id is skipped after its first
// occurrence (uniqueId must be unique within a request). Identities are built from the same
// accepted users, so every identity has an account with the same id.
func Users(in []jumpcloud.SystemUser, opt Options, r *Report) ([]authomize.User, []authomize.Identity) {
	users := make([]authomize.User, 0, len(in))
	var ids []authomize.Identity
	if opt.Identities {
		ids = make([]authomize.Identity, 0, len(in))
	}
	seen := make(map[string]struct{}, len(in))
	for i := range in {
		u := &in[i]
		id, st := cleanID(u.ID)
		if st != idOK {
			r.Skip(skipReason("user", "_id", st))
			continue
		}
		if _, dup := seen[id]; dup {
			r.Skip("user: duplicate _id")
			continue
		}
		seen[id] = struct{}{}

		acc := userAccount(id, u, r)
		users = append(users, acc)
		if opt.Identities {
			ids = append(ids, identity(id, u, acc, r))
		}
	}
	return users, ids
}

// userAccount builds the account of one directory user whose id is already clean.
func userAccount(id string, u *jumpcloud.SystemUser, r *Report) authomize.User {
	acc := authomize.User{
		UniqueID:    UserAccountID(id),
		OriginID:    id,
		Email:       email(u.Email, "user.email", r),
		FirstName:   name(u.Firstname, "user.firstName", r),
		LastName:    name(u.Lastname, "user.lastName", r),
		Status:      userStatus(u.State, u.Suspended, u.AccountLocked, u.Activated),
		Department:  name(u.Department, "user.department", r),
		Title:       name(u.JobTitle, "user.title", r),
		Description: cleanText(u.Description, maxDescription, true, "user.description", r),
		HasMFA:      boolPtr(userHasMFA(*u)),
		Tags:        tags(tagJumpCloud),
	}
	// The account name is the sign-in name. Without one, the email is what people sign in
	// with; with neither, the _id keeps the account findable in Authomize's UI.
	acc.Name = name(u.Username, "user.name", r)
	if acc.Name == "" {
		switch {
		case acc.Email != "":
			acc.Name = acc.Email
			r.Adjust("user.name: no username, used email")
		default:
			acc.Name = id
			r.Adjust("user.name: no username or email, used _id")
		}
	}
	// A state value JumpCloud did not document is worth an operator's attention (it may
	// be a new state that needs mapping); a missing state is merely old data.
	if acc.Status == authomize.StatusUnknown && strings.TrimSpace(u.State) != "" {
		r.Adjust("user.status: unrecognised state, sent Unknown")
	}

	p := props{kind: "user", r: r}
	p.add("company", u.Company)
	p.add("costCenter", u.CostCenter)
	p.add("employeeType", u.EmployeeType)
	p.add("location", u.Location)
	p.add("employeeIdentifier", u.EmployeeIdentifier)
	p.add("jumpcloudState", u.State)
	p.addBool("accountLocked", u.AccountLocked)
	acc.CustomProperties = p.list
	return acc
}

// identity builds the person behind one directory user. Name is the person's full name
// (first and last), because an identity is a person rather than a login; without either
// it falls back to the account's name.
func identity(id string, u *jumpcloud.SystemUser, acc authomize.User, r *Report) authomize.Identity {
	idn := authomize.Identity{
		UniqueID:       id,
		OriginID:       id,
		Email:          acc.Email,
		FirstName:      acc.FirstName,
		LastName:       acc.LastName,
		EmployeeNumber: name(u.EmployeeIdentifier, "identity.employeeNumber", r),
		Status:         acc.Status,
		Department:     acc.Department,
		Title:          acc.Title,
		Description:    acc.Description,
		Tags:           tags(tagJumpCloud),
	}
	idn.Name = strings.TrimSpace(acc.FirstName + " " + acc.LastName)
	if idn.Name == "" {
		idn.Name = acc.Name
	}
	// managerId references another identity; a manager id that is unusable or points at
	// the user itself is dropped (a self-loop is not a reporting line).
	if strings.TrimSpace(u.Manager) != "" {
		switch m, st := cleanID(u.Manager); {
		case st != idOK:
			r.Adjust("identity.managerId: too long, dropped")
		case m == id:
			r.Adjust("identity.managerId: self reference, dropped")
		default:
			idn.ManagerID = m
		}
	}
	if a := pickAddress(u.Addresses); a != nil {
		idn.City = name(a.Locality, "identity.city", r)
		idn.Country = name(a.Country, "identity.country", r)
	}
	return idn
}

// pickAddress chooses the address that gives an identity its city and country: the first
// "work" address if there is one (where the person works is what access reviews care
// about), otherwise the first address.
func pickAddress(as []jumpcloud.Address) *jumpcloud.Address {
	for i := range as {
		if strings.EqualFold(strings.TrimSpace(as[i].Type), "work") {
			return &as[i]
		}
	}
	if len(as) > 0 {
		return &as[0]
	}
	return nil
}
