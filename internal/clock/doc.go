// Package clock abstracts time for loops that wait, so tests can drive them
// with a fake clock instead of sleeping.
package clock
