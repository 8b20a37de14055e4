package definitions

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/model"
)

// Files renders the definitions with layout: file path (slash-separated,
// relative to the output directory) to contents. Each file starts with a
// comment listing what is not carried over for the objects it holds (or
// would hold); notes not tied to one object go to the first file.
func (e *Export) Files(layout Layout) map[string][]byte {
	return e.render(layout, true)
}

func (e *Export) render(layout Layout, comments bool) map[string][]byte {
	type file struct {
		section string
		items   []*yaml.Node
		gaps    []Gap
	}
	files := map[string]*file{}
	fileFor := func(kind, name string) *file {
		sec := sectionOf[kind]
		p := sec + ".yaml"
		if layout == LayoutObject {
			p = path.Join(sec, SafeFileName(name)+".yaml")
		}
		f, ok := files[p]
		if !ok {
			f = &file{section: sec}
			files[p] = f
		}
		return f
	}
	for _, o := range e.objects {
		if !o.dropped && o.node != nil {
			f := fileFor(o.kind, o.name)
			f.items = append(f.items, o.node)
		}
	}
	var loose []Gap
	if comments {
		for _, g := range e.gaps {
			if _, ok := sectionOf[g.Kind]; !ok {
				loose = append(loose, g)
				continue
			}
			f := fileFor(g.Kind, g.Name)
			f.gaps = append(f.gaps, g)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string][]byte{}
	for i, n := range names {
		f := files[n]
		var buf bytes.Buffer
		if comments {
			gaps := f.gaps
			if i == 0 {
				gaps = append(append([]Gap(nil), loose...), gaps...)
			}
			writeHeader(&buf, e.Project, gaps)
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Content: f.items}
		if len(f.items) == 0 {
			seq.Style = yaml.FlowStyle
		}
		doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str(f.section), seq}}
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		_ = enc.Encode(doc)
		_ = enc.Close()
		out[n] = buf.Bytes()
	}
	return out
}

func writeHeader(buf *bytes.Buffer, project string, gaps []Gap) {
	fmt.Fprintf(buf, "# Written by `feast import` from the registry of project %q.\n", project)
	if len(gaps) == 0 {
		return
	}
	buf.WriteString("#\n# NOT CARRIED OVER (fix these, then run `feast plan`):\n")
	for _, g := range gaps {
		state := "written with differences"
		if g.Dropped {
			state = "not written"
		}
		fmt.Fprintf(buf, "#   - %s (%s): %s\n", g.Label(), state, oneLine(g.Reason))
		if g.Hint != "" {
			fmt.Fprintf(buf, "#     hint: %s\n", oneLine(g.Hint))
		}
		for _, l := range strings.Split(strings.TrimRight(g.Detail, "\n"), "\n") {
			if g.Detail != "" {
				fmt.Fprintf(buf, "#       %s\n", l)
			}
		}
	}
	buf.WriteString("\n")
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// SafeFileName turns an object name into the file name the object layout
// gives it: characters other than letters, digits, _ and - become _.
func SafeFileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// YAML node helpers.

type mapNode struct{ node *yaml.Node }

func mapping() mapNode { return mapNode{&yaml.Node{Kind: yaml.MappingNode}} }

func (m mapNode) set(k string, v *yaml.Node) {
	m.node.Content = append(m.node.Content, str(k), v)
}

// common sets description, owner and tags (without our tools' tags).
func (m mapNode) common(description, owner string, tags map[string]string) {
	if description != "" {
		m.set("description", str(description))
	}
	if owner != "" {
		m.set("owner", str(owner))
	}
	if t := userTags(tags); len(t) > 0 {
		m.set("tags", strMapNode(t, true))
	}
}

func userTags(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if !strings.HasPrefix(k, ToolTagPrefix) {
			out[k] = v
		}
	}
	return out
}

func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n"):
		n.Style = yaml.LiteralStyle
	case yaml11Bool[strings.ToLower(s)]:
		// YAML 1.1 readers (PyYAML) would read these as booleans.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

var yaml11Bool = map[string]bool{"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true, "true": true, "false": true}

func boolNode(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}
}

func flowSeq(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func strMapNode(m map[string]string, flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	if flow {
		n.Style = yaml.FlowStyle
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.Content = append(n.Content, str(k), str(m[k]))
	}
	return n
}

func schemaNode(fields []model.Field, withExpr bool) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, f := range fields {
		fm := mapping()
		fm.set("name", str(f.Name))
		fm.set("dtype", str(model.DTypeName(f.Type)))
		if f.Description != "" {
			fm.set("description", str(f.Description))
		}
		if t := userTags(f.Tags); len(t) > 0 {
			fm.set("tags", strMapNode(t, true))
		}
		if withExpr {
			fm.set("expression", str(f.Expression))
		}
		if !strings.Contains(f.Description, "\n") && !strings.Contains(f.Expression, "\n") {
			fm.node.Style = yaml.FlowStyle
		}
		seq.Content = append(seq.Content, fm.node)
	}
	return seq
}
