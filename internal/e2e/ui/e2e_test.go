package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client"
	"github.com/swarmsched/swarm/internal/server"
	"github.com/swarmsched/swarm/scheduler"
	"github.com/swarmsched/swarm/shard"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// chromiumPath is where Debian's chromium package puts the browser;
	// SWARM_CHROMIUM overrides it.
	chromiumPath = "/usr/bin/chromium"

	// token is what the gate in front of the server asks for.
	token = "e2e-secret-token"

	workerID = "e2e-worker"

	// waitFor bounds each wait for a condition in the browser.
	waitFor = 30 * time.Second
)

// probeJS runs before every page script: it records uncaught errors and
// Content-Security-Policy violations, which the test then requires to be
// none.
const probeJS = `
window.__problems = [];
addEventListener('error', (e) => __problems.push('error: ' + e.message));
addEventListener('unhandledrejection', (e) => {
  if (!e.reason || e.reason.name !== 'AbortError') __problems.push('rejection: ' + e.reason);
});
document.addEventListener('securitypolicyviolation', (e) =>
  __problems.push('csp: ' + e.violatedDirective + ' blocked ' + e.blockedURI));
`

// TestDashboardEndToEnd drives the dashboard like an operator: it enters
// the API token, creates a job from the form (watching the live preview,
// including a validation error), finds it in the list, sees its runs
// succeed on a real worker, follows a live log, and reads the cluster and
// clients pages. Screenshots of every page land in the artifacts dir.
func TestDashboardEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser; skipped with -short")
	}
	browserPath := findChromium(t)
	artifacts := artifactsDir(t)

	srv := startServer(t)
	startWorker(t, srv.HTTPAddr())
	gate := newTokenGate(srv.Handler())
	web := httptest.NewServer(gate)
	t.Cleanup(web.Close)
	seedJobs(t, "http://"+srv.HTTPAddr())

	ctx := newBrowser(t, browserPath)
	b := &browser{t: t, ctx: ctx, artifacts: artifacts}

	// Each step builds on the one before: stop at the first that fails.
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, func(t *testing.T) {
			b.t = t
			fn(t)
		}) {
			t.FailNow()
		}
	}

	step("token prompt", func(t *testing.T) {
		b.do(chromedp.Navigate(web.URL + "/ui/"))
		b.waitVisible("#token-dialog[open] #token-input")
		b.shot("token")
		b.do(chromedp.SendKeys(chromedp.CSS("#token-input"), token), chromedp.Click(chromedp.CSS("#token-save")))
		b.waitJS("the jobs list to load", `document.querySelectorAll('#jobs-body tr[data-key]').length === 5`)
		stored := b.eval(`localStorage.getItem('swarm.token')`)
		require.Equal(t, token, stored)
	})
	rejectedBefore := gate.rejected.Load()

	step("create job with live preview", func(t *testing.T) {
		b.do(chromedp.Click(chromedp.CSS("#new-job")))
		b.waitVisible("#job-form #f-group")
		b.typeInto("#f-group", "e2e")
		b.typeInto("#f-name", "hello")
		b.typeInto("#f-description", "says hello every second")

		// A bad expression: the server's error names the field, and the
		// form marks the cron input.
		b.typeInto("#f-cron", "0 0 25 * * ?")
		b.waitJS("the preview error", `(document.querySelector('#preview-error')?.textContent || '').includes('trigger.cron')`)
		b.waitJS("the cron input marked invalid", `document.querySelector('#f-cron').getAttribute('aria-invalid') === 'true'`)
		b.shot("job-form-invalid")

		b.typeInto("#f-cron", "* * * * * ?")
		b.waitJS("ten preview fire times", `document.querySelectorAll('#preview-list li').length === 10`)
		times := b.evalStrings(`[...document.querySelectorAll('#preview-list time')].map((t) => t.getAttribute('datetime'))`)
		requireEverySecond(t, times)
		require.Equal(t, "", b.eval(`document.querySelector('#f-cron').getAttribute('aria-invalid') || ''`))

		b.typeInto("#f-cmd", "echo hello")
		b.waitJS("the argv preview", `[...document.querySelectorAll('#argv .chip')].map((c) => c.textContent).join('|') === 'echo|hello'`)
		b.shot("job-form")

		// A rule only the server checks: its error lands under the field.
		b.typeInto("#f-retries", "2")
		b.typeInto("#f-backoff", "1m")
		b.typeInto("#f-max-backoff", "10s")
		b.do(chromedp.Click(chromedp.CSS("#job-submit")))
		b.waitJS("the max backoff error", `document.querySelector('#f-max-backoff').getAttribute('aria-invalid') === 'true' &&
			(document.querySelector('#f-max-backoff-error')?.textContent || '').includes('backoff')`)
		require.Contains(t, b.eval(`document.querySelector('#form-status').textContent`), "retries.max_backoff")
		b.shot("job-form-server-error")

		b.typeInto("#f-max-backoff", "")
		b.do(chromedp.Click(chromedp.CSS("#job-submit")))
		b.waitJS("the job page", `location.hash === '#/jobs/e2e/hello' && !!document.querySelector('#job-facts dt')`)
	})

	step("job listed", func(t *testing.T) {
		b.do(chromedp.Navigate(web.URL + "/ui/#/jobs"))
		b.waitVisible(`#jobs-body tr[data-key="e2e/hello"]`)
		b.waitJS("the next fire of e2e/hello", `!!document.querySelector('#jobs-body tr[data-key="e2e/hello"] time')`)
		require.Contains(t, b.eval(`document.querySelector('#jobs-body tr[data-key="e2e/hello"]').textContent`), "* * * * * ?")

		// The client-side filter narrows the page to matching jobs.
		b.typeInto("#job-search", "hello")
		b.waitJS("the filter", `document.querySelectorAll('#jobs-body tr[data-key]').length === 1`)
		b.typeInto("#job-search", "")
		b.waitJS("the filter cleared", `document.querySelectorAll('#jobs-body tr[data-key]').length === 6`)
		b.shot("jobs")
	})

	step("pause and delete from the list", func(t *testing.T) {
		base := "http://" + srv.HTTPAddr()
		b.do(chromedp.Click(chromedp.CSS(`#jobs-body tr[data-key="billing/nightly-invoices"] button[aria-label^="Pause"]`)))
		b.waitJS("the paused badge", `document.querySelector('#jobs-body tr[data-key="billing/nightly-invoices"] .badge').textContent.includes('paused')`)
		var j api.Job
		getJSON(t, base+"/v1/jobs/billing/nightly-invoices", &j)
		require.Equal(t, api.JobPaused, j.State)

		b.do(chromedp.Click(chromedp.CSS(`#jobs-body tr[data-key="ops/disk-report"] button[aria-label^="Delete"]`)))
		b.waitVisible("#confirm-dialog[open] #confirm-ok")
		require.Contains(t, b.eval(`document.querySelector('#confirm-title').textContent`), "ops/disk-report")
		b.shot("confirm-delete")
		b.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.waitJS("the row to go", `!document.querySelector('#jobs-body tr[data-key="ops/disk-report"]')`)
		require.Equal(t, http.StatusNotFound, send(t, "GET", base+"/v1/jobs/ops/disk-report", nil))
	})

	step("job detail shows succeeded runs", func(t *testing.T) {
		b.do(chromedp.Click(chromedp.CSS(`#jobs-body tr[data-key="e2e/hello"] a.key`)))
		b.waitVisible(`#exec-body tr[data-state="succeeded"]`)
		b.waitJS("two succeeded runs", `document.querySelectorAll('#exec-body tr[data-state="succeeded"]').length >= 2`)
		row := `#exec-body tr[data-state="succeeded"]`
		require.Contains(t, b.eval(`document.querySelector('`+row+`').textContent`), workerID)

		b.do(chromedp.Click(chromedp.CSS(row + ` button.disclosure`)))
		b.waitJS("the output tail", `[...document.querySelectorAll('#exec-body pre.output')].some((p) => p.textContent.includes('hello'))`)
		b.shot("job")
	})

	step("live log follows a running execution", func(t *testing.T) {
		b.do(chromedp.Navigate(web.URL + "/ui/#/jobs/e2e/slow"))
		b.do(chromedp.Click(chromedp.CSS("#job-trigger")))
		// The run lasts about three seconds: the page offers its live log
		// while it is dispatched or running.
		b.waitVisible(`#exec-body tr button.primary`)
		b.do(chromedp.Click(chromedp.CSS(`#exec-body tr button.primary`)))
		b.waitJS("the first log line", `(document.querySelector('#log-output')?.textContent || '').includes('step 1')`)
		b.shot("job-live-log")
		b.waitJS("the stream to end with the run", `(document.querySelector('#log-output')?.textContent || '').includes('step 4') &&
			(document.querySelector('#log-status')?.textContent || '').includes('ended')`)
	})

	step("job without a worker says how to start one", func(t *testing.T) {
		b.do(chromedp.Navigate(web.URL + "/ui/#/jobs/reports/weekly-pdf"))
		b.waitJS("the no-worker banner", `(document.querySelector('#job-notices')?.textContent || '').includes('No worker connected in group batch')`)
		require.Contains(t, b.eval(`document.querySelector('#job-notices code').textContent`), "swarm client --server")
		require.Contains(t, b.eval(`document.querySelector('#job-notices code').textContent`), "--group batch")
		b.shot("job-no-worker")
	})

	step("cluster", func(t *testing.T) {
		var c api.Cluster
		getJSON(t, "http://"+srv.HTTPAddr()+"/v1/cluster", &c)
		b.do(chromedp.Navigate(web.URL + "/ui/#/cluster"))
		b.waitJS("the shards", fmt.Sprintf(`document.querySelectorAll('#shards-table tbody tr').length === %d`, len(c.Shards)))
		b.waitJS("the servers", fmt.Sprintf(`document.querySelectorAll('#servers-table tbody tr').length === %d`, len(c.Servers)))
		require.Equal(t, c.MetaLeader, b.eval(`document.querySelector('#meta-leader .value').textContent`))
		require.Equal(t, fmt.Sprint(c.UnderReplicated), b.eval(`document.querySelector('#under-replicated .value').textContent`))
		for _, s := range c.Shards {
			require.Equal(t, strings.Join(s.Slots, ""), b.eval(fmt.Sprintf(
				`[...document.querySelectorAll('#shards-table tr[data-key="%d"] td:nth-child(2) .chip')].map((c) => c.textContent).join('')`, s.ID)))
		}
		b.shot("cluster")
	})

	step("clients", func(t *testing.T) {
		b.do(chromedp.Navigate(web.URL + "/ui/#/clients"))
		b.waitVisible(`#clients-table tr[data-key="` + workerID + `"]`)
		text := b.eval(`document.querySelector('#clients-table tr[data-key="` + workerID + `"]').textContent`)
		require.Contains(t, text, "zone=")
		require.Contains(t, text, "e2e.noop")
		require.Contains(t, b.eval(`document.querySelector('#client-groups').textContent`), "default")
		b.shot("clients")

		b.do(chromedp.Navigate(web.URL + "/ui/#/clients?group=batch"))
		b.waitJS("the empty state", `(document.querySelector('#clients-body')?.textContent || '').includes('No worker connected in group batch')`)
		require.Contains(t, b.eval(`document.querySelector('#clients-body code').textContent`), "--group batch")
		b.shot("clients-empty")
	})

	step("narrow screen", func(t *testing.T) {
		b.do(chromedp.EmulateViewport(390, 844))
		defer b.do(chromedp.EmulateViewport(1440, 1000))
		b.do(chromedp.Navigate(web.URL + "/ui/#/jobs"))
		b.waitVisible(`#jobs-body tr[data-key="e2e/hello"]`)
		b.shot("jobs-narrow")
		wide := b.evalStrings(`[...document.querySelectorAll('body *')]
			.filter((el) => !el.closest('.table-wrap') && el.getBoundingClientRect().right > innerWidth + 1)
			.map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className)`)
		require.Empty(t, wide, "elements wider than a phone screen")
	})

	step("dark scheme", func(t *testing.T) {
		_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		require.NoError(t, err)
		dark := `getComputedStyle(document.body).backgroundColor === 'rgb(14, 17, 22)'`
		b.do(chromedp.Navigate(web.URL + "/ui/#/jobs/e2e/hello"))
		b.waitJS("the dark page with runs", dark+` && !!document.querySelector('#exec-body tr[data-state="succeeded"]')`)
		b.shot("job-dark")
		b.do(chromedp.Navigate(web.URL + "/ui/#/jobs/new"))
		b.waitJS("the dark form with its preview", dark+` && document.querySelectorAll('#preview-list li').length === 10`)
		b.shot("job-form-dark")
	})

	require.Equal(t, rejectedBefore, gate.rejected.Load(), "a request after the token was entered went without it")
}

