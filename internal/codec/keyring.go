// Package codec encrypts everything jcsync hands to Temporal: workflow and activity inputs and
// results, heartbeat details, and failure messages and stack traces. Without it the Temporal
// server keeps JumpCloud users, groups and error texts in plain JSON for the namespace's whole
// retention period, readable by anyone with access to the namespace.
//
// # Turning it on
//
// Set one of these on every worker and on every process that starts or queries workflows
// (a process without the keys cannot read what the others wrote):
//
//	JCSYNC_CODEC_KEYS="2025-06:<base64 32 bytes>,2025-01:<base64 32 bytes>"
//	JCSYNC_CODEC_KEYS_FILE=/run/secrets/jcsync-codec-keys   # a file holding the same text
//
// The first entry is the current key: new payloads are encrypted with it. The others are only
// used to decrypt payloads written before a rotation. GenerateKeySpec prints a new entry.
// Neither variable set means encryption off; payloads already encrypted then cannot be read.
//
// # Rotating
//
// Prepend a new entry (keep the old ones) and restart every process. Histories written under an
// old id keep decoding as long as that id stays in the list, so drop an old entry only after
// every workflow that used it is past the namespace's retention period.
//
// # Reading encrypted histories
//
// Handler serves the codec endpoint the Temporal Web UI ("Codec Server" setting) and the CLI
// (temporal workflow show --codec-endpoint URL [--codec-auth "Bearer TOKEN"]) call to decode
// payloads for display.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Environment variables LoadKeyring reads.
const (
	// EnvKeys holds the keyring spec itself (see ParseKeyring).
	EnvKeys = "JCSYNC_CODEC_KEYS"
	// EnvKeysFile names a file holding the keyring spec, for secrets mounted as files.
	EnvKeysFile = "JCSYNC_CODEC_KEYS_FILE"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// maxKeyIDLen bounds key ids because each one is repeated in the metadata of every payload.
const maxKeyIDLen = 64

// Keyring holds AES-256-GCM ciphers by key id. The current id encrypts; every id decrypts, so
// payloads written before a key rotation stay readable. A Keyring is immutable once built and
// safe for concurrent use.
type Keyring struct {
	current string
	ids     []string // in spec order, current first
	// Only the ciphers are kept, never the raw key bytes, so nothing in here can be printed
	// back as a usable key by accident.
	aeads map[string]cipher.AEAD
}

// ParseKeyring reads a keyring from its text form:
//
//	id1:base64key,id2:base64key
//
// The FIRST entry is the current key used for encryption; the rest are older keys kept only for
// decryption. Entries are separated by commas or newlines (so a key file may hold one entry per
// line); surrounding whitespace and empty entries are ignored. Each key is standard, padded
// base64 (as printed by GenerateKeySpec or `openssl rand -base64 32`) and must decode to exactly
// 32 bytes. Ids are non-empty, unique, at most 64 characters of letters, digits, '.', '_' and
// '-'. Error messages name the entry number and id but never contain key material.
func ParseKeyring(spec string) (*Keyring, error) {
	entries := strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	k := &Keyring{aeads: make(map[string]cipher.AEAD)}
	n := 0
	for _, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		id, encoded, found := strings.Cut(entry, ":")
		if !found {
			// The entry is not echoed: without a separator it may well be a bare key.
			return nil, fmt.Errorf("codec keyring entry %d: want id:base64key, found no ':'", n)
		}
		id = strings.TrimSpace(id)
		if err := validateKeyID(id); err != nil {
			return nil, fmt.Errorf("codec keyring entry %d: %w", n, err)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("codec keyring entry %d: key id %q appears more than once", n, id)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil {
			// base64.CorruptInputError only reports a byte offset, never the input.
			return nil, fmt.Errorf("codec keyring: key %q is not valid padded standard base64: %w", id, err)
		}
		aead, err := newAEAD(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("codec keyring: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
	}
	if len(k.ids) == 0 {
		return nil, errors.New("codec keyring is empty: want id:base64key[,id:base64key...]")
	}
	k.current = k.ids[0]
	return k, nil
}

// LoadKeyring reads the keyring from JCSYNC_CODEC_KEYS, or from the file JCSYNC_CODEC_KEYS_FILE
// names. ok is false, with a nil error, when neither is set: encryption is off. Setting both is
// an error rather than a silent preference, since the two could disagree about the current key.
// getenv and readFile are normally os.Getenv and os.ReadFile; they are parameters so callers and
// tests control the environment.
func LoadKeyring(getenv func(string) string, readFile func(string) ([]byte, error)) (k *Keyring, ok bool, err error) {
	spec, path := getenv(EnvKeys), strings.TrimSpace(getenv(EnvKeysFile))
	switch {
	case spec != "" && path != "":
		return nil, false, fmt.Errorf("both %s and %s are set; set only one", EnvKeys, EnvKeysFile)
	case spec != "":
		k, err = ParseKeyring(spec)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvKeys, err)
		}
		return k, true, nil
	case path != "":
		data, err := readFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("%s: reading keyring: %w", EnvKeysFile, err)
		}
		k, err = ParseKeyring(string(data))
		clear(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %w", EnvKeysFile, path, err)
		}
		return k, true, nil
	default:
		return nil, false, nil
	}
}

// GenerateKeySpec returns a keyring entry "id:base64key" holding a fresh random AES-256 key, for
// an operator to prepend to JCSYNC_CODEC_KEYS when creating or rotating keys.
func GenerateKeySpec(id string) (string, error) {
	if err := validateKeyID(id); err != nil {
		return "", fmt.Errorf("generating codec key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generating codec key %q: %w", id, err)
	}
	spec := id + ":" + base64.StdEncoding.EncodeToString(key)
	clear(key)
	return spec, nil
}

// CurrentID is the id of the key new payloads are encrypted with.
func (k *Keyring) CurrentID() string { return k.current }

// IDs lists every key id, current first.
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// String describes the keyring by ids only, so logging a Keyring (or a struct holding one)
// never prints cipher state.
func (k *Keyring) String() string {
	if k == nil {
		return "codec.Keyring(nil)"
	}
	return fmt.Sprintf("codec.Keyring{current: %q, ids: %q}", k.current, k.ids)
}

// GoString keeps %#v as safe as %v.
func (k *Keyring) GoString() string { return k.String() }

func (k *Keyring) aead(id string) (cipher.AEAD, bool) {
	a, ok := k.aeads[id]
	return a, ok
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, AES-256 needs %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating AES-GCM: %w", err)
	}
	return aead, nil
}

// validateKeyID keeps ids to a small safe alphabet. The offending id is deliberately not
// quoted: a swapped "key:id" entry would otherwise print the key, and a padded base64 key
// always contains '=' which this rejects.
func validateKeyID(id string) error {
	if id == "" {
		return errors.New("key id is empty")
	}
	if len(id) > maxKeyIDLen {
		return fmt.Errorf("key id is %d characters, at most %d allowed", len(id), maxKeyIDLen)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return errors.New("key id may only contain letters, digits, '.', '_' and '-' (is the entry written id:key?)")
		}
	}
	return nil
}
