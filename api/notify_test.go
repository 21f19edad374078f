package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

func notifyJob(n ...api.Notify) api.Job {
	return api.Job{
		Group: "g", Name: "n",
		Trigger:  scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 * * * ?"},
		Executor: api.Executor{Command: "true"},
		Notify:   n,
	}
}

func TestNotifyDefaultsToEveryEvent(t *testing.T) {
	j := notifyJob(api.Notify{URL: "https://hooks.example.com/a"}, api.Notify{URL: "http://10.0.0.1:8080/b", On: []string{"recovery"}})
	_, err := j.Normalize()
	require.NoError(t, err)
	require.Equal(t, []string{"failure", "timeout", "lost", "recovery"}, j.Notify[0].On)
	require.Equal(t, []string{"recovery"}, j.Notify[1].On)
	require.True(t, j.Notify[1].Wants(api.NotifyRecovery))
	require.False(t, j.Notify[1].Wants(api.NotifyFailure))
}

func TestNotifyRefusalsNameTheField(t *testing.T) {
	many := make([]api.Notify, api.MaxNotify+1)
	for i := range many {
		many[i] = api.Notify{URL: fmt.Sprintf("https://h.example.com/%d", i)}
	}
	cases := []struct {
		name  string
		n     []api.Notify
		field string
	}{
		{"no url", []api.Notify{{}}, "notify[0].url"},
		{"ftp", []api.Notify{{URL: "https://ok.example.com"}, {URL: "ftp://h/x"}}, "notify[1].url"},
		{"no host", []api.Notify{{URL: "https:///x"}}, "notify[0].url"},
		{"relative", []api.Notify{{URL: "/hook"}}, "notify[0].url"},
		{"long url", []api.Notify{{URL: "https://h.example.com/" + strings.Repeat("a", api.MaxNotifyURLBytes)}}, "notify[0].url"},
		{"unknown event", []api.Notify{{URL: "https://h.example.com", On: []string{"failure", "success"}}}, "notify[0].on[1]"},
		{"bad header name", []api.Notify{{URL: "https://h.example.com", Headers: map[string]string{"X Bad": "v"}}}, "notify[0].headers"},
		{"header value with newline", []api.Notify{{URL: "https://h.example.com", Headers: map[string]string{"X-Token": "a\r\nEvil: 1"}}}, "notify[0].headers.X-Token"},
		{"too many", many, "notify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := notifyJob(tc.n...)
			_, err := j.Normalize()
			require.Error(t, err)
			e := api.AsError(err)
			require.Equal(t, api.CodeInvalid, e.Code)
			require.Equal(t, tc.field, e.Field, e.Message)
		})
	}
}

func TestJobWithoutNotifyKeepsItsJSON(t *testing.T) {
	j := notifyJob()
	_, err := j.Normalize()
	require.NoError(t, err)
	b, err := json.Marshal(j)
	require.NoError(t, err)
	require.NotContains(t, string(b), "notify")
}
