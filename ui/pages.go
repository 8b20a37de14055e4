package ui

import (
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/model"
)

// count is one kind's number of objects on the overview.
type count struct {
	Kind  kind `json:"kind"`
	Count int  `json:"count"`
}

type overviewData struct {
	Project      string    `json:"project"`
	LoadedAt     time.Time `json:"registry_loaded_at"`
	RefreshError string    `json:"registry_refresh_error,omitempty"`
	Counts       []count   `json:"counts"`
	Stale        []string  `json:"stale_views"`
	Never        []string  `json:"never_materialized_views"`
	StatusError  string    `json:"status_error,omitempty"`
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, api bool) error {
	d := overviewData{Project: c.snap.Project, LoadedAt: c.snap.LoadedAt, Stale: []string{}, Never: []string{}}
	if err := u.fs.Registry().LastError(); err != nil {
		d.RefreshError = err.Error()
	}
	for _, k := range kinds {
		d.Counts = append(d.Counts, count{k, len(c.list(k, filter{}, v))})
	}
	f := u.freshness(r.Context())
	if f.err != nil {
		d.StatusError = f.err.Error()
	}
	for _, st := range f.list {
		if it := c.find(kindViews, st.View); it == nil || !v.ok(it) {
			continue
		}
		switch st.Freshness {
		case feast.Stale:
			d.Stale = append(d.Stale, st.View)
		case feast.NeverMaterialized:
			d.Never = append(d.Never, st.View)
		}
	}
	if api {
		writeJSON(w, http.StatusOK, d)
		return nil
	}
	return u.render(w, r, "overview", &page{Title: "Overview", Section: "overview", Data: d})
}

// find returns the item of an object, or nil.
func (c *catalog) find(k kind, name string) *item {
	l := c.lists[k]
	i, ok := slices.BinarySearchFunc(l, name, func(it *item, n string) int { return strings.Compare(it.Name, n) })
	if !ok {
		return nil
	}
	return l[i]
}

type listData struct {
	Kind   kind    `json:"kind"`
	Filter filter  `json:"-"`
	Items  []*item `json:"items"`
	Pager  pager   `json:"page"`
	// Fresh maps feature views to their freshness, when known.
	Fresh map[string]feast.Freshness `json:"-"`
}

func (u *UI) listPage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, k kind, api bool) error {
	q := r.URL.Query()
	f := filter{Q: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag")), Owner: strings.TrimSpace(q.Get("owner")), Type: q.Get("type")}
	all := c.list(k, f, v)
	pageNo, size := pageArgs(q)
	pg := newPager(r, r.URL.Path, pageNo, size, len(all))
	d := listData{Kind: k, Filter: f, Items: all[pg.From:pg.To], Pager: pg}
	if api {
		writeJSON(w, http.StatusOK, d)
		return nil
	}
	if k == kindViews {
		// Freshness badges only from a report already computed: a list
		// never waits for the online store.
		u.freshMu.Lock()
		fr := u.fresh
		u.freshMu.Unlock()
		if fr != nil {
			d.Fresh = map[string]feast.Freshness{}
			for _, it := range d.Items {
				if st, ok := fr.byView[it.Name]; ok {
					d.Fresh[it.Name] = st.Freshness
				}
			}
		}
	}
	return u.render(w, r, "list", &page{Title: kindTitles[k], Section: string(k), Data: d})
}

type searchData struct {
	Q     string `json:"q"`
	Kind  kind   `json:"kind,omitempty"`
	Hits  []hit  `json:"hits"`
	Pager pager  `json:"page"`
	Took  string `json:"took"`
}

func (u *UI) searchPage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, api bool) error {
	q := r.URL.Query()
	start := time.Now()
	d := searchData{Q: strings.TrimSpace(q.Get("q")), Kind: kind(q.Get("kind")), Hits: []hit{}}
	if _, ok := kindTitles[d.Kind]; !ok && d.Kind != "" {
		return badRequest("kind %q: use one of %s", d.Kind, kindNames())
	}
	pageNo, size := pageArgs(q)
	hits, total := c.search(d.Q, d.Kind, v, (pageNo-1)*size, size)
	if hits != nil {
		d.Hits = hits
	}
	d.Pager = newPager(r, r.URL.Path, pageNo, size, total)
	d.Took = time.Since(start).Round(10 * time.Microsecond).String()
	if api {
		writeJSON(w, http.StatusOK, d)
		return nil
	}
	return u.render(w, r, "search", &page{Title: "Search " + d.Q, Section: "search", Query: d.Q, Data: d})
}

