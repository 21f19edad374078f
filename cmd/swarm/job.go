package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

// maxListLimit is the largest page the server serves (docs/api.md).
const maxListLimit = 1000

func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "create, inspect and change jobs",
		Example: `  swarm job create --group billing --name nightly --cron "0 0 2 * * ?" --exec "/opt/jobs/invoices --day yesterday"
  swarm job list --group billing
  swarm job apply -f jobs/`,
	}
	cmd.AddCommand(
		newJobCreateCmd(g),
		newJobGetCmd(g),
		newJobListCmd(g),
		newJobUpdateCmd(g),
		newJobApplyCmd(g),
		newJobDeleteCmd(g),
		newJobActionCmd(g, "pause", "pause a job: it stops firing until resumed", (*api.RESTClient).PauseJob),
		newJobActionCmd(g, "resume", "resume a paused job; missed fires follow its misfire policy", (*api.RESTClient).ResumeJob),
		newJobTriggerCmd(g),
		newJobImportCmd(g),
	)
	return cmd
}

func newJobCreateCmd(g *globals) *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "create a job from flags or a file",
		Example: `  swarm job create --group billing --name nightly --cron "0 0 2 * * ?" --time-zone Europe/Berlin \
      --exec "/opt/jobs/invoices --day yesterday" --client-group batch --retries 3
  swarm job create --group demo --name tick --every 1500ms --repeat 9 --exec 'echo "hello world"'
  swarm job create -f job.yaml --name nightly-copy`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			job, err := f.build(cmd.Flags(), cmd.InOrStdin())
			if err != nil {
				return err
			}
			created, err := s.api.CreateJob(cmd.Context(), job)
			if api.HasCode(err, api.CodeAlreadyExists) {
				return &userError{err: err, msg: fmt.Sprintf(
					"job %s already exists: change it with `swarm job update %s` or `swarm job apply -f FILE`", job.Key(), job.Key())}
			}
			if err != nil {
				return err
			}
			return s.out.print(created, func(w io.Writer) error { return jobRow(w, *created) })
		}),
	}
	f.register(cmd.Flags(), true)
	return cmd
}

