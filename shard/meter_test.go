package shard

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A meter begun a few seconds ago reads the rate it has seen; once its
// window is full, the mean over the whole minute, so a burst on one
// second of each minute reads as its mean rate.
func TestMeterReadsTheRateSinceItBegan(t *testing.T) {
	t0 := time.Unix(1_000_000, 500e6)
	var m meter
	m.start(t0)
	for s := range 5 {
		m.add(t0.Add(time.Duration(s+1)*time.Second), 100)
	}
	require.InDelta(t, 100, m.rate(t0.Add(6*time.Second)), 1e-9, "five complete seconds of 100")

	var herd meter
	herd.start(t0)
	for minute := range 3 {
		herd.add(t0.Add(time.Duration(minute)*time.Minute+time.Second), 6000)
	}
	require.InDelta(t, 100, herd.rate(t0.Add(2*time.Minute+30*time.Second)), 1e-9, "6000 a minute")
}

// A meter is full once a whole window of complete seconds has passed
// since it began, and not before.
func TestMeterIsFullAfterAWindow(t *testing.T) {
	t0 := time.Unix(1_000_000, 500e6)
	var m meter
	m.start(t0)
	require.False(t, m.full(t0.Add(meterWindow-time.Second)))
	require.True(t, m.full(t0.Add(meterWindow+time.Second)))
}
