package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs one request through Handler mounted as the server mounts it.
func serve(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /ui/", Handler())
	mux.Handle("POST /ui/", Handler())
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func assetNames(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(static, "static/assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(p, "static/assets/"))
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, names)
	return names
}

func embedded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := static.ReadFile("static/" + name)
	require.NoError(t, err)
	return b
}

func requireSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	require.Equal(t, ContentSecurityPolicy, rec.Header().Get("Content-Security-Policy"))
	require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
}

func TestIndexIsServedUncachedWithVersionedAssets(t *testing.T) {
	rec := serve(t, "GET", "/ui/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	requireSecurityHeaders(t, rec)

	body := rec.Body.String()
	require.NotContains(t, body, versionToken)
	require.Contains(t, body, `src="/ui/assets/`+Version()+`/js/app.js"`)
	require.Contains(t, body, `href="/ui/assets/`+Version()+`/app.css"`)
	require.Regexp(t, `^[0-9a-f]{12}$`, Version())
}

func TestEveryAssetIsServedWithItsTypeAndLongCaching(t *testing.T) {
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	for _, name := range assetNames(t) {
		t.Run(name, func(t *testing.T) {
			rec := serve(t, "GET", "/ui/assets/"+Version()+"/"+name, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			want, ok := types[path.Ext(name)]
			require.True(t, ok, "no expected type for %s: add it here and to contentType", name)
			require.Equal(t, want, rec.Header().Get("Content-Type"))
			require.Equal(t, cacheImmutable, rec.Header().Get("Cache-Control"))
			require.Empty(t, rec.Header().Get("Content-Encoding"))
			require.Equal(t, embedded(t, "assets/"+name), rec.Body.Bytes())
			requireSecurityHeaders(t, rec)
		})
	}
}

func TestAssetOfAnotherVersionIsServedButNotKept(t *testing.T) {
	rec := serve(t, "GET", "/ui/assets/0123456789ab/app.css", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, cacheStale, rec.Header().Get("Cache-Control"))
	require.Equal(t, embedded(t, "assets/app.css"), rec.Body.Bytes())
}

func TestMissingAssetsAre404(t *testing.T) {
	for _, p := range []string{
		"/ui/assets/" + Version() + "/js/nope.js",
		"/ui/assets/app.css", // no version segment
		"/ui/assets/",
	} {
		rec := serve(t, "GET", p, nil)
		require.Equal(t, http.StatusNotFound, rec.Code, p)
		requireSecurityHeaders(t, rec)
	}

	// The mux cleans dot segments before the handler sees them; the
	// handler alone must still not step outside the assets.
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ui/assets/"+Version()+"/../index.html", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

func TestOtherPathsFallBackToIndex(t *testing.T) {
	index := serve(t, "GET", "/ui/", nil).Body.String()
	for _, p := range []string{"/ui/index.html", "/ui/jobs/billing/nightly", "/ui/cluster"} {
		rec := serve(t, "GET", p, nil)
		require.Equal(t, http.StatusOK, rec.Code, p)
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"), p)
		require.Equal(t, index, rec.Body.String(), p)
	}
}

func TestGzipWhenAccepted(t *testing.T) {
	target := "/ui/assets/" + Version() + "/js/pages/jobform.js"
	plain := serve(t, "GET", target, nil)
	rec := serve(t, "GET", target, http.Header{"Accept-Encoding": {"br;q=1.0, gzip;q=0.8"}})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	require.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
	require.NotEqual(t, plain.Header().Get("ETag"), rec.Header().Get("ETag"))
	require.Less(t, rec.Body.Len(), plain.Body.Len())

	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, plain.Body.Bytes(), got)
}

func TestETagRevalidation(t *testing.T) {
	first := serve(t, "GET", "/ui/", nil)
	etag := first.Header().Get("ETag")
	require.NotEmpty(t, etag)
	rec := serve(t, "GET", "/ui/", http.Header{"If-None-Match": {etag}})
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Zero(t, rec.Body.Len())
}

func TestHeadAndMethods(t *testing.T) {
	head := serve(t, "HEAD", "/ui/", nil)
	require.Equal(t, http.StatusOK, head.Code)
	require.Zero(t, head.Body.Len())

	post := serve(t, "POST", "/ui/", nil)
	require.Equal(t, http.StatusMethodNotAllowed, post.Code)
	require.Equal(t, "GET, HEAD", post.Header().Get("Allow"))
}

func TestPolicyAllowsOnlySelf(t *testing.T) {
	for _, directive := range strings.Split(ContentSecurityPolicy, ";") {
		fields := strings.Fields(directive)
		require.GreaterOrEqual(t, len(fields), 2, directive)
		for _, source := range fields[1:] {
			require.Contains(t, []string{"'self'", "'none'"}, source, directive)
		}
	}
	require.Contains(t, ContentSecurityPolicy, "default-src 'self'")
	require.Contains(t, ContentSecurityPolicy, "connect-src 'self'")
}

// svgNamespace is an XML name, not an address anything fetches.
const svgNamespace = "http://www.w3.org/2000/svg"

// TestNothingReachesOutside scans every embedded file for external URLs:
// absolute http(s) addresses, protocol-relative ones in attributes and CSS,
// CSS imports, and JS imports that are not relative paths.
func TestNothingReachesOutside(t *testing.T) {
	schemes := []string{"http://", "https://", "ws://", "wss://", "ftp://"}
	protoRelative := regexp.MustCompile(`(?:src|href|action)\s*=\s*["']\s*//|url\(\s*["']?\s*//`)
	jsImport := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]`)

	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body := string(embedded(t, strings.TrimPrefix(p, "static/")))
		scan := strings.ToLower(strings.ReplaceAll(body, svgNamespace, ""))
		for _, s := range schemes {
			require.NotContains(t, scan, s, "%s names an absolute URL", p)
		}
		require.Empty(t, protoRelative.FindAllString(scan, -1), "%s names a protocol-relative URL", p)
		require.NotContains(t, scan, "@import", "%s imports CSS", p)
		if path.Ext(p) == ".js" {
			for _, m := range jsImport.FindAllStringSubmatch(body, -1) {
				spec := m[1] + m[2]
				require.True(t, strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../"), "%s imports %q", p, spec)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// TestReferencesResolve checks that index.html and every JS import name a
// file that is embedded, so that no page fails on a missing asset.
func TestReferencesResolve(t *testing.T) {
	assets := map[string]bool{}
	for _, n := range assetNames(t) {
		assets[n] = true
	}

	index := string(embedded(t, "index.html"))
	refs := regexp.MustCompile(`(?:src|href)="\{\{ASSETS\}\}([^"]+)"`).FindAllStringSubmatch(index, -1)
	require.NotEmpty(t, refs)
	for _, m := range refs {
		require.True(t, assets[m[1]], "index.html references missing %s", m[1])
	}

	jsImport := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	for name := range assets {
		if path.Ext(name) != ".js" {
			continue
		}
		body := string(embedded(t, "assets/"+name))
		for _, m := range jsImport.FindAllStringSubmatch(body, -1) {
			target := path.Join(path.Dir(name), m[1])
			require.True(t, assets[target], "%s imports missing %s", name, target)
		}
	}
}

// TestIndexHasNothingInline: the policy forbids inline script and style,
// so the page must not depend on any.
func TestIndexHasNothingInline(t *testing.T) {
	index := embedded(t, "index.html")
	require.NotRegexp(t, `<script(?:\s[^>]*)?>\s*[^<\s]`, string(index), "inline script")
	require.NotRegexp(t, `(?i)\sstyle\s*=`, string(index), "inline style attribute")
	require.NotRegexp(t, `(?i)<style`, string(index), "style element")
	require.NotRegexp(t, `(?i)\son[a-z]+\s*=`, string(index), "inline event handler")
	require.Equal(t, 1, bytes.Count(index, []byte(`<script type="module"`)))
}

func TestLoadRejectsIndexWithoutPlaceholder(t *testing.T) {
	fsys := fstest.MapFS{
		"static/index.html":     {Data: []byte("<html></html>")},
		"static/assets/app.css": {Data: []byte("body{}")},
	}
	_, err := load(fsys)
	require.ErrorContains(t, err, "placeholder")
}
