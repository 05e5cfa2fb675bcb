package codec

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestParseKeyring(t *testing.T) {
	k := mustKeyring(t, " new:"+testKey(2)+" ,\nold:"+testKey(1)+",\n")
	if k.CurrentID() != "new" {
		t.Errorf("CurrentID = %q, want the first entry", k.CurrentID())
	}
	if got := strings.Join(k.IDs(), ","); got != "new,old" {
		t.Errorf("IDs = %q", got)
	}
	// Logging a keyring must never print cipher state.
	if s := k.String(); s != `codec.Keyring{current: "new", ids: ["new" "old"]}` {
		t.Errorf("String = %s", s)
	}
}

func TestParseKeyringErrors(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")) // 16 bytes
	long := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 48)))
	tests := []struct {
		name     string
		spec     string
		wantIn   string   // must appear in the message
		material []string // must not
	}{
		{"empty", "", "empty", nil},
		{"only separators", " , \n ", "empty", nil},
		{"bad base64", "prod:not*base64*at*all*but*secretish*material=", `"prod"`, []string{"secretish", "not*base64"}},
		{"unpadded base64", "prod:" + strings.TrimRight(testKey(1), "="), `"prod"`, []string{strings.TrimRight(testKey(1), "=")}},
		{"16-byte key", "prod:" + short, `"prod": decodes to 16 bytes`, []string{short}},
		{"48-byte key", "prod:" + long, `"prod": decodes to 48 bytes`, []string{long}},
		{"duplicate id", "a:" + testKey(1) + ",a:" + testKey(2), `"a" appears more than once`, []string{testKey(1), testKey(2)}},
		{"empty id", ":" + testKey(1), "entry 1: key id is empty", []string{testKey(1)}},
		{"no separator (bare key)", "a:" + testKey(1) + "," + testKey(2), "entry 2", []string{testKey(1), testKey(2)}},
		{"swapped key:id", testKey(1) + ":prod", "entry 1", []string{testKey(1)}},
		{"bad id character", "my key:" + testKey(1), "entry 1: key id may only contain", []string{testKey(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyring(tt.spec)
			if err == nil {
				t.Fatalf("ParseKeyring succeeded: %v", k)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not mention %q", err, tt.wantIn)
			}
			assertNoMaterial(t, err, tt.material...)
		})
	}
}

// assertNoMaterial fails if err's message contains any key text or a recognisable part of it.
func assertNoMaterial(t *testing.T, err error, material ...string) {
	t.Helper()
	for _, m := range material {
		probe := m
		if len(probe) > 12 {
			probe = probe[:12]
		}
		if strings.Contains(err.Error(), probe) {
			t.Errorf("error %q contains key material %q", err, probe)
		}
	}
}

func TestLoadKeyring(t *testing.T) {
	spec := "k1:" + testKey(1)
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}
	noFile := func(string) ([]byte, error) { return nil, errors.New("readFile must not be called") }
	files := func(name string) ([]byte, error) {
		switch name {
		case "/run/secrets/keys":
			return []byte(spec + "\n"), nil
		case "/run/secrets/bad":
			return []byte("k1:" + testKey(1)[:20] + "\n"), nil
		default:
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}

	t.Run("off when unset", func(t *testing.T) {
		k, ok, err := LoadKeyring(env(nil), noFile)
		if k != nil || ok || err != nil {
			t.Errorf("LoadKeyring = %v, %v, %v; want nil, false, nil", k, ok, err)
		}
	})
	t.Run("from env", func(t *testing.T) {
		k, ok, err := LoadKeyring(env(map[string]string{EnvKeys: spec}), noFile)
		if err != nil || !ok || k.CurrentID() != "k1" {
			t.Errorf("LoadKeyring = %v, %v, %v", k, ok, err)
		}
	})
	t.Run("from file", func(t *testing.T) {
		k, ok, err := LoadKeyring(env(map[string]string{EnvKeysFile: "/run/secrets/keys"}), files)
		if err != nil || !ok || k.CurrentID() != "k1" {
			t.Errorf("LoadKeyring = %v, %v, %v", k, ok, err)
		}
	})

	errCases := []struct {
		name   string
		vars   map[string]string
		wantIn []string
	}{
		{"both set", map[string]string{EnvKeys: spec, EnvKeysFile: "/run/secrets/keys"}, []string{EnvKeys, EnvKeysFile}},
		{"bad env spec", map[string]string{EnvKeys: "k1:" + testKey(1)[:20]}, []string{EnvKeys, `"k1"`}},
		{"blank env spec", map[string]string{EnvKeys: "  "}, []string{EnvKeys, "empty"}},
		{"missing file", map[string]string{EnvKeysFile: "/run/secrets/none"}, []string{EnvKeysFile, "/run/secrets/none"}},
		{"bad file", map[string]string{EnvKeysFile: "/run/secrets/bad"}, []string{"/run/secrets/bad", `"k1"`}},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			k, ok, err := LoadKeyring(env(tt.vars), files)
			if err == nil || ok || k != nil {
				t.Fatalf("LoadKeyring = %v, %v, %v; want an error", k, ok, err)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			assertNoMaterial(t, err, testKey(1))
		})
	}
	t.Run("missing file keeps the cause", func(t *testing.T) {
		_, _, err := LoadKeyring(env(map[string]string{EnvKeysFile: "/run/secrets/none"}), files)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v does not wrap fs.ErrNotExist", err)
		}
	})
}

func TestGenerateKeySpec(t *testing.T) {
	a, err := GenerateKeySpec("2025-06")
	if err != nil {
		t.Fatalf("GenerateKeySpec: %v", err)
	}
	b, err := GenerateKeySpec("2025-01")
	if err != nil {
		t.Fatalf("GenerateKeySpec: %v", err)
	}
	if !strings.HasPrefix(a, "2025-06:") {
		t.Errorf("spec %q does not start with its id", a)
	}
	// Generated entries must parse back, and compose into a rotated keyring.
	k := mustKeyring(t, a+","+b)
	if k.CurrentID() != "2025-06" {
		t.Errorf("CurrentID = %q", k.CurrentID())
	}
	if a[len("2025-06:"):] == b[len("2025-01:"):] {
		t.Error("two generated keys are equal")
	}
	if _, err := GenerateKeySpec("bad id"); err == nil {
		t.Error("GenerateKeySpec accepted an invalid id")
	}
}
