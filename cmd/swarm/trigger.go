package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

// defaultPreviewCount is how many fire times trigger preview asks for.
const defaultPreviewCount = 10

// previewTime is how preview shows an instant.
const previewTime = "Mon 2006-01-02 15:04:05"

func newTriggerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "trigger",
		Short:   "work with triggers without a job",
		Example: `  swarm trigger preview --cron "0 0 2 ? * MON-FRI" --time-zone Europe/Berlin`,
	}
	cmd.AddCommand(newTriggerPreviewCmd(g))
	return cmd
}

func newTriggerPreviewCmd(g *globals) *cobra.Command {
	var trigger, from string
	var count int
	var tf triggerFlags
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "list the next fire times of a trigger, computed by the server",
		Example: `  swarm trigger preview --cron "0 15 10 L * ?" --time-zone America/New_York --count 5
  swarm trigger preview --every 90m --repeat 3 --from 2026-12-03T17:05:00Z
  swarm trigger preview --trigger '{"kind":"daily_time_interval","interval":15,"unit":"minute","start_time_of_day":"08:00:00","end_time_of_day":"17:00:00"}'`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			req, err := previewRequest(cmd, trigger, from, count, &tf)
			if err != nil {
				return err
			}
			resp, err := s.api.PreviewTrigger(cmd.Context(), *req)
			if err != nil {
				return err
			}
			return s.out.print(resp, func(w io.Writer) error { return previewTable(w, resp) })
		}),
	}
	cmd.Flags().StringVar(&trigger, "trigger", "", "the trigger as JSON, as a job holds it")
	cmd.Flags().IntVar(&count, "count", defaultPreviewCount, "how many fire times")
	cmd.Flags().StringVar(&from, "from", "", "compute from this RFC 3339 time instead of now")
	tf.register(cmd.Flags())
	return cmd
}

func previewRequest(cmd *cobra.Command, trigger, from string, count int, tf *triggerFlags) (*api.PreviewRequest, error) {
	req := &api.PreviewRequest{Count: count}
	if trigger != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(trigger)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req.Trigger); err != nil {
			return nil, fmt.Errorf("--trigger: %w", err)
		}
	}
	if err := tf.apply(cmd.Flags(), &req.Trigger); err != nil {
		return nil, err
	}
	if trigger == "" && !tf.given(cmd.Flags()) {
		return nil, errors.New("which trigger? pass --cron EXPR, --every DURATION or --trigger JSON")
	}
	if count < 1 {
		return nil, errors.New("--count: must be at least 1")
	}
	if from != "" {
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return nil, fmt.Errorf("--from: want an RFC 3339 time such as 2026-12-03T17:05:00Z: %w", err)
		}
		req.From = &t
	}
	return req, nil
}

// previewTable shows each fire time in UTC and, when the trigger has
// another zone, in that zone as the server computed it.
func previewTable(w io.Writer, resp *api.PreviewResponse) error {
	zone := resp.TimeZone
	local := zone != "" && zone != "UTC" && len(resp.LocalTimes) == len(resp.FireTimes)
	headers := []string{"#", "UTC"}
	if local {
		headers = append(headers, "LOCAL ("+zone+")")
	}
	t := newTable(w, headers...)
	for i, ft := range resp.FireTimes {
		cols := []string{strconv.Itoa(i + 1), ft.UTC().Format(previewTime)}
		if local {
			cols = append(cols, fmtLocalTime(resp.LocalTimes[i]))
		}
		t.row(cols...)
	}
	if len(resp.FireTimes) == 0 {
		t.row("-", "the trigger never fires")
	}
	return t.flush()
}

// fmtLocalTime shows the server's local time with its offset, or as it
// came when it is not RFC 3339.
func fmtLocalTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format(previewTime + " -07:00")
}
