package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium (or $CHROME_PATH). Without it the
// browser tests skip, except under CI=true, where they fail: .ci/run
// installs it (apt-get install -y chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CHROME_PATH"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("browser test: no Chromium found (looked for $CHROME_PATH, chromium, chromium-browser, google-chrome); install it with apt-get install -y chromium (.ci/run does this)")
	}
	t.Skip("browser test: no Chromium found; install it with apt-get install -y chromium, or set CHROME_PATH")
	return ""
}

// screenshotDir is where the browser test saves its screenshots: the
// repository's test-output/ui folder (CI keeps it as an artifact), or
// $FEAST_TEST_OUTPUT/ui.
func screenshotDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("FEAST_TEST_OUTPUT")
	if base == "" {
		base = filepath.Join("..", "test-output")
	}
	dir := filepath.Join(base, "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screenshots of an earlier failure would read as this run's.
	old, _ := filepath.Glob(filepath.Join(dir, "failed-*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	return dir
}

// browser is a headless Chromium tab that records console errors,
// uncaught exceptions and browser-log errors (CSP violations, failed loads)
// while the test runs.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string

	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		// The machine's network is closed: without these Chromium keeps
		// trying Google's hosts in the background.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	b := &browser{t: t, ctx: ctx, dir: screenshotDir(t)}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelTimeout(); <-done; cancelTab(); cancelAlloc() })
	return b
}

// do runs actions, failing the test with the step's name on error.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

// stepTimeout bounds each step, so a missing element fails fast.
const stepTimeout = 20 * time.Second

// fail ends the test with the step, the page's URL and a screenshot of
// what the browser showed (failed-STEP.png in the output folder).
func (b *browser) fail(step string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if png, e := chromedp.Run(ctx, chromedp.FullScreenshot(100)); e == nil {
		os.WriteFile(filepath.Join(b.dir, "failed-"+strings.ReplaceAll(step, " ", "-")+".png"), png, 0o644)
	}
	b.t.Fatalf("%s (page %s): %v", step, loc, err)
}

// get runs one action that answers a value.
func result[T any](b *browser, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(step, err)
	}
	return v
}

func (b *browser) text(css string) string {
	b.t.Helper()
	return result(b, "text of "+css, chromedp.Text(chromedp.CSS(css)))
}

