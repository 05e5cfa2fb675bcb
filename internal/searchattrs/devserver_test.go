package searchattrs_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"jcsync/internal/searchattrs"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
)

// Namespaces of the dev server, one per case: SQL visibility keeps attributes per namespace.
const (
	nsCreate    = "create"
	nsCloud     = "cloud"
	nsLimit     = "limit"
	nsWrongType = "wrongtype"
)

var devServer struct {
	tc   *testenv.Temporal
	addr string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if devServer.tc != nil {
		devServer.tc.Stop()
	}
	os.Exit(code)
}

// server is a dev server started without the connector's search attributes (the SQLite
// visibility of the dev server has SQL visibility's limits).
func server(t *testing.T) (operatorservice.OperatorServiceClient, string) {
	t.Helper()
	if devServer.tc == nil {
		tc, err := testenv.StartBareTemporal(testenv.TemporalCLI(t), nsCreate, nsCloud, nsLimit, nsWrongType)
		if err != nil {
			t.Fatal(err)
		}
		devServer.tc, devServer.addr = tc, tc.Server.FrontendHostPort()
	}
	return devServer.tc.Client.OperatorService(), devServer.addr
}

func attributes(t *testing.T, op operatorservice.OperatorServiceClient, ns string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := op.ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetCustomAttributes()
}

func add(t *testing.T, op operatorservice.OperatorServiceClient, ns string, attrs map[string]enumspb.IndexedValueType) {
	t.Helper()
	if _, err := op.AddSearchAttributes(context.Background(), &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

// A self-hosted server that lets the worker: Ensure creates all three, and the next check
// finds nothing to do.
func TestEnsureCreatesOnSelfHosted(t *testing.T) {
	op, addr := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := searchattrs.Server{Address: addr, Namespace: nsCreate}
	var missing *searchattrs.MissingError
	if err := searchattrs.Check(ctx, op, srv); !errors.As(err, &missing) || len(missing.Missing) != len(temporalnames.SearchAttributeTypes) {
		t.Fatalf("check of a bare namespace: %v", err)
	}
	created, err := searchattrs.Ensure(ctx, op, srv)
	if err != nil || len(created) != len(temporalnames.SearchAttributeTypes) {
		t.Fatalf("created %v: %v", created, err)
	}
	have := attributes(t, op, nsCreate)
	for name, typ := range temporalnames.SearchAttributeTypes {
		if have[name] != typ {
			t.Errorf("%s is %v, want %v", name, have[name], typ)
		}
	}
	if err := searchattrs.Check(ctx, op, srv); err != nil {
		t.Fatalf("check after creation: %v", err)
	}
	if created, err := searchattrs.Ensure(ctx, op, srv); err != nil || len(created) != 0 {
		t.Fatalf("second Ensure created %v: %v", created, err)
	}
}

// On Temporal Cloud (told by the address) Ensure creates nothing, and says what to run there.
func TestEnsureOnCloudOnlyAdvises(t *testing.T) {
	op, _ := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := searchattrs.Server{Address: "acme-prod.a1b2c.tmprl.cloud:7233", Namespace: nsCloud}
	_, err := searchattrs.Ensure(ctx, op, srv)
	var missing *searchattrs.MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("want a MissingError, got %v", err)
	}
	if !strings.Contains(err.Error(), `tcld namespace search-attributes add --namespace cloud --search-attribute "JCSyncIntegration=Keyword" --search-attribute "JCSyncOutcome=Keyword" --search-attribute "JCSyncUsers=Int"`) {
		t.Errorf("no tcld command:\n%v", err)
	}
	for name := range temporalnames.SearchAttributeTypes {
		if _, ok := attributes(t, op, nsCloud)[name]; ok {
			t.Errorf("%s was created although the namespace is on Temporal Cloud", name)
		}
	}
}

// A namespace whose three Int places are taken by JCSyncGroups and JCSyncApps (which an
// earlier version set) and by another workflow's attribute: the server refuses JCSyncUsers.
// The message's removal command frees the places, and then Ensure succeeds.
func TestEnsureAtSQLLimitSaysWhatToRemove(t *testing.T) {
	op, addr := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	add(t, op, nsLimit, map[string]enumspb.IndexedValueType{
		"JCSyncGroups": enumspb.INDEXED_VALUE_TYPE_INT, "JCSyncApps": enumspb.INDEXED_VALUE_TYPE_INT, "OrderTotal": enumspb.INDEXED_VALUE_TYPE_INT,
	})
	srv := searchattrs.Server{Address: addr, Namespace: nsLimit}
	_, err := searchattrs.Ensure(ctx, op, srv)
	var missing *searchattrs.MissingError
	if !errors.As(err, &missing) || missing.Cause == nil {
		t.Fatalf("want a MissingError with the server's refusal, got %v", err)
	}
	remove := "temporal operator search-attribute remove --address " + addr + " --namespace limit --name JCSyncGroups --name JCSyncApps --yes"
	for _, s := range []string{"cannot have more than 3", remove,
		"temporal operator search-attribute create --address " + addr + " --namespace limit --name JCSyncUsers --type Int"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the message lacks %q:\n%v", s, err)
		}
	}
	// Do what it says (through the API the CLI calls), then the worker's Ensure goes through.
	if _, err := op.RemoveSearchAttributes(ctx, &operatorservice.RemoveSearchAttributesRequest{Namespace: nsLimit, SearchAttributes: []string{"JCSyncGroups", "JCSyncApps"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := searchattrs.Ensure(ctx, op, srv); err != nil {
		t.Fatalf("after removing the old attributes: %v", err)
	}
	if have := attributes(t, op, nsLimit); have["OrderTotal"] != enumspb.INDEXED_VALUE_TYPE_INT || have["JCSyncUsers"] != enumspb.INDEXED_VALUE_TYPE_INT {
		t.Fatalf("attributes: %v", have)
	}
}

// An attribute of the connector's name with another type is reported, never replaced.
func TestEnsureReportsWrongType(t *testing.T) {
	op, addr := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	add(t, op, nsWrongType, map[string]enumspb.IndexedValueType{"JCSyncUsers": enumspb.INDEXED_VALUE_TYPE_KEYWORD})
	srv := searchattrs.Server{Address: addr, Namespace: nsWrongType}
	_, err := searchattrs.Ensure(ctx, op, srv)
	var missing *searchattrs.MissingError
	if !errors.As(err, &missing) || len(missing.WrongType) != 1 || missing.WrongType[0].Name != "JCSyncUsers" {
		t.Fatalf("want JCSyncUsers reported of the wrong type, got %v", err)
	}
	if !strings.Contains(err.Error(), "JCSyncUsers is Keyword but must be Int") {
		t.Errorf("message:\n%v", err)
	}
	if have := attributes(t, op, nsWrongType); have["JCSyncUsers"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Errorf("JCSyncUsers was changed: %v", have)
	}
}
