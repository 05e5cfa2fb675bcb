// Package transform maps JumpCloud models to Authomize models. Pure functions: no I/O.
//
// Every value that leaves this package passes Authomize's validation: required strings are
// non-empty, enums are valid, custom property values fit in 64 characters, alternative
// names in 256, text is valid UTF-8, and long free text is capped so that one item cannot
// approach the 1 MB request limit. Whatever had to be skipped or changed is counted in a
// Report. MAPPING.md documents the mapping and every choice made here.
package transform

import "jcsync/internal/authomize"

// Options are the per-integration choices that change the mapping.
type Options struct {
	// Identities also emits an Authomize identity per directory user (JumpCloud is the
	// organisation's source of truth for people).
	Identities bool
	// OwnerID, when set, is the uniqueId of the account that owns every asset and grouping.
	OwnerID string
	// ConsoleURL is the link of the admin console asset: the org's own region, from
	// ConsoleURLFor(the JumpCloud base URL). Empty (or not an http(s) URL) means
	// DefaultConsoleURL.
	ConsoleURL string
}

// AdminData is everything derived from the console administrators.
type AdminData struct {
	Accounts    []authomize.User
	Roles       []authomize.Grouping
	Privileges  []authomize.Privilege
	Memberships []authomize.AccountAssociation
	Permissions []authomize.Permission
}