// screenshot saves the whole page as NAME.png in the output folder.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := result(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// consoleErrors returns the errors recorded so far.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// TestBrowser drives the UI, mounted by the feature server as feast serve
// --ui does, in headless Chromium: catalog, search from the keyboard, a
// view's page with its stale highlight, lineage (zoom, click through),
// freshness, a live lookup checked against /get-online-features, a
// phone-width layout, and no console errors on any page. Screenshots of
// the main pages go to test-output/ui (README's screenshots come from here).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t) // skip or fail before building the fixture
	f := newFixture(t)
	writeDriverParquet(t, f, 25)
	ts := httptest.NewServer(mounted(t, f, "", false))
	defer ts.Close()
	b := newBrowser(t)
	u := func(p string) string { return ts.URL + "/ui" + p }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Overview.
	b.do("overview", chromedp.Navigate(u("/")), chromedp.WaitVisible(css("main h1")))
	if title, text := result(b, "title", chromedp.Title()), b.text("main"); !strings.Contains(title, "serving") || !strings.Contains(text, "driver_stats") {
		t.Errorf("overview: title %q, text %q", title, text)
	}
	b.screenshot("overview")

	// Catalog list, then search from the keyboard: "/" focuses the box.
	b.do("feature views", chromedp.Navigate(u("/feature-views")), chromedp.WaitVisible(css("table.list")))
	if text := b.text("table.list"); !strings.Contains(text, "driver_stats") || !strings.Contains(text, "customer_profile") {
		t.Errorf("feature view list: %q", text)
	}
	b.screenshot("feature-views")
	b.do("search shortcut", chromedp.KeyEvent("/"))
	if focused := result(b, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); focused != "q" {
		t.Errorf("pressing / focused %q, want the search box", focused)
	}
	hit := css(`a[href="/ui/feature-views/driver_stats#f-conv_rate"]`)
	// CDP delivers the key's character as an event of its own, after the
	// keydown the page cancelled, so "/" lands in the box it focused (a
	// real keyboard does not do that): clear it before typing.
	result(b, "clear search box", chromedp.Evaluate[string](`document.getElementById("q").value = ""`))
	b.do("search", chromedp.SendKeys(css("#q"), "conv\r"), chromedp.WaitVisible(hit))
	if text := b.text("main"); !strings.Contains(text, "driver_stats:conv_rate") || !strings.Contains(text, "conv_plus") {
		t.Errorf("search results: %q", text)
	}
	b.screenshot("search")

	// Open a view from the results: its page highlights it as stale.
	b.do("open view", chromedp.Click(hit), chromedp.WaitVisible(css(".props.freshness.stale")))
	if loc, text := result(b, "location", chromedp.Location()), b.text("main"); !strings.HasSuffix(loc, "/ui/feature-views/driver_stats#f-conv_rate") || !strings.Contains(text, "older than the ttl 1h0m") {
		t.Errorf("view page %s: %q", loc, text)
	}
	bg := result(b, "stale style", chromedp.Evaluate[map[string]string](`({stale: getComputedStyle(document.querySelector(".props.freshness.stale")).backgroundColor,
		page: getComputedStyle(document.body).backgroundColor})`))
	if bg["stale"] == bg["page"] || bg["stale"] == "rgba(0, 0, 0, 0)" {
		t.Errorf("the stale view's freshness box is not highlighted: background %s (page %s)", bg["stale"], bg["page"])
	}
	b.screenshot("feature-view")

	// Follow lineage from the view, zoom with the keyboard, click through.
	width := chromedp.Evaluate[float64](`document.getElementById("lineage-svg").width.baseVal.value`)
	b.do("lineage", chromedp.Click(css(`a[href="/ui/lineage?focus=feature-views/driver_stats"]`)), chromedp.WaitVisible(css("#lineage-svg")))
	b.screenshot("lineage")
	w0 := result(b, "lineage width", width)
	b.do("zoom", chromedp.KeyEvent("+"))
	if w1 := result(b, "lineage width", width); !(w1 > w0) {
		t.Errorf("zoom in: width %v -> %v", w0, w1)
	}
	b.do("lineage click-through", chromedp.Click(css(`#lineage-svg a[href="/ui/feature-services/driver_service"]`)), chromedp.WaitVisible(css("main h1")))
	if loc, text := result(b, "location", chromedp.Location()), b.text("main h1"); !strings.HasSuffix(loc, "/ui/feature-services/driver_service") || !strings.Contains(text, "driver_service") {
		t.Errorf("lineage node led to %s (%q)", loc, text)
	}

	// The view's source and its data preview.
	b.do("source", chromedp.Navigate(u("/data-sources/driver_src")), chromedp.WaitVisible(css("a.preview-link")),
		chromedp.Click(css("a.preview-link")), chromedp.WaitVisible(css("#preview-stats")))
	if text := b.text("#preview-stats"); !strings.Contains(text, "conv_rate") || !strings.Contains(text, "28.0%") {
		t.Errorf("preview statistics: %q", text)
	}
	b.screenshot("preview")

	// Freshness: the stale view's row is highlighted, the other is not.
	b.do("freshness", chromedp.Navigate(u("/freshness")), chromedp.WaitVisible(css(`tr[data-view="driver_stats"]`)))
	rows := result(b, "row styles", chromedp.Evaluate[map[string]string](`({stale: getComputedStyle(document.querySelector('tr[data-view="driver_stats"] td')).backgroundColor,
		fresh: getComputedStyle(document.querySelector('tr[data-view="customer_profile"] td')).backgroundColor})`))
	if rows["stale"] == rows["fresh"] {
		t.Errorf("freshness: stale row background %s equals the fresh row's", rows["stale"])
	}
	b.screenshot("freshness")

	// Live lookup through the form; the values must be the server's.
	features := []string{"driver_stats:conv_rate", "driver_stats:trips", "driver_stats:name"}
	ids := []int64{1001, 1002, 1003}
	b.do("lookup", chromedp.Navigate(u("/lookup")), chromedp.WaitVisible(css("#features")),
		chromedp.SendKeys(css("#features"), strings.Join(features, "\n")),
		chromedp.SendKeys(css("#entities"), "driver_id=1001\ndriver_id=1002\ndriver_id=1003"),
		chromedp.Click(css("#lookup-submit")),
		chromedp.WaitVisible(css("#lookup-result")))
	got := result(b, "lookup rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#lookup-result tbody tr")).map(tr =>
		Array.from(tr.querySelectorAll("td")).map(td => {
			const v = td.querySelector("code"), s = td.querySelector(".status");
			return (v ? v.textContent : "") + (s ? " " + s.textContent : "");
		}).join("|"))`))
	if want := serverAnswer(t, ts.URL, features, ids); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lookup page rows:\n%s\nthe server's /get-online-features answer:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b.screenshot("lookup")

	// A phone-width window: nothing wider than the screen but the tables'
	// own scrolling boxes.
	b.do("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(u("/feature-views/driver_stats")), chromedp.WaitVisible(css("main h1")))
	if result(b, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
		t.Error("the view page scrolls sideways at phone width")
	}
	b.screenshot("feature-view-phone")

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// serverAnswer asks the feature server's /get-online-features and renders
// each entity row as the lookup page's cells are read: the join key, then
// per feature its JSON value and status, joined by "|".
func serverAnswer(t *testing.T, base string, features []string, ids []int64) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"features": features, "entities": map[string]any{"driver_id": ids}})
	resp, err := http.Post(base+"/get-online-features", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Results []struct {
			Values   []json.RawMessage `json:"values"`
			Statuses []string          `json:"statuses"`
		} `json:"results"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&got) != nil {
		t.Fatalf("/get-online-features: %s", resp.Status)
	}
	rows := make([]string, len(ids))
	for r := range ids {
		cells := make([]string, len(got.Results))
		for c, col := range got.Results {
			cells[c] = string(col.Values[r])
			if c > 0 {
				cells[c] += " " + col.Statuses[r]
			}
		}
		rows[r] = strings.Join(cells, "|")
	}
	return rows
}