func newJobGetCmd(g *globals) *cobra.Command {
	var key jobKey
	cmd := &cobra.Command{
		Use:   "get GROUP/NAME",
		Short: "show a job",
		Example: `  swarm job get billing/nightly
  swarm job get --group billing --name nightly -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			group, name, err := key.resolve(args)
			if err != nil {
				return err
			}
			job, err := s.api.GetJob(cmd.Context(), group, name)
			if err != nil {
				return about(err, "job "+group+"/"+name)
			}
			return s.out.print(job, func(w io.Writer) error { return jobDetail(w, job) })
		}),
	}
	key.register(cmd)
	return cmd
}

// jobDetail is the table form of job get.
func jobDetail(w io.Writer, j *api.Job) error {
	routing := j.Routing
	if j.ShardingCount > 1 {
		routing += fmt.Sprintf(", %d pieces", j.ShardingCount)
	}
	retries := ""
	if j.Retries.Max > 0 {
		retries = fmt.Sprintf("%d, backoff %s up to %s", j.Retries.Max, j.Retries.Backoff.D(), j.Retries.MaxBackoff.D())
	}
	timeout := ""
	if j.Timeout > 0 {
		timeout = fmtDuration(j.Timeout.D())
	}
	return fields(w,
		"KEY", j.Key(),
		"ID", j.ID,
		"DESCRIPTION", j.Description,
		"STATE", j.State,
		"TRIGGER", fmtTrigger(j.Trigger),
		"EXECUTOR", fmtExecutor(j.Executor),
		"PERFORM", fmtPerform(j.Perform),
		"CLIENT GROUP", j.ClientGroup,
		"ROUTING", routing,
		"CONCURRENCY", j.Concurrency,
		"TIMEOUT", timeout,
		"RETRIES", retries,
		"DATA", fmtMap(j.Data),
		"NEXT FIRE", fmtTime(j.NextFireAt),
		"LAST FIRE", fmtTime(j.PrevFireAt),
		"FIRED", strconv.FormatInt(j.TimesTriggered, 10),
		"CREATED", fmtTime(j.CreatedAt),
		"UPDATED", fmtTime(j.UpdatedAt),
	)
}

func fmtExecutor(e api.Executor) string {
	switch {
	case e.Kind == api.ExecutorHandler:
		return "handler " + e.Name
	case e.Shell:
		return "sh -c " + quoteWord(e.Command)
	}
	words := []string{quoteWord(e.Command)}
	for _, a := range e.Args {
		words = append(words, quoteWord(a))
	}
	return strings.Join(words, " ")
}

// quoteWord quotes a word that splitCommand would otherwise split.
func quoteWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func fmtPerform(p api.Perform) string {
	switch p.Kind {
	case api.PerformHTTP:
		return strings.TrimSpace(p.Kind + " " + p.Method + " " + p.URL)
	case api.PerformKafka:
		return fmt.Sprintf("kafka topic %s at %s", p.Topic, strings.Join(p.Brokers, ","))
	}
	return p.Kind
}

func newJobListCmd(g *globals) *cobra.Command {
	var group, cursor string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list jobs, ordered by group and name",
		Example: `  swarm job list
  swarm job list --group billing --all -o json`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			opts := api.ListJobsOptions{Group: group, Limit: limit, Cursor: cursor}
			jobs, next, err := listJobs(cmd.Context(), s.api, opts, all)
			if err != nil {
				return err
			}
			if err := s.out.print(jobs, func(w io.Writer) error { return jobTable(w, jobs) }); err != nil {
				return err
			}
			moreHint(cmd, "jobs", next)
			return nil
		}),
	}
	cmd.Flags().StringVar(&group, "group", "", "only jobs of this group")
	addPagingFlags(cmd, &limit, &cursor, &all)
	return cmd
}

func listJobs(ctx context.Context, c *api.RESTClient, opts api.ListJobsOptions, all bool) ([]api.Job, string, error) {
	if all {
		jobs, err := c.ListAllJobs(ctx, opts)
		return jobs, "", err
	}
	page, err := c.ListJobs(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return nonNil(page.Jobs), page.NextCursor, nil
}

func jobTable(w io.Writer, jobs []api.Job) error {
	t := newTable(w, "JOB", "TRIGGER", "STATE", "NEXT FIRE", "LAST FIRE")
	for _, j := range jobs {
		t.row(j.Key(), fmtTrigger(j.Trigger), j.State, fmtTime(j.NextFireAt), fmtTime(j.PrevFireAt))
	}
	return t.flush()
}

// addPagingFlags adds --limit, --cursor and --all to a list command.
func addPagingFlags(cmd *cobra.Command, limit *int, cursor *string, all *bool) {
	cmd.Flags().IntVar(limit, "limit", 0, "items per page (server default 100, at most 1000)")
	cmd.Flags().StringVar(cursor, "cursor", "", "start after this cursor (printed when there are more)")
	cmd.Flags().BoolVar(all, "all", false, "follow every page to the end")
}

func checkLimit(limit int) error {
	if limit < 0 || limit > maxListLimit {
		return fmt.Errorf("--limit: must be between 1 and %d", maxListLimit)
	}
	return nil
}

// moreHint tells the person at the terminal that a list goes on.
func moreHint(cmd *cobra.Command, what, next string) {
	if next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more %s: pass --all, or --cursor %s for the next page\n", what, next)
	}
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func newJobUpdateCmd(g *globals) *cobra.Command {
	var key jobKey
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "update GROUP/NAME",
		Short: "change a job: the flags given, or the whole job from a file",
		Example: `  swarm job update billing/nightly --cron "0 30 2 * * ?"
  swarm job update billing/nightly --data tenant=acme --retries 2
  swarm job update billing/nightly -f nightly.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			group, name, err := key.resolve(args)
			if err != nil {
				return err
			}
			subject := "job " + group + "/" + name
			if f.file == "" && !f.changed(cmd.Flags()) {
				return errors.New("nothing to update: pass flags such as --cron or --exec, or -f FILE")
			}
			job, err := s.api.GetJob(cmd.Context(), group, name)
			if err != nil {
				return about(err, subject)
			}
			if f.file != "" {
				if job, err = readKeyedJob(f.file, cmd.InOrStdin(), group, name); err != nil {
					return err
				}
			}
			if err := f.apply(cmd.Flags(), job); err != nil {
				return err
			}
			clearReadOnly(job)
			updated, err := s.api.PutJob(cmd.Context(), job, false)
			if err != nil {
				return about(err, subject)
			}
			return s.out.print(updated, func(w io.Writer) error { return jobRow(w, *updated) })
		}),
	}
	key.register(cmd)
	f.register(cmd.Flags(), false)
	return cmd
}

// readKeyedJob reads a job file meant for group/name; a file without a
// key takes it.
func readKeyedJob(path string, stdin io.Reader, group, name string) (*api.Job, error) {
	job, err := readJobFile(path, stdin)
	if err != nil {
		return nil, err
	}
	if job.Group == "" && job.Name == "" {
		job.Group, job.Name = group, name
	}
	if job.Group != group || job.Name != name {
		return nil, fmt.Errorf("%s holds job %s, not %s/%s", path, job.Key(), group, name)
	}
	return job, nil
}

func newJobDeleteCmd(g *globals) *cobra.Command {
	var key jobKey
	cmd := &cobra.Command{
		Use:     "delete GROUP/NAME",
		Short:   "delete a job and its schedule",
		Example: `  swarm job delete billing/nightly`,
		Args:    cobra.MaximumNArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			group, name, err := key.resolve(args)
			if err != nil {
				return err
			}
			if err := s.api.DeleteJob(cmd.Context(), group, name); err != nil {
				return about(err, "job "+group+"/"+name)
			}
			done := struct {
				Job     string `json:"job"`
				Deleted bool   `json:"deleted"`
			}{group + "/" + name, true}
			return s.out.print(done, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "deleted job %s\n", done.Job)
				return err
			})
		}),
	}
	key.register(cmd)
	return cmd
}