// ---- browser ----

type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
	b.failWithShot(err, "wait for "+sel)
}

// waitJS polls a JavaScript predicate until it holds. A predicate that
// throws counts as false (a throwing one would stop the poll for good).
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	safe := "(() => { try { return !!(" + expr + "); } catch (e) { return false; } })()"
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](safe,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitFor)))
	b.failWithShot(err, "wait for "+what)
	b.requireNoProblems()
}

func (b *browser) failWithShot(err error, what string) {
	b.t.Helper()
	if err == nil {
		return
	}
	b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
	html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText || ''`))
	b.t.Fatalf("%s: %v\npage text:\n%s", what, err, html)
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[*string](expr))
	require.NoError(b.t, err, expr)
	if v == nil {
		return ""
	}
	return *v
}

func (b *browser) evalStrings(expr string) []string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](expr))
	require.NoError(b.t, err, expr)
	return v
}

// typeInto replaces an input's text by typing, so the page sees the same
// input events as from a keyboard.
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.do(chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).select()`, sel)),
		chromedp.KeyEvent("\b"))
	if text != "" {
		b.do(chromedp.SendKeys(chromedp.CSS(sel), text))
	}
}

func (b *browser) requireNoProblems() {
	b.t.Helper()
	problems := b.evalStrings(`window.__problems || []`)
	require.Empty(b.t, problems, "the page reported errors")
}

