package authomizesim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

func (s *Server) handleList(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start, hasStart, ok := queryTime(w, r, "startDate")
		if !ok {
			return
		}
		s.onApp(w, r, func(a *app) {
			keys := make([]string, 0, len(a.data[kind]))
			for k, rec := range a.data[kind] {
				if !hasStart || !rec.modifiedAt.Before(start) {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			data := make([]json.RawMessage, len(keys))
			for i, k := range keys {
				data[i] = a.data[kind][k].raw
			}
			writeJSON(w, http.StatusOK, map[string]any{"data": data})
		})
	}
}

// idList collects referenced ids in first-seen order without duplicates; it marshals as []
// (never null) because the spec marks these lists required.
type idList struct {
	seen map[string]bool
	ids  []string
}

func (l *idList) add(id string) {
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if !l.seen[id] {
		l.seen[id] = true
		l.ids = append(l.ids, id)
	}
}

func (l *idList) list() []string {
	if l.ids == nil {
		return []string{}
	}
	return l.ids
}

func text(m map[string]any, k string) string {
	s, _ := asString(m[k])
	return s
}

func (s *Server) handleUpload(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		raws, probs := parseBody(kind, body)
		if len(probs) > 0 {
			write422(w, probs)
			return
		}
		s.onApp(w, r, func(a *app) {
			ts := s.acceptTime()
			resp := map[string]any{"requestId": s.nextRequestID()}
			kn := s.knobs.forUpload(kind, s.requests)
			if !kn.omitTS {
				resp["acceptedTimestamp"] = fmtTS(ts)
			}
			store := a.data[kind]
			accepted := 0
			put := func(key []string, raw json.RawMessage) {
				store[strings.Join(key, "\x1f")] = &record{key: key, raw: compact(raw), modifiedAt: kn.stamp(ts)}
				accepted++
			}
			exists := func(k Kind, id string) bool { _, ok := a.data[k][id]; return ok }
			// ref checks one reference and files its id as valid or invalid.
			ref := func(k Kind, id string, valid, invalid *idList) bool {
				if exists(k, id) {
					valid.add(id)
					return true
				}
				invalid.add(id)
				return false
			}
			var validOwner, invalidOwner idList
			var vs, vt, is, it idList                 // associations
			var vu, vg, va, vp, iu, ig, ia, ip idList // permissions
			for _, raw := range raws {
				m, _ := decodeObject(raw) // already validated
				switch kind {
				case KindAccountAssociations, KindPermissions:
				default:
					if kn.rejects(text(m, "uniqueId")) {
						continue // refused: neither stored nor counted
					}
				}
				switch kind {
				case KindGroupings, KindAssets:
					if owner := text(m, "owner"); owner != "" {
						ref(KindUsers, owner, &validOwner, &invalidOwner)
					}
					put([]string{text(m, "uniqueId")}, raw)
				case KindAccountAssociations:
					src, dst := text(m, "sourceId"), text(m, "targetId")
					if kn.rejects(src, dst) {
						is.add(src)
						it.add(dst)
						continue
					}
					goodSrc := ref(KindUsers, src, &vs, &is)
					good := ref(KindGroupings, dst, &vt, &it) && goodSrc
					if good || !s.opts.DropInvalidRelations {
						put([]string{src, dst}, raw)
					}
				case KindPermissions:
					st, src, priv, asset := text(m, "sourceType"), text(m, "sourceUniqueId"), text(m, "privilegeId"), text(m, "assetId")
					srcKind, valid, invalid := KindUsers, &vu, &iu
					if st == "Grouping" {
						srcKind, valid, invalid = KindGroupings, &vg, &ig
					}
					if kn.rejects(st, src, priv, asset) {
						invalid.add(src)
						ip.add(priv)
						if asset != "" {
							ia.add(asset)
						}
						continue
					}
					good := ref(srcKind, src, valid, invalid)
					good = ref(KindPrivileges, priv, &vp, &ip) && good
					if asset != "" {
						good = ref(KindAssets, asset, &va, &ia) && good
					}
					if good || !s.opts.DropInvalidRelations {
						put([]string{st, src, priv, asset}, raw)
					}
				default:
					put([]string{text(m, "uniqueId")}, raw)
				}
			}
			switch kind {
			case KindGroupings, KindAssets:
				resp["data"] = map[string]any{}
				resp["validOwnerIds"] = validOwner.list()
				resp["invalidOwnerIds"] = invalidOwner.list()
			case KindAccountAssociations:
				resp["data"] = map[string]any{
					"validSourceIds": vs.list(), "validTargetIds": vt.list(),
					"invalidSourceIds": is.list(), "invalidTargetIds": it.list(),
				}
			case KindPermissions:
				resp["data"] = map[string]any{
					"validUserIds": vu.list(), "validGroupingIds": vg.list(), "validAssetIds": va.list(), "validPrivilegeIds": vp.list(),
					"invalidUserIds": iu.list(), "invalidGroupingIds": ig.list(), "invalidAssetIds": ia.list(), "invalidPrivilegeIds": ip.list(),
				}
			default:
				resp["data"] = map[string]any{}
			}
			resp["numberOfAcceptedEntities"] = accepted
			writeJSON(w, http.StatusOK, resp)
		})
	}
}

// patchable are the kinds whose PATCH this simulator serves: the ones the connector sends. Their
// update schemas are the create schemas with only uniqueId required, which is how schemas
// declares them already.
var patchable = map[Kind]bool{KindUsers: true, KindIdentities: true}

// handlePatch serves PATCH of a list of partial records: validated like a POST (422 for the
// whole request on any problem), then each item's fields replace those of the stored record
// with its uniqueId, which is stamped with the accepted time as a POST would stamp it (the
// API's notes infer this; it is what lets a sync keep a record it could not read). An item
// whose uniqueId is not stored changes nothing and is not counted as accepted: PATCH is a
// partial update of a known record, and a record made of a PATCH would hold none of the
// fields a POST must send.
func (s *Server) handlePatch(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		raws, probs := parseBody(kind, body)
		if len(probs) > 0 {
			write422(w, probs)
			return
		}
		s.onApp(w, r, func(a *app) {
			ts := s.acceptTime()
			resp := map[string]any{"requestId": s.nextRequestID(), "data": map[string]any{}}
			kn := s.knobs.forUpload(kind, s.requests)
			if !kn.omitTS {
				resp["acceptedTimestamp"] = fmtTS(ts)
			}
			accepted := 0
			for _, raw := range raws {
				var patch map[string]json.RawMessage
				_ = json.Unmarshal(raw, &patch) // already validated as an object
				m, _ := decodeObject(raw)
				rec := a.data[kind][text(m, "uniqueId")]
				if rec == nil {
					continue
				}
				var stored map[string]json.RawMessage
				if err := json.Unmarshal(rec.raw, &stored); err != nil || stored == nil {
					stored = map[string]json.RawMessage{}
				}
				for k, v := range patch {
					stored[k] = v
				}
				merged, err := json.Marshal(stored)
				if err != nil {
					writeDetail(w, http.StatusInternalServerError, "encode error")
					return
				}
				rec.raw, rec.modifiedAt = compact(merged), kn.stamp(ts)
				accepted++
			}
			resp["numberOfAcceptedEntities"] = accepted
			writeJSON(w, http.StatusOK, resp)
		})
	}
}

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return buf.Bytes()
}
