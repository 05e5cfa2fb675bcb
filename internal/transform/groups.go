package transform

import (
	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// Groups maps user groups to groupings.
//
// A group without a name is named by its id (Authomize requires a name). The group's email,
// when it has one, becomes the alternativeName: it is the other name the group is known by
// (a mailing address), and Authomize shows it next to the name. Groupings have no
// description field, so the description travels as a custom property, cut to 64.
func Groups(in []jumpcloud.UserGroup, opt Options, r *Report) []authomize.Grouping {
	owner := opt.owner()
	out := make([]authomize.Grouping, 0, len(in))
	seen := make(map[string]struct{}, len(in))
	for i := range in {
		g := &in[i]
		id, st := cleanID(g.ID)
		if st != idOK {
			r.Skip(skipReason("group", "id", st))
			continue
		}
		if _, dup := seen[id]; dup {
			r.Skip("group: duplicate id")
			continue
		}
		seen[id] = struct{}{}

		gr := authomize.Grouping{
			UniqueID:        GroupID(id),
			OriginID:        id,
			Name:            name(g.Name, "group.name", r),
			OriginType:      originUserGroup,
			Type:            authomize.GroupingTypeGroup,
			IsRole:          false,
			Owner:           owner,
			Tags:            tags(tagJumpCloud),
			AlternativeName: whole(g.Email, maxAlternativeName, "group.alternativeName", r),
		}
		if gr.Name == "" {
			gr.Name = id
			r.Adjust("group.name: empty, used id")
		}
		if gr.AlternativeName == gr.Name {
			gr.AlternativeName = ""
		}
		p := props{kind: "group", r: r}
		p.add("membershipMethod", g.MembershipMethod)
		p.add("description", g.Description)
		gr.CustomProperties = p.list
		out = append(out, gr)
	}
	return out
}

// Memberships maps the direct members of one group to account→grouping associations.
// Members that are not users are skipped and counted.
//
// Only users become memberships. A nested user group would be a grouping→grouping
// association, which this API does not produce (JumpCloud's members endpoint documents
// only users; nested members reach Authomize through their own group's members). LDAP and
// RADIUS servers are out of scope by design. Skip reasons use a fixed set of keys so that
// an unexpected type cannot grow the report without bound.
func Memberships(groupID string, members []jumpcloud.GraphConnection, r *Report) []authomize.AccountAssociation {
	gid, st := cleanID(groupID)
	if st != idOK {
		for range members {
			r.Skip(skipReason("membership", "group id", st))
		}
		return nil
	}
	out := make([]authomize.AccountAssociation, 0, len(members))
	seen := make(map[string]struct{}, len(members))
	for i := range members {
		to := &members[i].To
		switch t := edgeType(to.Type); t {
		case jumpcloud.GraphUser:
		case jumpcloud.GraphLDAPServer, jumpcloud.GraphRadiusServer:
			r.Skip("membership: " + t + " excluded")
			continue
		default:
			r.Skip("membership: " + t + " skipped")
			continue
		}
		uid, st := cleanID(to.ID)
		if st != idOK {
			r.Skip(skipReason("membership", "member id", st))
			continue
		}
		if _, dup := seen[uid]; dup {
			r.Skip("membership: duplicate")
			continue
		}
		seen[uid] = struct{}{}
		out = append(out, authomize.AccountAssociation{SourceID: UserAccountID(uid), TargetID: GroupID(gid)})
	}
	return out
}

// edgeType normalises a graph type to one of the known types, or "other type" (the empty
// type included). JumpCloud sends lower-case types; case is ignored to be lenient.
func edgeType(t string) string {
	switch {
	case equalFoldTrim(t, jumpcloud.GraphUser):
		return jumpcloud.GraphUser
	case equalFoldTrim(t, jumpcloud.GraphUserGroup):
		return jumpcloud.GraphUserGroup
	case equalFoldTrim(t, jumpcloud.GraphLDAPServer):
		return jumpcloud.GraphLDAPServer
	case equalFoldTrim(t, jumpcloud.GraphRadiusServer):
		return jumpcloud.GraphRadiusServer
	case equalFoldTrim(t, jumpcloud.GraphApplication):
		return jumpcloud.GraphApplication
	default:
		return "other type"
	}
}
