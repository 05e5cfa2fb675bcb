package transform

import (
	"strings"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// equalFoldTrim compares two values ignoring case and surrounding white space.
func equalFoldTrim(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// Apps maps SSO applications to assets.
//
// Name: displayLabel (what users see in the portal), then displayName, then the catalogue
// name, then the _id (counted). The catalogue name becomes alternativeName when it differs
// (ignoring case) from the chosen name, because it identifies the connector ("slack",
// "aws") behind a custom label. href: the SSO URL when it is an http(s) link (it starts the
// sign-in), otherwise learnMore when it is. The logo URL is a custom property, and custom
// property values may hold 64 characters: a longer URL is split over numbered properties
// (logoUrl, logoUrl.2, …) rather than cut into a link to nothing, and one over maxURL is
// dropped (counted). Apps never carry their SSO config: the input model has no config
// field, so certificates and keys cannot get here.
func Apps(in []jumpcloud.Application, opt Options, r *Report) []authomize.Asset {
	owner := opt.owner()
	out := make([]authomize.Asset, 0, len(in))
	seen := make(map[string]struct{}, len(in))
	for i := range in {
		a := &in[i]
		id, st := cleanID(a.ID)
		if st != idOK {
			r.Skip(skipReason("app", "_id", st))
			continue
		}
		if _, dup := seen[id]; dup {
			r.Skip("app: duplicate _id")
			continue
		}
		seen[id] = struct{}{}

		as := authomize.Asset{
			UniqueID:    AppAssetID(id),
			OriginID:    id,
			Type:        authomize.AssetApplication,
			OriginType:  originSSOApp,
			Owner:       owner,
			Description: cleanText(a.Description, maxAssetDescription, true, "app.description", r),
			Tags:        tags(tagJumpCloud),
		}
		catalogue := name(a.Name, "app.name", r)
		as.Name = name(a.DisplayLabel, "app.displayLabel", r)
		if as.Name == "" {
			as.Name = name(a.DisplayName, "app.displayName", r)
		}
		if as.Name == "" {
			as.Name = catalogue
		}
		if as.Name == "" {
			as.Name = id
			r.Adjust("app.name: no label or name, used _id")
		}
		if catalogue != "" && !strings.EqualFold(catalogue, as.Name) {
			as.AlternativeName = cleanText(catalogue, maxAlternativeName, false, "app.alternativeName", r)
		}
		as.Href = appLink(a, r)

		p := props{kind: "app", r: r}
		if a.SSO != nil {
			p.add("ssoType", a.SSO.Type)
		}
		if a.Logo != nil && strings.TrimSpace(a.Logo.URL) != "" {
			if httpURL(cleanText(a.Logo.URL, 0, false, "app.logoUrl", nil)) == "" {
				r.Adjust("app.logoUrl: not an http(s) URL, dropped")
			} else {
				p.addSplit("logoUrl", a.Logo.URL, maxURL)
			}
		}
		p.addBool("active", a.Active)
		as.CustomProperties = p.list
		out = append(out, as)
	}
	return out
}

// appLink picks the asset's href: ssoUrl, else learnMore, each only when it is an absolute
// http(s) URL no longer than maxURL (anything else would be a broken link in Authomize).
func appLink(a *jumpcloud.Application, r *Report) string {
	for _, c := range []struct{ v, field string }{{a.SSOURL, "app.ssoUrl"}, {a.LearnMore, "app.learnMore"}} {
		if strings.TrimSpace(c.v) == "" {
			continue
		}
		v := whole(c.v, maxURL, c.field, r)
		if v == "" {
			continue // too long (counted by whole) or nothing left after cleaning
		}
		if u := httpURL(v); u != "" {
			return u
		}
		r.Adjust(c.field + ": not an http(s) URL, not used")
	}
	return ""
}

// SSOPrivilege is the privilege an SSO app binding grants.
//
// A binding lets a user sign in to the app and use it; what they can do inside is the
// app's business. Of NewPrivilegeType, "Data Read" is the smallest type that still means
// access to the app's data ("Metadata Read" would understate it, "Administrative" and the
// write types would overstate it). The deprecated `type: "Use"` is not sent: the model has
// only privilegeType, and the deprecated field may go away.
func SSOPrivilege() authomize.Privilege {
	return authomize.Privilege{
		UniqueID:      SSOPrivilegeID,
		OriginName:    "SSO access",
		PrivilegeType: authomize.PrivilegeDataRead,
	}
}

// AppBindings maps the direct associations of one app (targets=user or user_group) to
// permissions. Edges to LDAP/RADIUS or other types are skipped and counted.
func AppBindings(appID string, edges []jumpcloud.GraphConnection, r *Report) []authomize.Permission {
	aid, st := cleanID(appID)
	if st != idOK {
		for range edges {
			r.Skip(skipReason("binding", "app id", st))
		}
		return nil
	}
	type key struct{ kind, id string }
	out := make([]authomize.Permission, 0, len(edges))
	seen := make(map[key]struct{}, len(edges))
	for i := range edges {
		to := &edges[i].To
		var srcType string
		switch t := edgeType(to.Type); t {
		case jumpcloud.GraphUser:
			srcType = authomize.SourceUser
		case jumpcloud.GraphUserGroup:
			srcType = authomize.SourceGrouping
		case jumpcloud.GraphLDAPServer, jumpcloud.GraphRadiusServer:
			// Out of scope by design: LDAP and RADIUS never reach Authomize.
			r.Skip("binding: " + t + " excluded")
			continue
		default:
			r.Skip("binding: " + t + " skipped")
			continue
		}
		oid, st := cleanID(to.ID)
		if st != idOK {
			r.Skip(skipReason("binding", "target id", st))
			continue
		}
		k := key{srcType, oid}
		if _, dup := seen[k]; dup {
			r.Skip("binding: duplicate")
			continue
		}
		seen[k] = struct{}{}
		src := UserAccountID(oid)
		if srcType == authomize.SourceGrouping {
			src = GroupID(oid)
		}
		out = append(out, authomize.Permission{
			SourceUniqueID: src,
			SourceType:     srcType,
			PrivilegeID:    SSOPrivilegeID,
			AssetID:        AppAssetID(aid),
		})
	}
	return out
}
