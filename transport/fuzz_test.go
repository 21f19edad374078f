package transport_test

import (
	"testing"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/transport"
)

// FuzzDecodeJob feeds arbitrary bodies to the job decoder and validation
// of POST /v1/jobs: they must answer an error or a valid job, never panic
// or hang.
func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"group":"g","name":"n","trigger":{"kind":"cron","cron":"0 * * * * ?"},"executor":{"command":"true"}}`))
	f.Add([]byte(`{"group":"g","name":"n","trigger":{"kind":"simple","interval":"1500ms","repeat_count":-1},"executor":{"kind":"handler","name":"x"},"retries":{"max":3,"backoff":"1s"}}`))
	f.Add([]byte(`{"group":"g","name":"n","trigger":{"kind":"daily_time_interval","interval":15,"unit":"minute"},"perform":{"kind":"http","url":"http://h/x"},"executor":{"command":"x"}}`))
	f.Add([]byte(`{"sharding_count":"four"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"group":"g","name":"n","tigger":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var j api.Job
		if err := transport.DecodeJSON(body, &j); err != nil {
			requireAPIError(t, err)
			return
		}
		if _, err := j.Normalize(); err != nil {
			requireAPIError(t, err)
			return
		}
		if !api.ValidName(j.Group) || !api.ValidName(j.Name) || j.ClientGroup == "" {
			t.Fatalf("Normalize accepted an invalid job: %+v", j)
		}
	})
}

// FuzzPreviewRequest feeds arbitrary bodies to the preview decoder and the
// trigger compiler.
func FuzzPreviewRequest(f *testing.F) {
	f.Add([]byte(`{"trigger":{"kind":"cron","cron":"0 15 10 L-2 * ?","time_zone":"Europe/London"},"count":5}`))
	f.Add([]byte(`{"trigger":{"kind":"calendar_interval","interval":1,"unit":"month"}}`))
	f.Add([]byte(`{"trigger":{"kind":"cron","cron":"0 0 * * ?"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.PreviewRequest
		if err := transport.DecodeJSON(body, &req); err != nil {
			requireAPIError(t, err)
			return
		}
		if _, err := api.CompileTrigger("trigger", req.Trigger); err != nil {
			requireAPIError(t, err)
		}
	})
}

func requireAPIError(t *testing.T, err error) {
	t.Helper()
	e := api.AsError(err)
	if e.Status != 400 || e.Code != api.CodeInvalid || e.Message == "" {
		t.Fatalf("not a clear 400 error: %+v", e)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	for body, field := range map[string]string{
		`{"group":"g","timeout":"soon"}`:                            "timeout",
		`{"group":"g","trigger":{"kind":"simple","interval":"xx"}}`: "trigger.interval",
		`{"retries":{"max":1,"backoff":"never"}}`:                   "retries.backoff",
		`{"sharding_count":"four"}`:                                 "sharding_count",
		`{"tigger":{}}`:                                             "tigger",
	} {
		var j api.Job
		err := transport.DecodeJSON([]byte(body), &j)
		if got := api.AsError(err).Field; got != field {
			t.Errorf("%s: field %q, want %q (%v)", body, got, field, err)
		}
	}
}
