package ui

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/registry"
)

// kind is one list of the catalog, named as in its URL.
type kind string

// The catalog's kinds, in the order pages list them.
const (
	kindSources  kind = "data-sources"
	kindEntities kind = "entities"
	kindViews    kind = "feature-views"
	kindODFVs    kind = "on-demand-feature-views"
	kindServices kind = "feature-services"
	kindFeatures kind = "features"
	kindPerms    kind = "permissions"
)

var kinds = []kind{kindSources, kindEntities, kindViews, kindODFVs, kindServices, kindFeatures, kindPerms}

// kindTitles are the human names of the kinds.
var kindTitles = map[kind]string{
	kindSources: "Data sources", kindEntities: "Entities", kindViews: "Feature views",
	kindODFVs: "On-demand feature views", kindServices: "Feature services", kindFeatures: "Features",
	kindPerms: "Permissions",
}

// singular names a kind's object in sentences and badges.
var singular = map[kind]string{
	kindSources: "data source", kindEntities: "entity", kindViews: "feature view",
	kindODFVs: "on-demand view", kindServices: "feature service", kindFeatures: "feature",
	kindPerms: "permission",
}

// item is one object of the catalog as lists and search show it.
type item struct {
	Kind        kind              `json:"kind"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Type is a feature's value type (Feast dtype), a view's "batch" or
	// "stream", a data source's kind.
	Type string `json:"type,omitempty"`
	// View is the (on-demand) view of a feature.
	View string `json:"view,omitempty"`
	// Path is the item's URL below the root path.
	Path string `json:"path"`

	// res is what permissions decide on (a feature: its view).
	res permissions.Resource
	// lname is the lower-case name; hay every searchable text of the
	// item, lower-case, separated by newlines.
	lname, hay string
}

// catalog is everything the pages show of one registry snapshot, built
// once per snapshot and shared by all requests.
type catalog struct {
	snap  *registry.Snapshot
	lists map[kind][]*item
	// all holds every item in kind order, for search.
	all []*item
	// odfvsOf maps a feature view to the on-demand views reading it;
	// servicesOf maps a (on-demand) view to the services using it;
	// viewsOf maps a data source or entity to the views using it.
	odfvsOf, servicesOf, viewsOfSource, viewsOfEntity map[string][]string

	perms *permissions.Set

	yamlOnce sync.Once
	yaml     map[string][]byte

	lineageOnce sync.Once
	lineage     *graph

	projectsOnce sync.Once
	projects     *projectList
}

var dtypeNames sync.Map // model.ValueType -> string

// dtype renders a value type as Feast's dtype name, cached.
func dtype(vt model.ValueType) string {
	if s, ok := dtypeNames.Load(vt); ok {
		return s.(string)
	}
	s := model.DTypeName(vt)
	dtypeNames.Store(vt, s)
	return s
}

func objectPath(k kind, name string) string { return "/" + string(k) + "/" + pathEscape(name) }

// newCatalog indexes snap.
func newCatalog(snap *registry.Snapshot) *catalog {
	c := &catalog{
		snap: snap, lists: map[kind][]*item{},
		odfvsOf: map[string][]string{}, servicesOf: map[string][]string{},
		viewsOfSource: map[string][]string{}, viewsOfEntity: map[string][]string{},
	}
	var hb strings.Builder
	hay := func(it *item, extra ...string) {
		hb.Reset()
		hb.WriteString(it.lname)
		hb.WriteByte('\n')
		hb.WriteString(strings.ToLower(it.Description))
		for k, v := range it.Tags {
			hb.WriteByte('\n')
			hb.WriteString(strings.ToLower(k + ":" + v))
		}
		for _, e := range extra {
			hb.WriteByte('\n')
			hb.WriteString(strings.ToLower(e))
		}
		it.hay = hb.String()
	}
	add := func(it *item, extra ...string) {
		it.Tags = userTags(it.Tags)
		it.lname = strings.ToLower(it.Name)
		if it.Path == "" {
			it.Path = objectPath(it.Kind, it.Name)
		}
		hay(it, extra...)
		c.lists[it.Kind] = append(c.lists[it.Kind], it)
	}
	for _, n := range slices.Sorted(maps.Keys(snap.DataSources)) {
		s := snap.DataSources[n]
		add(&item{Kind: kindSources, Name: n, Description: s.Description, Owner: s.Owner, Tags: s.Tags, Type: string(s.Kind),
			res: permissions.DataSource(s)}, sourceColumns(s)...)
	}
	for _, n := range slices.Sorted(maps.Keys(snap.Entities)) {
		e := snap.Entities[n]
		add(&item{Kind: kindEntities, Name: n, Description: e.Description, Owner: e.Owner, Tags: e.Tags, Type: dtype(e.ValueType),
			res: permissions.Entity(e)}, e.JoinKey)
	}
	var features []*item
	for _, n := range slices.Sorted(maps.Keys(snap.FeatureViews)) {
		fv := snap.FeatureViews[n]
		typ := "batch"
		if fv.IsStream {
			typ = "stream"
		}
		res := permissions.FeatureView(fv)
		cols := make([]string, 0, len(fv.Features)+len(fv.EntityColumns)+2)
		for _, f := range fv.EntityColumns {
			cols = append(cols, f.Name)
		}
		for _, f := range fv.Features {
			cols = append(cols, f.Name)
			fi := &item{Kind: kindFeatures, Name: n + ":" + f.Name, Description: f.Description, Owner: fv.Owner, Tags: f.Tags,
				Type: dtype(f.Type), View: n, Path: objectPath(kindViews, n) + "#f-" + pathEscape(f.Name), res: res}
			features = append(features, fi)
		}
		if fv.Source != nil {
			cols = append(cols, fv.Source.Name)
			c.viewsOfSource[fv.Source.Name] = append(c.viewsOfSource[fv.Source.Name], n)
		}
		if fv.StreamSource != nil {
			cols = append(cols, fv.StreamSource.Name)
			c.viewsOfSource[fv.StreamSource.Name] = append(c.viewsOfSource[fv.StreamSource.Name], n)
		}
		for _, e := range fv.Entities {
			c.viewsOfEntity[e] = append(c.viewsOfEntity[e], n)
		}
		add(&item{Kind: kindViews, Name: n, Description: fv.Description, Owner: fv.Owner, Tags: fv.Tags, Type: typ, res: res}, cols...)
	}
	for _, n := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
		o := snap.OnDemandViews[n]
		res := permissions.OnDemandView(o)
		var cols []string
		for _, f := range o.Features {
			cols = append(cols, f.Name, f.Expression)
			features = append(features, &item{Kind: kindFeatures, Name: n + ":" + f.Name, Description: f.Description, Owner: o.Owner, Tags: f.Tags,
				Type: dtype(f.Type), View: n, Path: objectPath(kindODFVs, n) + "#f-" + pathEscape(f.Name), res: res})
		}
		for _, s := range o.Sources {
			if s.FeatureView != "" {
				c.odfvsOf[s.FeatureView] = append(c.odfvsOf[s.FeatureView], n)
			}
		}
		add(&item{Kind: kindODFVs, Name: n, Description: o.Description, Owner: o.Owner, Tags: o.Tags, Type: "on demand", res: res}, cols...)
	}
	for _, n := range slices.Sorted(maps.Keys(snap.FeatureServices)) {
		s := snap.FeatureServices[n]
		var cols []string
		for _, p := range s.Projections {
			cols = append(cols, p.View)
			if !slices.Contains(c.servicesOf[p.View], n) {
				c.servicesOf[p.View] = append(c.servicesOf[p.View], n)
			}
		}
		add(&item{Kind: kindServices, Name: n, Description: s.Description, Owner: s.Owner, Tags: s.Tags, res: permissions.FeatureService(s)}, cols...)
	}
	sort.Slice(features, func(i, j int) bool { return features[i].Name < features[j].Name })
	for _, f := range features {
		add(f)
	}
	perms := make([]*model.Permission, 0, len(snap.Permissions))
	for _, n := range slices.Sorted(maps.Keys(snap.Permissions)) {
		p := snap.Permissions[n]
		perms = append(perms, p)
		add(&item{Kind: kindPerms, Name: n, Tags: p.Tags, Type: policyString(p.Policy),
			res: permissions.Permission(p)})
	}
	c.perms = permissions.Compile(perms)
	for _, k := range kinds {
		c.all = append(c.all, c.lists[k]...)
	}
	return c
}

// userTags drops the tags our own tools add (definitions.ToolTagPrefix);
// permissions still decide on every tag.
func userTags(m map[string]string) map[string]string {
	for k := range m {
		if strings.HasPrefix(k, definitions.ToolTagPrefix) {
			out := make(map[string]string, len(m))
			for k, v := range m {
				if !strings.HasPrefix(k, definitions.ToolTagPrefix) {
					out[k] = v
				}
			}
			return out
		}
	}
	return m
}

// sourceColumns are the searchable settings of a data source.
func sourceColumns(s *model.DataSource) []string {
	out := []string{s.Path, s.Table, s.Topic, s.TimestampField}
	for k, v := range s.FieldMapping {
		out = append(out, k, v)
	}
	for _, f := range s.Schema {
		out = append(out, f.Name)
	}
	return out
}

func policyString(p model.Policy) string {
	switch p.Kind {
	case model.PolicyRoles:
		return "roles: " + strings.Join(p.Roles, ", ")
	case model.PolicyGroups:
		return "groups: " + strings.Join(p.Groups, ", ")
	case model.PolicyNamespaces:
		return "namespaces: " + strings.Join(p.Namespaces, ", ")
	case model.PolicyGroupsNamespaces:
		return "groups: " + strings.Join(p.Groups, ", ") + "; namespaces: " + strings.Join(p.Namespaces, ", ")
	}
	return "allow all"
}

// filter is a list page's query: name substring, tag (k:v or k) and owner,
// all case-insensitive; Type narrows feature views to batch or stream.
type filter struct {
	Q, Tag, Owner, Type string
}

func (f filter) empty() bool { return f.Q == "" && f.Tag == "" && f.Owner == "" && f.Type == "" }

// match reports whether it passes f.
func (f filter) match(it *item) bool {
	if f.Q != "" && !strings.Contains(it.lname, strings.ToLower(f.Q)) {
		return false
	}
	if f.Owner != "" && !strings.Contains(strings.ToLower(it.Owner), strings.ToLower(f.Owner)) {
		return false
	}
	if f.Type != "" && !strings.EqualFold(it.Type, f.Type) {
		return false
	}
	if f.Tag != "" {
		k, v, hasV := strings.Cut(f.Tag, ":")
		k = strings.TrimSpace(k)
		found := false
		for tk, tv := range it.Tags {
			if strings.EqualFold(tk, k) && (!hasV || strings.EqualFold(tv, strings.TrimSpace(v))) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// visibility decides which items a request's user may see; nil sees all.
type visibility func(*item) bool

func (v visibility) ok(it *item) bool { return v == nil || v(it) }

// list returns the items of k passing f and v.
func (c *catalog) list(k kind, f filter, v visibility) []*item {
	src := c.lists[k]
	if f.empty() && v == nil {
		return src
	}
	out := make([]*item, 0, len(src))
	for _, it := range src {
		if f.match(it) && v.ok(it) {
			out = append(out, it)
		}
	}
	return out
}

// hit is a search result with its rank (lower first): 0 an exact name, 1 a
// name prefix, 2 a name substring, 3 any other text.
type hit struct {
	*item
	rank int
}

// search returns the items whose text contains every word of q, best
// first, and how many matched. Only the first limit are sorted and kept.
func (c *catalog) search(q string, only kind, v visibility, offset, limit int) ([]hit, int) {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil, 0
	}
	whole := strings.Join(words, " ")
	var hits []hit
	src := c.all
	if only != "" {
		src = c.lists[only]
	}
	for _, it := range src {
		ok := true
		for _, w := range words {
			if !strings.Contains(it.hay, w) {
				ok = false
				break
			}
		}
		if !ok || !v.ok(it) {
			continue
		}
		rank := 3
		switch {
		case it.lname == whole:
			rank = 0
		case strings.HasPrefix(it.lname, whole) || strings.Contains(it.lname, ":"+whole):
			rank = 1
		case strings.Contains(it.lname, whole):
			rank = 2
		}
		hits = append(hits, hit{it, rank})
	}
	// Items are already in kind and name order: a stable sort by rank
	// keeps that order within a rank.
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(a.rank, b.rank) })
	total := len(hits)
	if offset >= total {
		return nil, total
	}
	return hits[offset:min(offset+limit, total)], total
}

// yamlOf returns the YAML definition of an object, regenerated from the
// registry by the exporter of `feast import` (nil when it cannot be
// written as a definition).
func (c *catalog) yamlOf(k kind, name string) []byte {
	c.yamlOnce.Do(func() {
		c.yaml = definitions.FromRegistry(c.snap.Proto, c.snap.Project).Files(definitions.LayoutObject)
	})
	sec := map[kind]string{
		kindSources: "data_sources", kindEntities: "entities", kindViews: "feature_views",
		kindODFVs: "on_demand_feature_views", kindServices: "feature_services", kindPerms: "permissions",
	}[k]
	return c.yaml[sec+"/"+definitions.SafeFileName(name)+".yaml"]
}
