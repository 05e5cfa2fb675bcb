package main

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
)

// ensureSearchAttribute registers the connector's search attributes (temporalnames.
// SearchAttributeTypes: the integration, and the outcome and counts a sync sets when it ends)
// that the namespace lacks, so syncs can be found by integration and by how they went. A
// worker without operator rights (e.g. on Temporal Cloud, where namespaces are configured
// elsewhere) keeps running; the log says what to do.
func ensureSearchAttribute(ctx context.Context, tc client.Client, namespace string, log *logrus.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range temporalnames.SearchAttributeTypes {
		missing[name] = typ
	}
	list, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err == nil {
		for name := range list.GetCustomAttributes() {
			delete(missing, name)
		}
	}
	if len(missing) == 0 {
		return
	}
	names := make([]string, 0, len(missing))
	var create []string
	for name, typ := range missing {
		names = append(names, name)
		create = append(create, "temporal operator search-attribute create --namespace "+namespace+" --name "+name+" --type "+searchAttrType(typ))
	}
	sort.Strings(names)
	sort.Strings(create)
	_, err = tc.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	var denied *serviceerror.PermissionDenied
	fields := logrus.Fields{"search_attributes": strings.Join(names, ",")}
	switch {
	case err == nil:
		log.WithFields(fields).Info("registered search attributes")
	case errors.As(err, &exists):
	case errors.As(err, &denied):
		log.WithFields(fields).Warn("not allowed to add the search attributes; ask an admin to run: " + strings.Join(create, "; "))
	default:
		log.WithError(err).WithFields(fields).Warn("could not add the search attributes; syncs will fail to start or to finish until they exist: " + strings.Join(create, "; "))
	}
}

// searchAttrType is the CLI's name of a search attribute type.
func searchAttrType(t enumspb.IndexedValueType) string {
	if t == enumspb.INDEXED_VALUE_TYPE_INT {
		return "Int"
	}
	return "Keyword"
}
