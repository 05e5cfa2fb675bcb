// Package searchattrs checks that a Temporal namespace holds the connector's search
// attributes (temporalnames.SearchAttributeTypes) with the right types, creates the missing
// ones where the server lets a client do so, and otherwise says exactly what to run for the
// kind of server it is: tcld or the Cloud UI on Temporal Cloud, the Temporal CLI on a
// self-hosted server.
//
// Without them nothing works: Temporal refuses to start a workflow, or to create a schedule,
// that sets an attribute the namespace lacks, and a workflow task that upserts one fails and
// is retried for ever. So the worker and the starter check at start, and so does each sync
// before its first upsert (activities.Validate).
package searchattrs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"

	"jcsync/internal/temporalnames"
)

// Server is the namespace the attributes are checked in, and the address the client dials
// (which tells Temporal Cloud from a self-hosted server).
type Server struct {
	Address   string
	Namespace string
}

// cloudSuffixes end the host names of Temporal Cloud's endpoints: a namespace's own
// (<namespace>.<account>.tmprl.cloud) and the regional ones API keys use
// (<region>.<provider>.api.temporal.io).
var cloudSuffixes = []string{".tmprl.cloud", ".api.temporal.io"}

// IsCloud tells whether address (host or host:port) is a Temporal Cloud endpoint.
func IsCloud(address string) bool {
	host := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	for _, s := range cloudSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// saysCloud tells whether a server's refusal names Temporal Cloud: behind a proxy or a
// private endpoint the address does not.
func saysCloud(err error) bool {
	if err == nil {
		return false
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "temporal cloud") || strings.Contains(m, "tmprl.cloud") || strings.Contains(m, "tcld")
}

// Mismatch is an attribute the namespace holds under one of the connector's names, with
// another type.
type Mismatch struct {
	Name      string
	Want, Has enumspb.IndexedValueType
}

// MissingError says which of the connector's attributes the namespace lacks or holds with
// another type, and (its Error) what to run to add them on this kind of server.
type MissingError struct {
	Server
	// Missing are the names the namespace lacks, sorted.
	Missing []string
	// WrongType are the names it holds with another type, sorted.
	WrongType []Mismatch
	// Ints are the custom Int attributes the namespace holds, sorted: SQL visibility allows
	// three, so they say what to remove when the limit is reached.
	Ints []string
	// Cause is why they could not be created here; nil when no attempt was made (the
	// starter's check, the sync's, a worker on Temporal Cloud).
	Cause error
}

// Unwrap gives the cause, so callers can tell a refusal (PermissionDenied) apart.
func (e *MissingError) Unwrap() error { return e.Cause }

// Cloud tells whether the namespace is on Temporal Cloud, by its address or by what the
// server said.
func (e *MissingError) Cloud() bool { return IsCloud(e.Address) || saysCloud(e.Cause) }

// Error is the whole message: what is wrong, and the commands to run.
func (e *MissingError) Error() string {
	var b strings.Builder
	var what []string
	for _, n := range e.Missing {
		what = append(what, fmt.Sprintf("%s (%s) is missing", n, typeName(temporalnames.SearchAttributeTypes[n])))
	}
	for _, m := range e.WrongType {
		what = append(what, fmt.Sprintf("%s is %s but must be %s", m.Name, typeName(m.Has), typeName(m.Want)))
	}
	fmt.Fprintf(&b, "Temporal namespace %q lacks the connector's search attributes: %s. Syncs cannot start, or record how they ended, until they exist.\n",
		e.Namespace, strings.Join(what, "; "))
	if e.Cloud() {
		e.cloudAdvice(&b)
	} else {
		e.selfHostedAdvice(&b)
	}
	b.WriteString("See docs/search-attributes.md.")
	return b.String()
}

// toAdd is every attribute that must be added: the missing ones, and those of the wrong
// type once they are out of the way.
func (e *MissingError) toAdd() []string {
	names := append([]string(nil), e.Missing...)
	for _, m := range e.WrongType {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

// TcldCommand is the tcld command that adds the attributes on Temporal Cloud.
func (e *MissingError) TcldCommand() string {
	cmd := "tcld namespace search-attributes add --namespace " + e.Namespace
	for _, n := range e.toAdd() {
		cmd += fmt.Sprintf(" --search-attribute \"%s=%s\"", n, typeName(temporalnames.SearchAttributeTypes[n]))
	}
	return cmd
}

func (e *MissingError) cloudAdvice(b *strings.Builder) {
	if e.Cause != nil {
		fmt.Fprintf(b, "The server refused to create them (%v): on Temporal Cloud only its control plane does.\n", e.Cause)
	}
	if len(e.WrongType) > 0 {
		b.WriteString("Temporal Cloud neither deletes nor retypes an attribute: rename the one in the way first (if nothing else uses it), e.g.\n")
		for _, m := range e.WrongType {
			fmt.Fprintf(b, "  tcld namespace search-attributes rename --namespace %s --existing-name %s --new-name %sOld\n", e.Namespace, m.Name, m.Name)
		}
		b.WriteString("then ")
	}
	b.WriteString("add them on Temporal Cloud with tcld (an account or namespace admin, after `tcld login`):\n")
	fmt.Fprintf(b, "  %s\n", e.TcldCommand())
	var each []string
	for _, n := range e.toAdd() {
		each = append(each, fmt.Sprintf("%s of type %s", n, typeName(temporalnames.SearchAttributeTypes[n])))
	}
	fmt.Fprintf(b, "or in the Cloud UI (https://cloud.temporal.io): Namespaces → %s → Edit → Custom Search Attributes → Add a search attribute: %s → Save;\n",
		e.Namespace, strings.Join(each, ", "))
	b.WriteString("or with Terraform: one temporalcloud_namespace_search_attribute per attribute.\n")
}

func (e *MissingError) selfHostedAdvice(b *strings.Builder) {
	var denied *serviceerror.PermissionDenied
	switch {
	case e.Cause == nil && len(e.WrongType) > 0:
		b.WriteString("A worker never replaces an attribute of another type (something else may use it); an admin of the Temporal server runs:\n")
	case e.Cause == nil:
		b.WriteString("A worker creates them at start where the server lets it; otherwise an admin of the Temporal server runs:\n")
	case errors.As(e.Cause, &denied):
		fmt.Fprintf(b, "The worker may not create them (%v); an admin of the Temporal server runs:\n", e.Cause)
	case isLimit(e.Cause):
		fmt.Fprintf(b, "The server refused (%v): SQL visibility (PostgreSQL, MySQL, SQLite) holds a fixed number of custom attributes of each type per namespace, three of them Int", e.Cause)
		if len(e.Ints) > 0 {
			fmt.Fprintf(b, ", and this namespace's are %s", strings.Join(e.Ints, ", "))
		}
		b.WriteString(".\n")
		if legacy := e.legacyInts(); len(legacy) > 0 {
			b.WriteString("Earlier versions of the connector set " + strings.Join(legacy, " and ") + "; this one does not. Remove them to free their places (the syncs that set them keep the values in their histories):\n")
			fmt.Fprintf(b, "  temporal operator search-attribute remove %s --name %s --yes\n", e.cliTarget(), strings.Join(legacy, " --name "))
			b.WriteString("then run:\n")
		} else {
			b.WriteString("Remove an Int attribute nothing uses any more (temporal operator search-attribute remove), then run:\n")
		}
	default:
		fmt.Fprintf(b, "Creating them failed (%v); an admin of the Temporal server runs:\n", e.Cause)
	}
	for _, m := range e.WrongType {
		fmt.Fprintf(b, "  temporal operator search-attribute remove %s --name %s --yes   # the %s in the way, if nothing else uses it\n",
			e.cliTarget(), m.Name, typeName(m.Has))
	}
	for _, n := range e.toAdd() {
		fmt.Fprintf(b, "  temporal operator search-attribute create %s --name %s --type %s\n",
			e.cliTarget(), n, typeName(temporalnames.SearchAttributeTypes[n]))
	}
}

// cliTarget is the Temporal CLI's flags that name the server and the namespace (without an
// address, the CLI's default or its TEMPORAL_ADDRESS applies).
func (e *MissingError) cliTarget() string {
	if e.Address == "" {
		return "--namespace " + e.Namespace
	}
	return "--address " + e.Address + " --namespace " + e.Namespace
}

// legacyInts are the attributes of earlier versions the namespace still holds.
func (e *MissingError) legacyInts() []string {
	var out []string
	for _, n := range temporalnames.LegacySearchAttributes {
		for _, have := range e.Ints {
			if have == n {
				out = append(out, n)
			}
		}
	}
	return out
}

// isLimit tells the server's refusal of an attribute beyond what its visibility store holds
// ("cannot have more than 3 search attribute of type Int").
func isLimit(err error) bool {
	return strings.Contains(err.Error(), "cannot have more than")
}

// typeName is the name tcld, the Temporal CLI and the Cloud UI give a type.
func typeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return "Int"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_TEXT:
		return "Text"
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		return "Double"
	case enumspb.INDEXED_VALUE_TYPE_BOOL:
		return "Bool"
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return "Datetime"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return "KeywordList"
	}
	return t.String()
}

// Check lists the namespace's search attributes. It returns a *MissingError when any of the
// connector's is missing or has another type, and another error when they could not be
// listed (then nothing is known).
func Check(ctx context.Context, op operatorservice.OperatorServiceClient, srv Server) error {
	have, err := list(ctx, op, srv)
	if err != nil {
		return err
	}
	if m := compare(srv, have); m != nil {
		return m
	}
	return nil
}

// Ensure is Check, and creates the missing attributes where it may: not on Temporal Cloud
// (whose namespaces are configured through its control plane, so the attempt could only
// fail), and never over an attribute of another type (something else may use it). It
// returns the names it created; a *MissingError when some are still missing or of the wrong
// type, with what to run; another error when they could not be listed.
func Ensure(ctx context.Context, op operatorservice.OperatorServiceClient, srv Server) ([]string, error) {
	have, err := list(ctx, op, srv)
	if err != nil {
		return nil, err
	}
	miss := compare(srv, have)
	if miss == nil {
		return nil, nil
	}
	if len(miss.WrongType) > 0 || miss.Cloud() {
		return nil, miss
	}
	add := make(map[string]enumspb.IndexedValueType, len(miss.Missing))
	for _, n := range miss.Missing {
		add[n] = temporalnames.SearchAttributeTypes[n]
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: srv.Namespace, SearchAttributes: add})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		miss.Cause = err
		return nil, miss
	}
	// AlreadyExists: another worker added them at the same moment. Either way, the list says
	// when they are usable (and whether the types agree).
	for {
		have, err = list(ctx, op, srv)
		if err == nil {
			m := compare(srv, have)
			if m == nil {
				return miss.Missing, nil
			}
			if len(m.WrongType) > 0 {
				return nil, m
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("search attributes %s were created in namespace %s but are not listed yet: %w",
				strings.Join(miss.Missing, ", "), srv.Namespace, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// list is the namespace's custom search attributes and their types.
func list(ctx context.Context, op operatorservice.OperatorServiceClient, srv Server) (map[string]enumspb.IndexedValueType, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace})
	if err != nil {
		return nil, fmt.Errorf("list the search attributes of namespace %s: %w", srv.Namespace, err)
	}
	return resp.GetCustomAttributes(), nil
}

// compare is what the namespace lacks of the connector's attributes, or nil.
func compare(srv Server, have map[string]enumspb.IndexedValueType) *MissingError {
	m := &MissingError{Server: srv}
	for name, want := range temporalnames.SearchAttributeTypes {
		got, ok := have[name]
		switch {
		case !ok:
			m.Missing = append(m.Missing, name)
		case got != want:
			m.WrongType = append(m.WrongType, Mismatch{Name: name, Want: want, Has: got})
		}
	}
	if len(m.Missing) == 0 && len(m.WrongType) == 0 {
		return nil
	}
	for name, t := range have {
		if t == enumspb.INDEXED_VALUE_TYPE_INT {
			m.Ints = append(m.Ints, name)
		}
	}
	sort.Strings(m.Missing)
	sort.Strings(m.Ints)
	sort.Slice(m.WrongType, func(i, j int) bool { return m.WrongType[i].Name < m.WrongType[j].Name })
	return m
}
