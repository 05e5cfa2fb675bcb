package searchattrs

import (
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
)

func TestIsCloud(t *testing.T) {
	for addr, want := range map[string]bool{
		"acme-prod.a1b2c.tmprl.cloud:7233":   true,  // a namespace's own endpoint (mTLS)
		"ACME-PROD.A1B2C.TMPRL.CLOUD:7233":   true,  // host names are case-insensitive
		"us-east-1.aws.api.temporal.io:7233": true,  // the regional endpoint API keys use
		"acme.a1b2c.tmprl.cloud":             true,  // no port
		"localhost:7233":                     false, // the dev server
		"temporal:7233":                      false, // docker-compose
		"tmprl.cloud.example.com:7233":       false, // only a suffix counts
		"127.0.0.1:7233":                     false,
		"api.temporal.io.evil.example:7233":  false,
	} {
		if got := IsCloud(addr); got != want {
			t.Errorf("IsCloud(%q) = %v, want %v", addr, got, want)
		}
	}
}

// The exact tcld command for the namespace, and the Cloud UI's path: what an operator of a
// Temporal Cloud namespace pastes. No temporal operator command, which Cloud refuses.
func TestCloudMessage(t *testing.T) {
	e := &MissingError{
		Server:  Server{Address: "acme-prod.a1b2c.tmprl.cloud:7233", Namespace: "acme-prod.a1b2c"},
		Missing: []string{"JCSyncIntegration", "JCSyncOutcome", "JCSyncUsers"},
	}
	want := `tcld namespace search-attributes add --namespace acme-prod.a1b2c --search-attribute "JCSyncIntegration=Keyword" --search-attribute "JCSyncOutcome=Keyword" --search-attribute "JCSyncUsers=Int"`
	if got := e.TcldCommand(); got != want {
		t.Fatalf("tcld command:\n got %s\nwant %s", got, want)
	}
	msg := e.Error()
	for _, s := range []string{
		`Temporal namespace "acme-prod.a1b2c" lacks the connector's search attributes: JCSyncIntegration (Keyword) is missing; JCSyncOutcome (Keyword) is missing; JCSyncUsers (Int) is missing.`,
		"\n  " + want + "\n",
		"Namespaces → acme-prod.a1b2c → Edit → Custom Search Attributes",
		"JCSyncUsers of type Int",
		"temporalcloud_namespace_search_attribute",
		"docs/search-attributes.md",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("the message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "temporal operator") {
		t.Errorf("a Temporal Cloud message advises the operator API:\n%s", msg)
	}
}

// Behind a proxy the address says nothing; the server's refusal naming Temporal Cloud does.
func TestCloudByError(t *testing.T) {
	e := &MissingError{
		Server:  Server{Address: "temporal-proxy.internal:7233", Namespace: "acme-prod.a1b2c"},
		Missing: []string{"JCSyncUsers"},
		Cause:   serviceerror.NewPermissionDenied("Request unauthorized: search attributes are managed through Temporal Cloud", ""),
	}
	msg := e.Error()
	if !e.Cloud() || !strings.Contains(msg, `tcld namespace search-attributes add --namespace acme-prod.a1b2c --search-attribute "JCSyncUsers=Int"`) {
		t.Fatalf("not taken for Temporal Cloud:\n%s", msg)
	}
	if !strings.Contains(msg, "only its control plane does") {
		t.Errorf("the refusal is not explained:\n%s", msg)
	}
}

func TestCloudWrongType(t *testing.T) {
	e := &MissingError{
		Server:    Server{Address: "acme-prod.a1b2c.tmprl.cloud:7233", Namespace: "acme-prod.a1b2c"},
		WrongType: []Mismatch{{Name: "JCSyncUsers", Want: enumspb.INDEXED_VALUE_TYPE_INT, Has: enumspb.INDEXED_VALUE_TYPE_KEYWORD}},
	}
	msg := e.Error()
	for _, s := range []string{
		"JCSyncUsers is Keyword but must be Int",
		"tcld namespace search-attributes rename --namespace acme-prod.a1b2c --existing-name JCSyncUsers --new-name JCSyncUsersOld",
		`tcld namespace search-attributes add --namespace acme-prod.a1b2c --search-attribute "JCSyncUsers=Int"`,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("the message lacks %q:\n%s", s, msg)
		}
	}
}

