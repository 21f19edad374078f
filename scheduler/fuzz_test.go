package scheduler

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzParseCron: the parser never panics, rejects with a *FieldError for
// "cron", and every accepted expression searches forward in a DST zone
// without hanging, and reparses from its normalized text.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 0 12 * * ?", "0 15 10 ? * 6L", "0 15 10 ? * 6#3", "0 15 10 L-2 * ?", "0 0 0 LW * ?", "50-10/7 * * ? * FRI-MON"} {
		f.Add(s)
	}
	ny, err := LoadZone("America/New_York")
	require.NoError(f, err)
	from := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC).Unix()

	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseCron(s)
		if err != nil {
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "error %v", err)
			require.Equal(t, "cron", fe.Field)
			return
		}
		for _, loc := range []*zone{zoneOf(time.UTC), zoneOf(ny)} {
			if u, ok := e.nextFire(loc, from); ok {
				require.GreaterOrEqual(t, u, from)
				if v, ok := e.nextFire(loc, u+1); ok {
					require.Greater(t, v, u)
				}
			}
		}
		again, err := parseCron(e.text)
		require.NoError(t, err, "normalized %q", e.text)
		require.Equal(t, e, again)
	})
}

// FuzzCompileJSON: any trigger JSON either fails to decode, fails to
// compile with a *FieldError, or compiles to a trigger whose fire times
// increase and whose normalized spec compiles to the same trigger.
func FuzzCompileJSON(f *testing.F) {
	for _, s := range []string{
		`{"kind":"cron","cron":"0/5 * * * * ?","time_zone":"Europe/Berlin"}`,
		`{"kind":"simple","interval":"1500ms","repeat_count":-1}`,
		`{"kind":"daily_time_interval","days_of_week":["MON","FRI"],"start_time_of_day":"08:00:00","end_time_of_day":"17:00:00","interval":15,"unit":"minute","time_zone":"America/New_York"}`,
		`{"kind":"calendar_interval","interval":1,"unit":"month","time_zone":"Asia/Kolkata","preserve_hour_of_day_across_dst":true}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, data []byte) {
		var spec Spec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		tr, err := Compile(spec)
		if err != nil {
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "error %v", err)
			require.NotEmpty(t, fe.Field)
			return
		}
		got := Preview(tr, nil, now, 5)
		for i := 1; i < len(got); i++ {
			require.True(t, got[i].After(got[i-1]), "fires %v", got)
		}
		// A misfire handled an hour late never schedules before that hour.
		if s := tr.Initial(now, nil); !s.Done() && !tr.IgnoresMisfires() {
			late := s.Next.Add(time.Hour)
			m := tr.Misfired(s, late, nil)
			require.True(t, m.Done() || !m.Next.Before(late), "misfired %v at %v: next %v", s.Next, late, m.Next)
		}

		again, err := Compile(tr.Spec())
		require.NoError(t, err, "normalized spec %+v", tr.Spec())
		require.Equal(t, tr.Spec(), again.Spec())
		require.Equal(t, got, Preview(again, nil, now, 5))
	})
}
