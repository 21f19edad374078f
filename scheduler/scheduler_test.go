package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// at parses an RFC 3339 time.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

func mustCompile(t testing.TB, s Spec) Trigger {
	t.Helper()
	tr, err := Compile(s)
	require.NoError(t, err)
	return tr
}

func cronSpec(expr, zone, start string) Spec {
	s := Spec{Kind: KindCron, Cron: expr, TimeZone: zone}
	if start != "" {
		v, err := time.Parse(time.RFC3339, start)
		if err != nil {
			panic(err)
		}
		s.StartAt = &v
	}
	return s
}

// local renders fire times in the trigger's zone, compactly.
func local(tr Trigger, ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(tr.Location()).Format("2006-01-02 15:04:05 MST")
	}
	return out
}

// utc renders fire times as RFC 3339 in UTC.
func utc(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// fires previews n fire times of spec from its start_at.
func fires(t testing.TB, s Spec, n int) []string {
	t.Helper()
	tr := mustCompile(t, s)
	return local(tr, Preview(tr, nil, time.Time{}, n))
}
