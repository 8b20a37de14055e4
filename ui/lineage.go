package ui

import (
	"cmp"
	"fmt"
	"html"
	"maps"
	"slices"
	"strings"
)

// graph is the lineage of a snapshot: data sources → feature views →
// on-demand views → feature services.
type graph struct {
	nodes []*node
	byID  map[string]*node
}

type node struct {
	id    string // kind/name
	it    *item
	layer int
	in    []*node
	out   []*node
}

// layerOf places each kind in a column.
var layerOf = map[kind]int{kindSources: 0, kindViews: 1, kindODFVs: 2, kindServices: 3}

// lineageGraph returns the snapshot's lineage, built once.
func (c *catalog) lineageGraph() *graph {
	c.lineageOnce.Do(func() {
		g := &graph{byID: map[string]*node{}}
		for _, k := range []kind{kindSources, kindViews, kindODFVs, kindServices} {
			for _, it := range c.lists[k] {
				n := &node{id: string(k) + "/" + it.Name, it: it, layer: layerOf[k]}
				g.nodes = append(g.nodes, n)
				g.byID[n.id] = n
			}
		}
		edge := func(from, to string) {
			a, b := g.byID[from], g.byID[to]
			if a == nil || b == nil || slices.Contains(a.out, b) {
				return
			}
			a.out = append(a.out, b)
			b.in = append(b.in, a)
		}
		snap := c.snap
		for _, n := range slices.Sorted(maps.Keys(snap.FeatureViews)) {
			fv := snap.FeatureViews[n]
			if fv.Source != nil {
				edge(string(kindSources)+"/"+fv.Source.Name, string(kindViews)+"/"+n)
			}
			if fv.StreamSource != nil {
				edge(string(kindSources)+"/"+fv.StreamSource.Name, string(kindViews)+"/"+n)
			}
		}
		for _, n := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
			for _, s := range snap.OnDemandViews[n].Sources {
				switch {
				case s.Request != nil:
					edge(string(kindSources)+"/"+s.Request.Name, string(kindODFVs)+"/"+n)
				case s.FeatureView != "":
					edge(string(kindViews)+"/"+s.FeatureView, string(kindODFVs)+"/"+n)
				}
			}
		}
		for _, n := range slices.Sorted(maps.Keys(snap.FeatureServices)) {
			for _, p := range snap.FeatureServices[n].Projections {
				if _, ok := snap.OnDemandViews[p.View]; ok {
					edge(string(kindODFVs)+"/"+p.View, string(kindServices)+"/"+n)
				} else {
					edge(string(kindViews)+"/"+p.View, string(kindServices)+"/"+n)
				}
			}
		}
		c.lineage = g
	})
	return c.lineage
}

// subset returns the nodes to draw: those v lets the user see and, with a
// focus, only the focus with its ancestors and descendants. ok is false
// when the focus is unknown or hidden.
func (g *graph) subset(focus string, v visibility) (map[*node]bool, bool) {
	keep := map[*node]bool{}
	if focus == "" {
		for _, n := range g.nodes {
			if v.ok(n.it) {
				keep[n] = true
			}
		}
		return keep, true
	}
	f := g.byID[focus]
	if f == nil || !v.ok(f.it) {
		return nil, false
	}
	var walk func(n *node, up bool)
	walk = func(n *node, up bool) {
		if keep[n] || !v.ok(n.it) {
			return
		}
		keep[n] = true
		next := n.out
		if up {
			next = n.in
		}
		for _, m := range next {
			walk(m, up)
		}
	}
	walk(f, true)
	delete(keep, f)
	walk(f, false)
	return keep, true
}

// Layout constants of the SVG, in user units.
const (
	nodeW, nodeH = 220, 26
	colGap       = 90
	rowGap       = 8
	margin       = 12
	maxLabel     = 30
)

type placed struct {
	n    *node
	x, y float64
}

// svg draws the nodes in keep as a layered graph: one column per kind,
// each node placed at the mean height of its inputs (barycenter), pushed
// down just enough not to overlap the one above. Nodes link to their
// pages (prefix is the root path); the focus node is highlighted.
func (g *graph) svg(keep map[*node]bool, focus, prefix string) (string, int) {
	layers := make([][]*node, 4)
	for _, n := range g.nodes {
		if keep[n] {
			layers[n.layer] = append(layers[n.layer], n)
		}
	}
	pos := map[*node]*placed{}
	step := float64(nodeH + rowGap)
	height := 0.0
	for li, layer := range layers {
		x := float64(margin + li*(nodeW+colGap))
		type want struct {
			n *node
			y float64
		}
		ws := make([]want, len(layer))
		for i, n := range layer {
			y, cnt := 0.0, 0
			for _, m := range n.in {
				if p := pos[m]; p != nil {
					y += p.y
					cnt++
				}
			}
			if cnt > 0 {
				y /= float64(cnt)
			} else {
				// Unconnected nodes go after the connected ones, by name.
				y = 1e12 + float64(i)
			}
			ws[i] = want{n, y}
		}
		slices.SortStableFunc(ws, func(a, b want) int { return cmp.Compare(a.y, b.y) })
		next := float64(margin)
		for _, w := range ws {
			y := max(w.y, next)
			if w.y >= 1e12 {
				y = next
			}
			pos[w.n] = &placed{w.n, x, y}
			next = y + step
		}
		height = max(height, next)
	}
	width := float64(2*margin + 4*nodeW + 3*colGap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="lineage-svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="Lineage graph">`,
		width, height+margin, width, height+margin)
	b.WriteString(`<g class="edges">`)
	for _, layer := range layers {
		for _, n := range layer {
			a := pos[n]
			for _, m := range n.out {
				c := pos[m]
				if c == nil {
					continue
				}
				x1, y1 := a.x+nodeW, a.y+nodeH/2
				x2, y2 := c.x, c.y+nodeH/2
				mid := (x1 + x2) / 2
				fmt.Fprintf(&b, `<path d="M%.0f %.0fC%.0f %.0f %.0f %.0f %.0f %.0f"/>`, x1, y1, mid, y1, mid, y2, x2, y2)
			}
		}
	}
	b.WriteString(`</g><g class="nodes">`)
	count := 0
	for li, layer := range layers {
		for _, n := range layer {
			p := pos[n]
			count++
			cls := "node l" + fmt.Sprint(li)
			if n.id == focus {
				cls += " focus"
			}
			label := n.it.Name
			if len([]rune(label)) > maxLabel {
				label = string([]rune(label)[:maxLabel-1]) + "…"
			}
			fmt.Fprintf(&b, `<a href="%s" class="%s"><title>%s %s</title><rect x="%.0f" y="%.0f" width="%d" height="%d" rx="5"/><text x="%.0f" y="%.0f">%s</text></a>`,
				html.EscapeString(prefix+n.it.Path), cls, html.EscapeString(singular[n.it.Kind]), html.EscapeString(n.it.Name),
				p.x, p.y, nodeW, nodeH, p.x+8, p.y+nodeH/2+4, html.EscapeString(label))
		}
	}
	b.WriteString(`</g></svg>`)
	return b.String(), count
}