// shot saves a PNG of the whole page.
func (b *browser) shot(name string) {
	b.t.Helper()
	// From the top, so that the sticky bar sits where it belongs.
	_, _ = chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.artifacts, name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot %s", path)
}

func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1440, 1000),
		// Without these, Chromium dials Google services, which a closed
		// network refuses, slowly.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})

	// The first action starts the browser; it must not run under a
	// timeout, which would end the browser with it.
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probeJS})
	require.NoError(t, err, "start chromium")
	return ctx
}

// findChromium returns the browser to drive, installing it with
// scripts/install-chromium.sh when it is missing; it skips the test when
// that does not help.
func findChromium(t *testing.T) string {
	t.Helper()
	path := cmpOr(os.Getenv("SWARM_CHROMIUM"), chromiumPath)
	if isExecutable(path) {
		return path
	}
	script := filepath.Join(repoRoot(t), "scripts", "install-chromium.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", script).CombinedOutput()
	if isExecutable(path) {
		return path
	}
	t.Skipf("headless Chromium is not at %s and %s could not install it (err %v); "+
		"run it as root or 'apt-get install -y chromium chromium-driver' to run this test. Its output:\n%s",
		path, script, err, out)
	return ""
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test")
		dir = parent
	}
}

// artifactsDir is $SWARM_ARTIFACTS/ui, else testdata/artifacts/ui at the
// repository root (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SWARM_ARTIFACTS")
	if base == "" {
		base = filepath.Join(repoRoot(t), "testdata", "artifacts")
	}
	dir := filepath.Join(base, "ui")
	require.NoError(t, os.MkdirAll(dir, 0o755))

	// Failure shots of an earlier run would mislead whoever reads the dir.
	old, err := filepath.Glob(filepath.Join(dir, "failure-*.png"))
	require.NoError(t, err)
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	return dir
}

