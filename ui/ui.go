// Package ui is the web catalog of `feast ui` and `feast serve --ui`:
// server-rendered pages (html/template, a little JavaScript and CSS, all
// embedded in the binary) listing and searching the registry's objects,
// their detail and YAML definition, freshness against ttl, a lineage graph
// and a live online lookup.
//
// The UI reads through the library: registry snapshots from the store's
// Registry (never parsing the registry itself), freshness from
// FeatureStore.Status and lookups from ResolveOnline and ReadOnline, the
// code behind /get-online-features. Everything a page shows of a snapshot
// (lists, the search index, the lineage graph, the YAML definitions) is
// built once per snapshot and shared by all requests.
package ui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/registry"
	"google.golang.org/protobuf/proto"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultPageSize is how many rows a list page shows unless ?n= says
// otherwise (at most MaxPageSize).
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// DefaultFreshnessInterval is how long a freshness report (FeatureStore.Status)
// is reused before a page asks for a new one.
const DefaultFreshnessInterval = 15 * time.Second

// Options configures a UI.
type Options struct {
	// RootPath prefixes every link and asset URL ("/feast" behind a
	// reverse proxy that forwards /feast/...; "/ui" under feast serve
	// --ui). Requests may arrive with or without the prefix.
	RootPath string
	// Logger receives errors; default the store's logger.
	Logger *slog.Logger
	// Snapshot, when set, replaces the store's registry as the source of
	// snapshots (benchmarks build one in memory).
	Snapshot func(ctx context.Context) (*registry.Snapshot, error)
	// FreshnessInterval bounds how often pages recompute the freshness
	// report; 0 means DefaultFreshnessInterval.
	FreshnessInterval time.Duration
	// SignIn is the authentication type of the server the UI is served
	// through (server.Guard: "token", "oidc", "kubernetes"), empty when
	// it asks for none. It picks the login page's instructions.
	SignIn string
}

// UI is the web catalog's http.Handler. It is safe for concurrent use.
type UI struct {
	fs     *feast.FeatureStore
	opts   Options
	root   string
	log    *slog.Logger
	pages  map[string]*template.Template
	static http.Handler

	cat   atomic.Pointer[catalog]
	catMu sync.Mutex

	freshMu sync.Mutex
	fresh   *freshness
}

// freshness is a cached FeatureStore.Status report.
type freshness struct {
	at     time.Time
	byView map[string]feast.ViewStatus
	list   []feast.ViewStatus
	err    error
}

// New returns the UI of store. It loads nothing until the first request; Run
// keeps the registry fresh in the background.
func New(store *feast.FeatureStore, opts Options) (*UI, error) {
	root := strings.TrimRight(opts.RootPath, "/")
	if root != "" && !strings.HasPrefix(root, "/") {
		return nil, fmt.Errorf("root path %q: start it with a slash, as in /feast", opts.RootPath)
	}
	if opts.Logger == nil {
		opts.Logger = store.Logger()
	}
	if opts.FreshnessInterval == 0 {
		opts.FreshnessInterval = DefaultFreshnessInterval
	}
	if opts.Snapshot == nil {
		opts.Snapshot = store.Registry().Snapshot
	}
	u := &UI{fs: store, opts: opts, root: root, log: opts.Logger, pages: map[string]*template.Template{}}
	base, err := template.New("layout.html").Funcs(u.funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := pageTemplates()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n)
		if err != nil {
			return nil, err
		}
		u.pages[strings.TrimSuffix(n, ".html")] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	u.static = http.FileServerFS(sub)
	return u, nil
}

