package config

import (
	"strings"
	"testing"
)

// Every error of a config file names the field's full path and where it is written, so that
// an operator goes straight to it; a misspelled field comes with the name it probably meant,
// and a secret with how a reference is written.
func TestConfigErrorsNameThePlaceAndPath(t *testing.T) {
	const refForm = `a secret reference is {"env": "VAR_NAME"} or {"file": "/path/to/file"}`
	tests := []struct {
		name, content string
		want          string // the error after "config <file>: "
	}{
		{"misspelled field inside jumpcloud", `{"integrations": [
  {"name": "acme",
   "jumpcloud": {"api_key": {"env": "K"}, "baseurl": "https://console.jumpcloud.com"},
   "authomize": {"token": {"env": "T"}}}]}`,
			`line 3, column 43: integrations[0].jumpcloud.baseurl: unknown field "baseurl" (did you mean "base_url"?); known fields: base_url, org_id, admin_email, api_key, rps, client_id, client_secret, token_url, insights_base_url`},
		{"unknown field without a near name, in the second integration", `{"integrations": [
  {"name": "a", "jumpcloud": {"api_key": {"env": "K"}}, "authomize": {"token": {"env": "T"}}},
  {"name": "b",
      "colour": "blue", "jumpcloud": {"api_key": {"env": "K"}}, "authomize": {"token": {"env": "T"}}}]}`,
			`line 4, column 7: integrations[1].colour: unknown field "colour"; known fields: name, jumpcloud, authomize, identities, insecure_http`},
		{"misspelled top-level field of an integration", `{"integrations": [{"name": "a", "identites": true,
  "jumpcloud": {"api_key": {"env": "K"}}, "authomize": {"token": {"env": "T"}}}]}`,
			`line 1, column 33: integrations[0].identites: unknown field "identites" (did you mean "identities"?)`},
		{"unknown field of a secret reference", `{"integrations": [{"name": "a",
  "jumpcloud": {"api_key": {"var": "K"}}, "authomize": {"token": {"env": "T"}}}]}`,
			`line 2, column 29: integrations[0].jumpcloud.api_key.var: unknown field "var": ` + refForm},
		{"misspelled secret source", `{"integrations": [{"name": "a",
  "jumpcloud": {"api_key": {"env": "K"}}, "authomize": {"token": {"fiel": "/run/t"}}}]}`,
			`line 2, column 67: integrations[0].authomize.token.fiel: unknown field "fiel" (did you mean "file"?): ` + refForm},
		{"missing secret: the object that lacks it", `{"integrations": [
  {"name": "acme",
   "jumpcloud": {"org_id": "o1"},
   "authomize": {"token": {"env": "T"}}}]}`,
			`line 3, column 4: integrations[0].jumpcloud.api_key: ` + refForm + `; none is set`},
		{"empty secret reference: the field itself", `{"integrations": [
  {"name": "acme",
   "jumpcloud": {"api_key": {"env": "K"}},
   "authomize": {
      "token": {}}}]}`,
			`line 5, column 7: integrations[0].authomize.token: ` + refForm + `; none is set`},
		{"every problem has its own place", `{"integrations": [
  {"name": "acme",
   "jumpcloud": {"api_key": {"env": "K", "file": "k"}},
   "authomize": {"token": {}, "base_url": "ftp://x"}}]}`,
			`line 3, column 18: integrations[0].jumpcloud.api_key: ` + refForm + `, not both; ` +
				`line 4, column 18: integrations[0].authomize.token: ` + refForm + `; none is set; ` +
				`line 4, column 31: integrations[0].authomize.base_url: "ftp://x" is not an http(s) URL`},
		{"client secret given inline", `{"integrations": [{"name": "a",
  "jumpcloud": {"client_id": "svc", "client_secret": "jcs-live"}, "authomize": {"token": {"env": "T"}}}]}`,
			`line 2, column 37: integrations[0].jumpcloud.client_secret: must name where the secret is, not the secret itself; ` + refForm},
		{"wrong type of a number", `{"integrations": [{"name": "a",
  "jumpcloud": {"api_key": {"env": "K"},
    "rps": "fast"}, "authomize": {"token": {"env": "T"}}}]}`,
			`line 3, column 5: integrations[0].jumpcloud.rps: want float64, got a JSON string`},
		{"a string for an object", `{"integrations": [{"name": "a",
  "jumpcloud": "acme", "authomize": {"token": {"env": "T"}}}]}`,
			`line 2, column 3: integrations[0].jumpcloud: want a JSON object {...}, got a JSON string`},
		{"misspelled top-level field", "{\n  \"integration\": []}",
			`line 2, column 3: unknown field "integration" (the file has one field, "integrations"; did you mean "integrations"?)`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "c.json", tt.content)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load accepted a bad file")
			}
			got := strings.TrimPrefix(err.Error(), "config "+p+": ")
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("error\n  %s\nwant it to start with\n  %s", got, tt.want)
			}
			if strings.Contains(got, "jcs-live") {
				t.Fatalf("the error repeats the inline secret: %s", got)
			}
		})
	}
}

// The walk that finds unknown fields accepts every key encoding/json accepts: a field spelled
// in another case was always taken, and must stay so.
func TestFieldsInAnotherCaseStayAccepted(t *testing.T) {
	p := writeFile(t, t.TempDir(), "c.json", `{"integrations": [{"Name": "a",
  "JumpCloud": {"API_KEY": {"Env": "K"}, "Base_URL": "https://console.jumpcloud.com"}, "authomize": {"token": {"FILE": "/t"}}}]}`)
	ins, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if a := ins["a"]; a.JumpCloud.APIKeyFrom.Env != "K" || a.JumpCloud.BaseURL != "https://console.jumpcloud.com" || a.Authomize.TokenFrom.File != "/t" {
		t.Fatalf("%+v", a)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"base_url", "org_id", "admin_email", "api_key", "rps", "client_id", "client_secret", "token_url"}
	for key, want := range map[string]string{
		"baseurl": "base_url", "base-url": "base_url", "BaseURL": "base_url", "apikey": "api_key", "api_kye": "api_key",
		"orgid": "org_id", "admin_mail": "admin_email", "clientsecret": "client_secret", "tokenurl": "token_url",
		"colour": "", "region": "", "url": "", "id": "", "key": "",
	} {
		if got := closest(key, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", key, got, want)
		}
	}
}
