package authomize

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkUploadBatching measures the client's side of an upload: encoding 10,000 accounts
// once, splitting them by count and by body size, and sending the requests. The server only
// drains the body and answers, so the figure is the client's own cost.
func BenchmarkUploadBatching(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"acceptedTimestamp":"2026-11-28T10:00:00.000000+00:00","requestId":"r","numberOfAcceptedEntities":1000,"data":{}}`)
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Token: "t", AppID: "app"})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]User, 10000)
	for i := range users {
		users[i] = User{
			UniqueID: fmt.Sprintf("5c3536e9e0a68400018%05d", i), OriginID: fmt.Sprintf("5c3536e9e0a68400018%05d", i),
			Name: fmt.Sprintf("user.%d", i), Email: fmt.Sprintf("user.%d@example.org", i),
			FirstName: "Zoë", LastName: "Ångström", Status: StatusEnabled, Department: "Engineering",
			Title: "Engineer", Tags: []string{"jumpcloud"},
			CustomProperties: []CustomProperty{{Key: "company", Value: "Example Corp"}, {Key: "location", Value: "Berlin"}},
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.UploadUsers(context.Background(), users)
		if err != nil || res.Requests != 10 {
			b.Fatalf("requests=%d err=%v", res.Requests, err)
		}
	}
	b.ReportMetric(float64(len(users)), "items/op")
}
