// Package testsignal provides hooks that cost nothing in production and let
// tests wait for an event instead of sleeping. A Signal does nothing until a
// test calls Init; after that every Signal call is buffered for WaitOrTimeout.
package testsignal
