// Package ui serves swarm's dashboard: static assets embedded in the
// binary, talking only to the public REST API. It holds no state and
// decides nothing; everything it shows comes from /v1/.
package ui
