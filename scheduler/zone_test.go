package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The offset table agrees with Go's zone lookups, at sampled instants and
// on both sides of every offset change, from 1970 to 2200.
func TestZoneTableMatchesGo(t *testing.T) {
	for _, name := range []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia", "America/Sao_Paulo", "Asia/Kolkata"} {
		loc, err := LoadZone(name)
		require.NoError(t, err)
		z := zoneOf(loc)
		check := func(u int64) {
			_, off := time.Unix(u, 0).In(loc).Zone()
			sp := spanAt(z, u)
			require.Equal(t, int64(off), sp.off, "%s at %v", name, time.Unix(u, 0).UTC())
			require.True(t, u >= sp.start && u < sp.end, "%s at %v: span %+v", name, time.Unix(u, 0).UTC(), sp)
		}
		for u := wallSeconds(1970, 1, 1, 0, 0, 0); u < wallSeconds(2200, 1, 1, 0, 0, 0); u += 5*86400 + 3599 {
			check(u)
		}
		for i, s := range z.table.starts[1:] {
			check(s - 1)
			check(s)
			require.NotEqual(t, z.table.offs[i], z.table.offs[i+1], "spans are merged by offset")
		}
	}
}

func TestZoneUTC(t *testing.T) {
	require.Same(t, utcZone, zoneOf(time.UTC))
	sp := spanAt(utcZone, 12345)
	require.Equal(t, int64(0), sp.off)
}