// TestBrowserSignIn signs in through the login page in Chromium, behind
// token authentication with permissions: the page asked for comes back
// after sign-in showing only what the user may see, and signing out
// returns to the form.
func TestBrowserSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	f := newFixture(t)
	ts := httptest.NewServer(mounted(t, f, "token", true))
	defer ts.Close()
	b := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	b.do("open", chromedp.Navigate(ts.URL+"/ui/feature-views"), chromedp.WaitVisible(css("#token")))
	b.screenshot("sign-in")
	b.do("sign in", chromedp.SendKeys(css("#token"), "reader"), chromedp.Click(css("#login-submit")), chromedp.WaitVisible(css("table.list")))
	if loc, text := result(b, "location", chromedp.Location()), b.text("table.list"); !strings.HasSuffix(loc, "/ui/feature-views") ||
		!strings.Contains(text, "driver_stats") || strings.Contains(text, "customer_profile") {
		t.Errorf("after sign-in %s: %q", loc, text)
	}
	b.do("sign out", chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#token")))
	b.do("back", chromedp.Navigate(ts.URL+"/ui/feature-views"), chromedp.WaitVisible(css("#token")))
	// The 401 of the sign-in page is a failed load in the console's eyes;
	// anything else is an error.
	for _, e := range b.consoleErrors() {
		if !strings.Contains(e, "401") {
			t.Errorf("console error: %s", e)
		}
	}
}