func kindNames() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// detailData is an object's page.
type detailData struct {
	Item *item
	// One of these is set, by kind.
	Source     *model.DataSource
	Entity     *model.Entity
	View       *model.FeatureView
	ODFV       *model.OnDemandFeatureView
	Service    *model.FeatureService
	Permission *model.Permission

	// Inputs of an on-demand view, as its expressions name them.
	Inputs []model.Field
	// Related objects, visible to the user, by kind.
	Related []related
	// Status is a feature view's freshness, from FeatureStore.Status.
	Status      *feast.ViewStatus
	StatusError string
	Intervals   []model.Interval
	YAML        string
}

type related struct {
	Title string
	Kind  kind
	Names []string
}

func (u *UI) detailPage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, k kind, name string, api bool) error {
	it := c.find(k, name)
	if it == nil || !v.ok(it) {
		return notFound("no %s named %q in project %s", singular[k], name, c.snap.Project)
	}
	if k == kindFeatures {
		http.Redirect(w, r, u.url(it.Path), http.StatusFound)
		return nil
	}
	snap := c.snap
	d := detailData{Item: it}
	rel := func(title string, rk kind, names []string) {
		var vis []string
		for _, n := range names {
			if ri := c.find(rk, n); ri != nil && v.ok(ri) {
				vis = append(vis, n)
			}
		}
		if len(vis) > 0 {
			d.Related = append(d.Related, related{title, rk, vis})
		}
	}
	switch k {
	case kindSources:
		d.Source = snap.DataSources[name]
		rel("Feature views reading it", kindViews, c.viewsOfSource[name])
		var odfvs []string
		for _, n := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
			for _, s := range snap.OnDemandViews[n].Sources {
				if s.Request != nil && s.Request.Name == name {
					odfvs = append(odfvs, n)
				}
			}
		}
		rel("On-demand views reading it", kindODFVs, odfvs)
	case kindEntities:
		d.Entity = snap.Entities[name]
		rel("Feature views keyed by it", kindViews, c.viewsOfEntity[name])
	case kindViews:
		fv := snap.FeatureViews[name]
		d.View = fv
		var srcs []string
		if fv.Source != nil {
			srcs = append(srcs, fv.Source.Name)
		}
		if fv.StreamSource != nil {
			srcs = append(srcs, fv.StreamSource.Name)
		}
		rel("Sources", kindSources, srcs)
		rel("Entities", kindEntities, fv.Entities)
		rel("On-demand views reading it", kindODFVs, c.odfvsOf[name])
		rel("Feature services using it", kindServices, c.servicesOf[name])
		d.Intervals = slices.Clone(fv.Intervals)
		slices.SortFunc(d.Intervals, func(a, b model.Interval) int { return b.End.Compare(a.End) })
		if len(d.Intervals) > 20 {
			d.Intervals = d.Intervals[:20]
		}
		f := u.freshness(r.Context())
		if st, ok := f.byView[name]; ok {
			d.Status = &st
		} else if f.err != nil {
			d.StatusError = f.err.Error()
		}
	case kindODFVs:
		o := snap.OnDemandViews[name]
		d.ODFV = o
		d.Inputs = o.Inputs(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
		var views, reqs []string
		for _, s := range o.Sources {
			if s.Request != nil {
				reqs = append(reqs, s.Request.Name)
			} else {
				views = append(views, s.FeatureView)
			}
		}
		rel("Feature views it reads", kindViews, views)
		rel("Request sources", kindSources, reqs)
		rel("Feature services using it", kindServices, c.servicesOf[name])
	case kindServices:
		d.Service = snap.FeatureServices[name]
	case kindPerms:
		d.Permission = snap.Permissions[name]
	}
	if y := c.yamlOf(k, name); y != nil {
		s := string(y)
		if strings.HasPrefix(s, "# Written by") {
			_, s, _ = strings.Cut(s, "\n")
		}
		d.YAML = s
	}
	if api {
		out := map[string]any{"item": it, "yaml": d.YAML, "related": d.Related}
		if d.Status != nil {
			out["freshness"] = statusJSON(*d.Status)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	return u.render(w, r, "detail", &page{Title: singular[k] + " " + name, Section: string(k), Data: d})
}

// freshnessRow is one view's line of the freshness page and its JSON.
type freshnessRow struct {
	View        string  `json:"feature_view"`
	TTLSeconds  float64 `json:"ttl_seconds"`
	Intervals   int     `json:"intervals"`
	LastStart   string  `json:"last_interval_start,omitempty"`
	LastEnd     string  `json:"last_interval_end,omitempty"`
	AgeSeconds  float64 `json:"age_seconds"`
	NewestEvent string  `json:"newest_online_event,omitempty"`
	NewestError string  `json:"newest_online_event_error,omitempty"`
	Status      string  `json:"status"`
	Stale       bool    `json:"stale"`

	ttl, age time.Duration
}

func statusJSON(st feast.ViewStatus) freshnessRow {
	row := freshnessRow{View: st.View, TTLSeconds: st.TTL.Seconds(), Intervals: st.Intervals, AgeSeconds: st.Age.Seconds(),
		Status: string(st.Freshness), Stale: st.Freshness == feast.Stale, ttl: st.TTL, age: st.Age}
	if !st.LastEnd.IsZero() {
		row.LastStart, row.LastEnd = st.LastStart.UTC().Format(time.RFC3339), st.LastEnd.UTC().Format(time.RFC3339)
	}
	if st.NewestEventKnown {
		row.NewestEvent = st.NewestEvent.UTC().Format(time.RFC3339)
	}
	if st.NewestEventErr != nil {
		row.NewestError = st.NewestEventErr.Error()
	}
	return row
}

type freshnessData struct {
	At    time.Time      `json:"computed_at"`
	Views []freshnessRow `json:"views"`
	Error string         `json:"error,omitempty"`
	Stale int            `json:"stale"`
}

func (u *UI) freshnessPage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, api bool) error {
	f := u.freshness(r.Context())
	d := freshnessData{At: f.at, Views: []freshnessRow{}}
	if f.err != nil {
		d.Error = f.err.Error()
	}
	only := r.URL.Query().Get("status")
	for _, st := range f.list {
		if it := c.find(kindViews, st.View); it == nil || !v.ok(it) {
			continue
		}
		if only != "" && !strings.EqualFold(only, string(st.Freshness)) {
			continue
		}
		row := statusJSON(st)
		if row.Stale {
			d.Stale++
		}
		d.Views = append(d.Views, row)
	}
	if api {
		writeJSON(w, http.StatusOK, d)
		return nil
	}
	return u.render(w, r, "freshness", &page{Title: "Freshness", Section: "freshness", Data: d})
}

type lineageData struct {
	Focus string
	Item  *item
	SVG   template.HTML
	Nodes int
}

func (u *UI) lineagePage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, api bool) error {
	g := c.lineageGraph()
	focus := r.URL.Query().Get("focus")
	keep, ok := g.subset(focus, v)
	if !ok {
		return notFound("no object %q to focus on: use kind/name, as in feature-views/driver_stats", focus)
	}
	if api {
		type jnode struct {
			ID   string   `json:"id"`
			Kind kind     `json:"kind"`
			Name string   `json:"name"`
			Out  []string `json:"out"`
		}
		out := []jnode{}
		for _, n := range g.nodes {
			if !keep[n] {
				continue
			}
			j := jnode{ID: n.id, Kind: n.it.Kind, Name: n.it.Name, Out: []string{}}
			for _, m := range n.out {
				if keep[m] {
					j.Out = append(j.Out, m.id)
				}
			}
			out = append(out, j)
		}
		writeJSON(w, http.StatusOK, map[string]any{"nodes": out})
		return nil
	}
	svg, n := g.svg(keep, focus, u.root)
	d := lineageData{Focus: focus, SVG: template.HTML(svg), Nodes: n}
	if f := g.byID[focus]; f != nil {
		d.Item = f.it
	}
	return u.render(w, r, "lineage", &page{Title: "Lineage", Section: "lineage", Data: d})
}

// TTL is the view's ttl, for templates.
func (r freshnessRow) TTL() time.Duration { return r.ttl }

// Age is how long ago the last interval ended, for templates.
func (r freshnessRow) Age() time.Duration { return r.age }
