package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Prefix is the path the server mounts Handler at.
const Prefix = "/ui/"

// ContentSecurityPolicy lets the dashboard load scripts, styles, images and
// API answers from its own origin only; no inline script or style runs.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Cache-Control values. index.html names the assets by a version made of
// their content hash, so an asset URL never changes meaning and may be kept
// for a year; index.html itself must be fetched anew to learn a new version.
const (
	cacheIndex     = "no-store"
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheStale     = "no-cache"
)

// versionToken is replaced in index.html by the asset base path.
const versionToken = "{{ASSETS}}"

//go:embed static
var static embed.FS

// file is one embedded file, ready to serve.
type file struct {
	body  []byte
	gzip  []byte // nil when compression does not pay
	etag  string
	ctype string
}

// site is the loaded dashboard: index.html with the asset base filled in
// and the assets by their path under assets/.
type site struct {
	version string
	index   file
	assets  map[string]file
}

var loadSite = sync.OnceValue(func() *site {
	s, err := load(static)
	if err != nil {
		// The files are compiled in; a failure is a build defect that the
		// package's tests catch.
		panic(fmt.Sprintf("load dashboard: %v", err))
	}
	return s
})

// Handler serves the dashboard under /ui/: index.html at /ui/ (and, so that
// deep links work, at every other path that is not an asset), and the
// embedded assets at /ui/assets/<version>/... Every answer carries a
// Content-Security-Policy that allows only the dashboard's own origin.
func Handler() http.Handler {
	s := loadSite()
	return http.HandlerFunc(s.serveHTTP)
}

// Version is the content hash that names the current assets.
func Version() string { return loadSite().version }

func (s *site) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if tail, isAsset := strings.CutPrefix(rest, "assets/"); isAsset {
		s.serveAsset(w, r, tail)
		return
	}
	serveFile(w, r, s.index, cacheIndex)
}

// serveAsset serves assets/<version>/<name>. A version other than the
// current one still gets the current file (a page loaded from another
// server of a cluster mid-upgrade keeps working), but not for long.
func (s *site) serveAsset(w http.ResponseWriter, r *http.Request, tail string) {
	version, name, ok := strings.Cut(tail, "/")
	f, found := s.assets[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	cache := cacheImmutable
	if version != s.version {
		cache = cacheStale
	}
	serveFile(w, r, f, cache)
}

func serveFile(w http.ResponseWriter, r *http.Request, f file, cache string) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cache)
	h.Set("Vary", "Accept-Encoding")

	body, etag := f.body, f.etag
	if f.gzip != nil && acceptsGzip(r) {
		body, etag = f.gzip, strings.TrimSuffix(etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(coding, "gzip") {
			return true
		}
	}
	return false
}

// load reads the embedded files, versions the assets by their content and
// fills the asset base into index.html.
func load(fsys fs.FS) (*site, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("open static: %w", err)
	}

	raw, err := readAssets(root)
	if err != nil {
		return nil, err
	}
	s := &site{version: versionOf(raw), assets: make(map[string]file, len(raw))}
	for name, body := range raw {
		s.assets[name] = newFile(name, body)
	}

	index, err := fs.ReadFile(root, "index.html")
	if err != nil {
		return nil, fmt.Errorf("read index.html: %w", err)
	}
	if !bytes.Contains(index, []byte(versionToken)) {
		return nil, fmt.Errorf("index.html: no %s placeholder", versionToken)
	}
	base := Prefix + "assets/" + s.version + "/"
	s.index = newFile("index.html", bytes.ReplaceAll(index, []byte(versionToken), []byte(base)))
	return s, nil
}

func readAssets(root fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(root, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, "assets/")] = body
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read assets: %w", err)
	}
	return out, nil
}

// versionOf hashes every asset's name and content, in name order.
func versionOf(assets map[string][]byte) string {
	names := make([]string, 0, len(assets))
	for n := range assets {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(assets[n]))
		h.Write(assets[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func newFile(name string, body []byte) file {
	sum := sha256.Sum256(body)
	f := file{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(name)}
	if compressible(f.ctype) {
		f.gzip = gzipped(body)
	}
	return f
}

// contentType is fixed here rather than read from the system's MIME
// tables, which differ between machines.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json", ".webmanifest":
		return "application/json"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml" || ctype == "application/json"
}

// gzipped returns body compressed, or nil when that saves little.
func gzipped(body []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(body) //nolint:errcheck // writes to memory
	zw.Close()     //nolint:errcheck // writes to memory
	if b.Len() >= len(body)*9/10 {
		return nil
	}
	return b.Bytes()
}