// pageTemplates lists the page templates (every template but the layout).
func pageTemplates() ([]string, error) {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Name() != "layout.html" {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Run loads the registry and refreshes it every registry TTL (the
// configuration's cache_ttl_seconds) until ctx is done, as the feature
// server does; failures keep the last snapshot and are logged.
func (u *UI) Run(ctx context.Context) {
	if _, err := u.fs.Registry().Refresh(ctx); err != nil {
		u.log.Error("load registry", "err", err)
	}
	u.fs.Registry().Run(ctx, func(err error) {
		if ctx.Err() == nil {
			u.log.Warn("refresh registry", "err", err)
		}
	})
}

// catalog returns the catalog of the current snapshot, building it once
// per snapshot.
func (u *UI) catalog(ctx context.Context) (*catalog, error) {
	snap, err := u.opts.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if c := u.cat.Load(); c != nil && c.snap == snap {
		return c, nil
	}
	u.catMu.Lock()
	defer u.catMu.Unlock()
	if c := u.cat.Load(); c != nil && (c.snap == snap || sameRegistry(c.snap, snap)) {
		return c, nil
	}
	c := newCatalog(snap)
	u.cat.Store(c)
	return c, nil
}

// sameRegistry reports whether two snapshots were loaded from the same
// registry write (the same last_updated time and contents): a background
// refresh that found nothing new keeps the catalog.
func sameRegistry(a, b *registry.Snapshot) bool {
	ta, tb := a.Proto.GetLastUpdated(), b.Proto.GetLastUpdated()
	return a.Project == b.Project && ta != nil && tb != nil && ta.AsTime().Equal(tb.AsTime()) && proto.Equal(a.Proto, b.Proto)
}

// freshness returns the latest freshness report, recomputed when older
// than the interval, from the registry snapshot the store holds (the UI
// never replaces it) and the online store's newest event times where it
// can tell.
func (u *UI) freshness(ctx context.Context) *freshness {
	u.freshMu.Lock()
	defer u.freshMu.Unlock()
	now := time.Now()
	if f := u.fresh; f != nil && now.Sub(f.at) < u.opts.FreshnessInterval {
		return f
	}
	sts, err := u.fs.Status(ctx, feast.StatusOptions{Cached: true})
	f := &freshness{at: now, byView: map[string]feast.ViewStatus{}, list: sts, err: err}
	for _, st := range sts {
		f.byView[st.View] = st
	}
	u.fresh = f
	return f
}

// visibility returns what the request's user may see: nil (everything)
// when the request carries no user, that is when permissions are not
// enforced (feast ui on its own, or feast serve --ui without oidc or
// kubernetes auth).
func (u *UI) visibility(ctx context.Context, c *catalog) visibility {
	user := auth.UserFrom(ctx)
	if user == nil || c.perms.Len() == 0 {
		return nil
	}
	return func(it *item) bool { return c.perms.Decide(user, it.res, model.ActionDescribe) == nil }
}

// httpError is an error with the status to answer.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// ServeHTTP routes a request. The root path is stripped when present.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := u.strip(r.URL.Path)
	if p == "" {
		http.Redirect(w, r, u.root+"/", http.StatusFound)
		return
	}
	if strings.HasPrefix(p, "/static/") {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(p, "/static")
		u.static.ServeHTTP(w, r2)
		return
	}
	switch p {
	case "/login":
		u.login(w, r)
		return
	case "/logout":
		u.logout(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	api := strings.HasPrefix(p, "/api/")
	if api {
		p = strings.TrimPrefix(p, "/api")
	}
	if err := u.route(w, r, p, api); err != nil {
		u.fail(w, r, err, api)
	}
}

func (u *UI) route(w http.ResponseWriter, r *http.Request, p string, api bool) error {
	ctx := r.Context()
	c, err := u.catalog(ctx)
	if err != nil {
		return fmt.Errorf("the registry could not be loaded: %w", err)
	}
	v := u.visibility(ctx, c)
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)
	switch parts[0] {
	case "":
		return u.overview(w, r, c, v, api)
	case "search":
		return u.searchPage(w, r, c, v, api)
	case "lineage":
		return u.lineagePage(w, r, c, v, api)
	case "freshness":
		return u.freshnessPage(w, r, c, v, api)
	case "lookup":
		return u.lookupPage(w, r, c, v, api)
	case "projects":
		return u.projectsPage(w, r, c, api)
	case "preview":
		rest := ""
		if len(parts) == 2 {
			rest = parts[1]
		}
		return u.previewPage(w, r, c, v, rest, api)
	}
	k := kind(parts[0])
	if _, ok := kindTitles[k]; !ok {
		return notFound("no page %s: see the overview", p)
	}
	if len(parts) == 1 || parts[1] == "" {
		return u.listPage(w, r, c, v, k, api)
	}
	name, err := url.PathUnescape(parts[1])
	if err != nil {
		return badRequest("bad name %q", parts[1])
	}
	return u.detailPage(w, r, c, v, k, name, api)
}

// fail answers err as a page or as {"error": msg}.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error, api bool) {
	code, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	} else if errors.Is(err, context.Canceled) {
		return
	} else {
		u.log.Error("ui request failed", "path", r.URL.Path, "err", err)
	}
	if api {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	w.WriteHeader(code)
	u.render(w, r, "error", &page{Title: http.StatusText(code), Data: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// page is what the layout renders around a page's data.
type page struct {
	Title   string
	Section string
	Project string
	Root    string
	Query   string
	Data    any
	// SignedIn shows the sign-out button (the request carries the
	// token cookie).
	SignedIn bool
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, p *page) error {
	t := u.pages[name]
	if t == nil {
		return fmt.Errorf("no template %s", name)
	}
	p.Root = u.root
	p.SignedIn = signedIn(r)
	if c := u.cat.Load(); c != nil {
		p.Project = c.snap.Project
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	return t.ExecuteTemplate(w, "layout.html", p)
}

// url returns a path below the root.
func (u *UI) url(p string) string { return u.root + p }

func pathEscape(s string) string { return url.PathEscape(s) }

// pageArgs reads ?page= and ?n=.
func pageArgs(q url.Values) (pageNo, size int) {
	pageNo, _ = strconv.Atoi(q.Get("page"))
	pageNo = max(pageNo, 1)
	size, _ = strconv.Atoi(q.Get("n"))
	if size <= 0 {
		size = DefaultPageSize
	}
	return pageNo, min(size, MaxPageSize)
}

// pager is the pagination of a list.
type pager struct {
	Page, Pages, Size, Total, From, To int
	Prev, Next                         string
}

func newPager(r *http.Request, root string, pageNo, size, total int) pager {
	pg := pager{Page: pageNo, Size: size, Total: total, Pages: max(1, (total+size-1)/size)}
	pg.From = min((pageNo-1)*size, total)
	pg.To = min(pg.From+size, total)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return root + "?" + q.Encode()
	}
	if pageNo > 1 {
		pg.Prev = link(pageNo - 1)
	}
	if pg.To < total {
		pg.Next = link(pageNo + 1)
	}
	return pg
}

func (u *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"url":   func(p string) string { return u.url(p) },
		"title": func(k kind) string { return kindTitles[k] },
		"one":   func(k kind) string { return singular[k] },
		"path":  func(k any, name string) string { return u.url(objectPath(kind(fmt.Sprint(k)), name)) },
		"inc":   func(n int) int { return n + 1 },
		"tags":  tagList,
		"dtype": dtype,
		"dur":   humanDuration,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"kinds":       func() []kind { return kinds },
		"lower":       strings.ToLower,
		"slug":        func(v any) string { return strings.ReplaceAll(strings.ToLower(fmt.Sprint(v)), " ", "-") },
		"join":        strings.Join,
		"pct":         func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"deref":       func(s *string) string { return *s },
		"int64":       func(n int) int64 { return int64(n) },
		"previewable": previewable,
	}
}

// tagList renders tags as sorted k:v strings.
func tagList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+":"+m[k])
	}
	return out
}

// humanDuration renders d compactly (1h30m, 2d3h).
func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	switch {
	case days > 0 && h == 0:
		return fmt.Sprintf("%dd", days)
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}