// ---- cluster under test ----

func startServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{
		DataDir:     t.TempDir(),
		HTTPAddr:    "127.0.0.1:0",
		RaftAddr:    "127.0.0.1:0",
		Shards:      2,
		Replicas:    1,
		ShardTimers: shard.FastTimers,
		MetaTimers:  shard.FastTimers,
		Heartbeat:   time.Second,
		Version:     "e2e",
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Start(ctx))
	t.Cleanup(s.Stop)
	return s
}

// startWorker runs the real worker runtime of package client and waits
// until the server lists it.
func startWorker(t *testing.T, addr string) {
	t.Helper()
	c, err := client.New(client.Config{
		Servers:  []string{addr},
		ID:       workerID,
		Capacity: 4,
		Labels:   map[string]string{"zone": "local-1", "tier": "e2e"},
	})
	require.NoError(t, err)
	c.Handle("e2e.noop", func(context.Context, *client.Fire) error { return nil })
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(c.Stop)

	require.Eventually(t, func() bool {
		var list api.ClientList
		getJSON(t, "http://"+addr+"/v1/clients", &list)
		return len(list.Clients) == 1 && list.Clients[0].ID == workerID
	}, 15*time.Second, 50*time.Millisecond, "the worker did not connect")
}

// seedJobs adds jobs that make the pages look like a real cluster's.
func seedJobs(t *testing.T, base string) {
	t.Helper()
	berlin := scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 2 * * ?", TimeZone: "Europe/Berlin"}
	jobs := []api.Job{
		{Group: "billing", Name: "nightly-invoices", Description: "invoices for yesterday", Trigger: berlin,
			Executor:    api.Executor{Kind: api.ExecutorProcess, Command: "/opt/jobs/invoices", Args: []string{"--day", "yesterday"}},
			Concurrency: api.ConcurrencyForbid, Retries: api.Retries{Max: 3, Backoff: api.Duration(10 * time.Second)}},
		{Group: "ops", Name: "disk-report", Trigger: scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0/15 * * * ?"},
			Executor: api.Executor{Kind: api.ExecutorHandler, Name: "e2e.noop"}},
		{Group: "ops", Name: "weekly-cleanup", Trigger: scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 30 4 ? * SUN"},
			Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"}},
		// weekly-pdf's client group has no worker: its page must say so.
		{Group: "reports", Name: "weekly-pdf", Trigger: scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 6 ? * MON"},
			Executor: api.Executor{Kind: api.ExecutorProcess, Command: "/opt/reports/weekly"}, ClientGroup: "batch"},
		// slow prints four lines a second apart, for the live log. It fires
		// only when the test asks.
		{Group: "e2e", Name: "slow", Description: "prints four lines slowly",
			Trigger:  scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 0 1 1 ? 2099"},
			Executor: api.Executor{Kind: api.ExecutorProcess, Command: "for i in 1 2 3 4; do echo step $i; sleep 1; done", Shell: true}},
	}
	for _, j := range jobs {
		require.Equal(t, http.StatusCreated, send(t, "POST", base+"/v1/jobs", j), j.Key())
	}
	require.Equal(t, http.StatusOK, send(t, "POST", base+"/v1/jobs/ops/weekly-cleanup/pause", nil))
}

func send(t *testing.T, method, url string, body any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

func requireEverySecond(t *testing.T, times []string) {
	t.Helper()
	require.Len(t, times, 10)
	var prev time.Time
	for i, s := range times {
		at, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err, s)
		require.Zero(t, at.Nanosecond(), "fire %d at %s is not on a whole second", i, s)
		if i > 0 {
			require.Equal(t, time.Second, at.Sub(prev), "fire %d", i)
		}
		prev = at
	}
}

// ---- token gate ----

// tokenGate stands in for the server's auth, which is built elsewhere: it
// answers 401 to API requests without the bearer token, as the server will.
type tokenGate struct {
	next     http.Handler
	rejected atomic.Int64
}

func newTokenGate(next http.Handler) *tokenGate { return &tokenGate{next: next} }

func (g *tokenGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1/") && r.Header.Get("Authorization") != "Bearer "+token {
		g.rejected.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Code: api.CodeUnauthenticated, Message: "a bearer token is required"}})
		return
	}
	g.next.ServeHTTP(w, r)
}
