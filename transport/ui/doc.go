// Package ui serves swarm's dashboard at /ui/: plain HTML, CSS and ES
// modules embedded in the binary (static/), with no build step and nothing
// fetched from anywhere else. The page talks only to the public REST API
// under /v1/ of the server that served it, sending the bearer token the
// user entered; so it holds no state and decides nothing, and everything it
// shows comes from /v1/.
//
// Handler serves index.html uncached and the assets under a path versioned
// by their content hash, cached for good, all with a Content-Security-Policy
// that allows the page's own origin only.
package ui
