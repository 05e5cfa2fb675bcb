package chaos

import (
	"context"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// scanText counts the secrets in text and fails the test for each one found. The secret
// itself is never printed, only its kind, so a failure does not leak it further.
func scanText(t *testing.T, where, text string) {
	t.Helper()
	found := 0
	for _, s := range secrets {
		if n := strings.Count(text, s); n > 0 {
			found += n
			t.Errorf("%s contains a secret (%s…) %d times", where, s[:4], n)
		}
	}
	sum.with(func(s *summary) { s.artifacts++; s.secretsFound += found })
}

// protoText renders a message for scanning: its JSON, plus the decoded bytes of every
// payload in it. protojson writes payload data base64-encoded, so scanning the JSON alone
// would never find a secret inside an input, a result, a memo or heartbeat details.
func protoText(m proto.Message) string {
	b, _ := protojson.Marshal(m)
	var parts []string
	payloadTexts(m.ProtoReflect(), &parts)
	return string(b) + "\n" + strings.Join(parts, "\n")
}

func payloadTexts(m protoreflect.Message, out *[]string) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		*out = append(*out, string(p.GetData()))
		for _, v := range p.GetMetadata() {
			*out = append(*out, string(v))
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					payloadTexts(mv.Message(), out)
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len(); i++ {
					payloadTexts(v.List().Get(i).Message(), out)
				}
			}
		case fd.Message() != nil:
			payloadTexts(v.Message(), out)
		}
		return true
	})
}

// scanHistory scans every event of a run: inputs, results, failures, memos, search
// attributes and the heartbeat details recorded with failed or timed-out attempts.
func scanHistory(t *testing.T, c client.Client, id, runID string) {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Errorf("read the history of %s: %v", id, err)
			return
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		t.Errorf("the history of %s is empty", id)
		return
	}
	scanText(t, "history of "+id, protoText(&historypb.History{Events: events}))
}

// TestPayloadTextsDecodesPayloads: the scanner must find a secret inside a payload, where
// protojson alone would only show base64.
func TestPayloadTextsDecodesPayloads(t *testing.T) {
	h := &historypb.History{Events: []*historypb.HistoryEvent{{
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
			ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte(`{"key":"` + secrets[0] + `"}`)}}},
			},
		},
	}}}
	js, _ := protojson.Marshal(h)
	if strings.Contains(string(js), secrets[0]) {
		t.Fatal("protojson shows payload data in clear: the decoding below is not what finds it")
	}
	if !strings.Contains(protoText(h), secrets[0]) {
		t.Fatal("the scanner misses a secret inside a payload")
	}
}
