// Package ui holds the dashboard's end-to-end test: a real server and a
// real worker run in-process, and headless Chromium drives the dashboard
// at /ui/ through a bearer-token gate. It has no code outside its tests and
// never changes what it tests; it only looks and clicks like an operator.
package ui
