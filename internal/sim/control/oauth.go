package control

import "net/http"

// oauthRoutes serves the service-account switches: GET /oauth/stats (token counters),
// POST /oauth/revoke?client_id=X (revoke the account's secret and its tokens, mid-sync if
// one runs) and POST /oauth/expire (every token issued so far expires now).
func (c *Control) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /oauth/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.JC.TokenStats()) })
	mux.HandleFunc("POST /oauth/revoke", func(w http.ResponseWriter, r *http.Request) {
		if !c.JC.RevokeSecret(r.URL.Query().Get("client_id")) {
			http.Error(w, "unknown client_id", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /oauth/expire", func(w http.ResponseWriter, r *http.Request) {
		c.JC.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
}
