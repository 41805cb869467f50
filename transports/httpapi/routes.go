package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
)

// routeMethods are the methods tried on a path that has no route for the
// request's method, to fill the Allow header of a 405.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// withRouteProblems responds to requests that match no route with a problem
// document, the shape of every other error, instead of http.ServeMux's plain
// text. It sends 405 with an Allow header when the path has routes for other
// methods, and 404 otherwise.
func (s *Server) withRouteProblems(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern != "" {
			next.ServeHTTP(w, r)
			return
		}
		var allowed []string
		for _, method := range routeMethods {
			probe := r.Clone(r.Context())
			probe.Method = method
			if _, pattern := s.mux.Handler(probe); pattern != "" {
				allowed = append(allowed, method)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeProblem(w, problemf(http.StatusMethodNotAllowed, "%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
			return
		}
		writeProblem(w, problemf(http.StatusNotFound, "no route for %s %s: the routes are listed at GET /docs and GET /openapi.json", r.Method, r.URL.Path))
	})
}

// writeProblem writes p as the whole response.
func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
