package jumpcloudsim

import "sync"

// PageKey identifies one page of one list: endpoint template, path id and skip.
type PageKey struct {
	Endpoint string
	ID       string
	Skip     int
	// Query holds the other parameters that select what a page holds (limit, sort, filter,
	// targets), so two different reads at the same offset are not taken for a refetch.
	Query string
}

// EndpointStatus is an endpoint template with an answered status.
type EndpointStatus struct {
	Endpoint string
	Status   int
}

// Counts are request counters since the start or the last ResetCounts. Status 0 stands for
// a dropped connection.
type Counts struct {
	Total            int64
	ByEndpoint       map[string]int64
	ByStatus         map[int]int64
	ByEndpointStatus map[EndpointStatus]int64
	// Pages counts successful (2xx) list responses per page, so a test can see which pages
	// were fetched more than once.
	Pages map[PageKey]int64
	// Insights counts requests to the Directory Insights events route, whatever their answer.
	Insights int64
}

// Refetched is the number of pages served successfully more than once.
func (c Counts) Refetched() int {
	n := 0
	for _, v := range c.Pages {
		if v > 1 {
			n++
		}
	}
	return n
}

// PagesServed is the total of successful list responses.
func (c Counts) PagesServed() int64 {
	var n int64
	for _, v := range c.Pages {
		n += v
	}
	return n
}

// Endpoint is the number of requests to one endpoint template.
func (c Counts) Endpoint(tmpl string) int64 { return c.ByEndpoint[tmpl] }

type counters struct {
	mu sync.Mutex
	c  Counts
}

func newCounts() Counts {
	return Counts{ByEndpoint: map[string]int64{}, ByStatus: map[int]int64{},
		ByEndpointStatus: map[EndpointStatus]int64{}, Pages: map[PageKey]int64{}}
}

func (cs *counters) record(tmpl string, status int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.c.Total++
	cs.c.ByEndpoint[tmpl]++
	cs.c.ByStatus[status]++
	cs.c.ByEndpointStatus[EndpointStatus{tmpl, status}]++
	if tmpl == InsightsPath {
		cs.c.Insights++
	}
}

func (cs *counters) page(k PageKey) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.c.Pages[k]++
}

// Counts returns a copy of the counters.
func (s *Server) Counts() Counts {
	s.cnt.mu.Lock()
	defer s.cnt.mu.Unlock()
	out := newCounts()
	out.Total = s.cnt.c.Total
	out.Insights = s.cnt.c.Insights
	for k, v := range s.cnt.c.ByEndpoint {
		out.ByEndpoint[k] = v
	}
	for k, v := range s.cnt.c.ByStatus {
		out.ByStatus[k] = v
	}
	for k, v := range s.cnt.c.ByEndpointStatus {
		out.ByEndpointStatus[k] = v
	}
	for k, v := range s.cnt.c.Pages {
		out.Pages[k] = v
	}
	return out
}

// ResetCounts zeroes the counters.
func (s *Server) ResetCounts() {
	s.cnt.mu.Lock()
	defer s.cnt.mu.Unlock()
	s.cnt.c = newCounts()
	s.arr.reset()
}