// newJobActionCmd makes pause and resume, which answer the changed job.
func newJobActionCmd(g *globals, verb, short string, call func(*api.RESTClient, context.Context, string, string) (*api.Job, error)) *cobra.Command {
	var key jobKey
	cmd := &cobra.Command{
		Use:     verb + " GROUP/NAME",
		Short:   short,
		Example: fmt.Sprintf("  swarm job %s billing/nightly", verb),
		Args:    cobra.MaximumNArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			group, name, err := key.resolve(args)
			if err != nil {
				return err
			}
			job, err := call(s.api, cmd.Context(), group, name)
			if err != nil {
				return about(err, "job "+group+"/"+name)
			}
			return s.out.print(job, func(w io.Writer) error { return jobRow(w, *job) })
		}),
	}
	key.register(cmd)
	return cmd
}

func newJobTriggerCmd(g *globals) *cobra.Command {
	var key jobKey
	cmd := &cobra.Command{
		Use:   "trigger GROUP/NAME",
		Short: "fire a job once, now, and print the ids of its executions",
		Example: `  swarm job trigger billing/nightly
  swarm exec logs --follow $(swarm job trigger billing/nightly | head -n 1)`,
		Args: cobra.MaximumNArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			group, name, err := key.resolve(args)
			if err != nil {
				return err
			}
			ids, err := s.api.TriggerJob(cmd.Context(), group, name)
			if err != nil {
				return about(err, "job "+group+"/"+name)
			}
			ids = nonNil(ids)
			return s.out.print(ids, func(w io.Writer) error {
				for _, id := range ids {
					if _, err := fmt.Fprintln(w, id); err != nil {
						return err
					}
				}
				return nil
			})
		}),
	}
	key.register(cmd)
	return cmd
}

// Results of job apply, per file.
const (
	applyCreated   = "created"
	applyUpdated   = "updated"
	applyUnchanged = "unchanged"
	applyFailed    = "failed"
)

// applyResult is one line of job apply's report.
type applyResult struct {
	File   string `json:"file"`
	Job    string `json:"job,omitempty"`
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

func newJobApplyCmd(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "apply -f FILE_OR_DIR",
		Short: "create or update jobs from files so the server matches them",
		Long: `Apply makes the server hold the jobs of a file, or of every *.json, *.yaml
and *.yml file of a directory: a missing job is created, a different one is
replaced, an equal one is left alone (so applying twice changes nothing).
Every file is tried; the exit status is non-zero if any failed.`,
		Example: `  swarm job apply -f jobs/
  swarm job apply -f nightly.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			if path == "" {
				return errors.New("-f: give a job file or a directory of them")
			}
			files, err := jobFiles(path)
			if err != nil {
				return fmt.Errorf("-f: %w", err)
			}
			results := s.applyFiles(cmd.Context(), files, cmd.InOrStdin())
			if err := s.out.print(results, func(w io.Writer) error { return applyTable(w, results) }); err != nil {
				return err
			}
			return applyErr(results)
		}),
	}
	cmd.Flags().StringVarP(&path, "file", "f", "", "job file, or a directory of *.json, *.yaml and *.yml job files")
	return cmd
}

// applyFiles applies each file in turn, going on after a failure.
func (s *session) applyFiles(ctx context.Context, files []string, stdin io.Reader) []applyResult {
	results := make([]applyResult, 0, len(files))
	from := map[string]string{} // job key -> file that applied it
	for _, file := range files {
		res := applyResult{File: file}
		job, err := readJobFile(file, stdin)
		if err == nil {
			res.Job = job.Key()
			if prev, dup := from[job.Key()]; dup {
				err = fmt.Errorf("job %s is also in %s", job.Key(), prev)
			} else {
				from[job.Key()] = file
				res.Result, err = s.applyJob(ctx, job)
			}
		}
		if err != nil {
			res.Result, res.Error = applyFailed, s.explain(err).Error()
		}
		results = append(results, res)
	}
	return results
}

// applyJob makes the server hold job and says what that took.
func (s *session) applyJob(ctx context.Context, job *api.Job) (string, error) {
	clearReadOnly(job)
	current, err := s.api.GetJob(ctx, job.Group, job.Name)
	result := applyUpdated
	switch {
	case api.HasCode(err, api.CodeNotFound):
		result = applyCreated
	case err != nil:
		return "", err
	case sameJob(job, current):
		return applyUnchanged, nil
	}
	if _, err := s.api.PutJob(ctx, job, true); err != nil {
		return "", err
	}
	return result, nil
}

func applyTable(w io.Writer, results []applyResult) error {
	t := newTable(w, "JOB", "RESULT", "FILE")
	for _, r := range results {
		result := r.Result
		if r.Error != "" {
			result += ": " + r.Error
		}
		t.row(r.Job, result, r.File)
	}
	return t.flush()
}

func applyErr(results []applyResult) error {
	failed := 0
	for _, r := range results {
		if r.Result == applyFailed {
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d job files failed to apply", failed, len(results))
}