func TestSelfHostedMessage(t *testing.T) {
	e := &MissingError{
		Server:  Server{Address: "temporal:7233", Namespace: "default"},
		Missing: []string{"JCSyncOutcome", "JCSyncUsers"},
	}
	msg := e.Error()
	for _, s := range []string{
		"A worker creates them at start where the server lets it",
		"\n  temporal operator search-attribute create --address temporal:7233 --namespace default --name JCSyncOutcome --type Keyword\n",
		"\n  temporal operator search-attribute create --address temporal:7233 --namespace default --name JCSyncUsers --type Int\n",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("the message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "tcld") || strings.Contains(msg, "JCSyncIntegration") {
		t.Errorf("self-hosted message names tcld or an attribute that exists:\n%s", msg)
	}

	// A caller that does not know the address (the CLI's default then applies).
	e.Address = ""
	if msg := e.Error(); !strings.Contains(msg, "\n  temporal operator search-attribute create --namespace default --name JCSyncUsers --type Int\n") {
		t.Errorf("without an address:\n%s", msg)
	}

	e.Cause = serviceerror.NewPermissionDenied("Request unauthorized.", "")
	if msg := e.Error(); !strings.Contains(msg, "The worker may not create them (Request unauthorized.); an admin of the Temporal server runs:") {
		t.Errorf("permission denied:\n%s", msg)
	}
	if !errors.As(e, new(*serviceerror.PermissionDenied)) {
		t.Error("the cause does not unwrap")
	}
}

func TestSelfHostedWrongType(t *testing.T) {
	e := &MissingError{
		Server:    Server{Address: "temporal:7233", Namespace: "default"},
		WrongType: []Mismatch{{Name: "JCSyncOutcome", Want: enumspb.INDEXED_VALUE_TYPE_KEYWORD, Has: enumspb.INDEXED_VALUE_TYPE_TEXT}},
	}
	msg := e.Error()
	remove := "temporal operator search-attribute remove --address temporal:7233 --namespace default --name JCSyncOutcome --yes"
	create := "temporal operator search-attribute create --address temporal:7233 --namespace default --name JCSyncOutcome --type Keyword"
	if !strings.Contains(msg, "JCSyncOutcome is Text but must be Keyword") || !strings.Contains(msg, remove) || !strings.Contains(msg, create) ||
		strings.Index(msg, remove) > strings.Index(msg, create) {
		t.Errorf("want the removal, then the creation:\n%s", msg)
	}
}

// SQL visibility's limit of three Int attributes, taken by the two the connector no longer
// sets and one of something else: the advice removes exactly the connector's old ones.
func TestSQLLimitMessage(t *testing.T) {
	e := &MissingError{
		Server:  Server{Address: "temporal:7233", Namespace: "default"},
		Missing: []string{"JCSyncUsers"},
		Ints:    []string{"JCSyncApps", "JCSyncGroups", "OrderTotal"},
		Cause:   serviceerror.NewInvalidArgument("Unable to create search attributes: cannot have more than 3 search attribute of type Int."),
	}
	msg := e.Error()
	for _, s := range []string{
		"three of them Int, and this namespace's are JCSyncApps, JCSyncGroups, OrderTotal",
		"\n  temporal operator search-attribute remove --address temporal:7233 --namespace default --name JCSyncGroups --name JCSyncApps --yes\n",
		"\n  temporal operator search-attribute create --address temporal:7233 --namespace default --name JCSyncUsers --type Int\n",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("the message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "--name OrderTotal") {
		t.Errorf("the advice removes an attribute the connector does not own:\n%s", msg)
	}

	// Without the old attributes the operator chooses what to remove.
	e.Ints = []string{"A", "B", "C"}
	if msg := e.Error(); !strings.Contains(msg, "Remove an Int attribute nothing uses any more") || strings.Contains(msg, "--name JCSyncGroups") {
		t.Errorf("limit without the old attributes:\n%s", msg)
	}
}
