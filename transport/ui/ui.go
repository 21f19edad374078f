package ui

import "net/http"

// Handler serves the dashboard under /ui/.
func Handler() http.Handler {
	return http.NotFoundHandler()
}
