package offlinetest

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/feastgo/feast/model"
)

// SourceDef is a data source of a case: its rows and how they are read.
type SourceDef struct {
	Name               string
	Table              Table
	Timestamp, Created string
	// FieldMapping maps source column -> feature or join-key name.
	FieldMapping map[string]string
}

// ViewDef is a feature view of a case.
type ViewDef struct {
	Name, Source string
	TTL          time.Duration
	Keys         []model.Field
	Features     []model.Field
}

// FetchDef selects features of one view in a request.
type FetchDef struct {
	View, Alias string
	Features    []string
	JoinKeyMap  map[string]string
}

// PullDef is a materialization read instead of a historical request.
type PullDef struct {
	View       string
	Latest     bool
	Start, End time.Time
}

// Case is one test: sources, views, entity rows, a request (or a pull) and
// the expected output or error.
type Case struct {
	Name string
	// Pos is file:line of the case, for messages.
	Pos     string
	Sources []SourceDef
	Views   []ViewDef
	// Entities are the entity rows; nil means entity-less retrieval.
	Entities                *Table
	FullNames, FilterCreate bool
	Start, End              time.Time
	Fetch                   []FetchDef
	Pull                    *PullDef
	// Expect holds the expected output: a header line then rows; rows of a
	// pull are compared in any order.
	Expect      []string
	ExpectError string
}

func (c *Case) source(name string) *SourceDef {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i]
		}
	}
	return nil
}

func (c *Case) view(name string) *ViewDef {
	for i := range c.Views {
		if c.Views[i].Name == name {
			return &c.Views[i]
		}
	}
	return nil
}

// tokens splits a line on spaces, keeping double-quoted strings whole.
func tokens(line string) []string {
	var out []string
	var cur strings.Builder
	inQuote, has := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\\' && inQuote && i+1 < len(line):
			cur.WriteByte(ch)
			cur.WriteByte(line[i+1])
			i++
		case ch == '"':
			inQuote = !inQuote
			cur.WriteByte(ch)
			has = true
		case unicode.IsSpace(rune(ch)) && !inQuote:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(ch)
			has = true
		}
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}

// kv parses key=value arguments; bare words map to "".
func kv(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		m[k] = v
	}
	return m
}

func pairs(s string, sep string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, sep)
		if !ok {
			return nil, fmt.Errorf("want a%sb pairs, got %q", sep, p)
		}
		m[k] = v
	}
	return m, nil
}

func parseTime(s string) (time.Time, error) {
	v, err := ParseValue("timestamptz", s)
	if err != nil {
		return time.Time{}, err
	}
	return v.(time.Time), nil
}

// ParseCases parses a golden file. The format is line based; # starts a
// comment line. Directives start in column 0, block rows are indented:
//
//	case NAME
//	source NAME ts=COL [created=COL] [map=src:name,...]
//	  col:type col:type ...        (header, then one row per line)
//	view NAME source=SRC [ttl=DURATION] keys=k:INT64,... features=f:Float32,...
//	entities                      (omit for entity-less retrieval)
//	  col:type ...
//	request [full_names] [filter_created] [start=TS] [end=TS]
//	fetch VIEW [alias=A] [features=f,g] [joinkeys=key:column,...]
//	pull VIEW latest|all start=TS end=TS
//	expect                        (header of names, then rows)
//	expect error SUBSTRING
//
// A timestamp cell is RFC 3339 (or a shorter layout) or epoch:SECONDS.
func ParseCases(file, text string) ([]*Case, error) {
	var cases []*Case
	var cur *Case
	var block *[][]string // rows of the block being read
	var blockEnd func() error
	finish := func() error {
		if blockEnd != nil {
			if err := blockEnd(); err != nil {
				return err
			}
			blockEnd, block = nil, nil
		}
		return nil
	}
	lines := strings.Split(text, "\n")
	for n, raw := range lines {
		pos := fmt.Sprintf("%s:%d", file, n+1)
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if block == nil {
				return nil, fmt.Errorf("%s: indented line outside a block", pos)
			}
			*block = append(*block, tokens(trimmed))
			continue
		}
		if err := finish(); err != nil {
			return nil, fmt.Errorf("%s: %w", pos, err)
		}
		tok := tokens(trimmed)
		if tok[0] != "case" && cur == nil {
			return nil, fmt.Errorf("%s: %s before the first case", pos, tok[0])
		}
		args := kv(tok[1:])
		var err error
		switch tok[0] {
		case "case":
			cur = &Case{Name: strings.Join(tok[1:], "_"), Pos: pos}
			cases = append(cases, cur)
		case "source":
			s := SourceDef{Name: tok[1], Timestamp: args["ts"], Created: args["created"]}
			if s.FieldMapping, err = pairs(args["map"], ":"); err != nil {
				break
			}
			if s.Timestamp == "" {
				s.Timestamp = "event_timestamp"
			}
			rows := [][]string{}
			block = &rows
			c := cur
			blockEnd = func() error {
				t, err := parseTable(rows)
				if err != nil {
					return fmt.Errorf("source %s: %w", s.Name, err)
				}
				s.Table = *t
				c.Sources = append(c.Sources, s)
				return nil
			}
		case "entities":
			rows := [][]string{}
			block = &rows
			c := cur
			blockEnd = func() error {
				t, err := parseTable(rows)
				if err != nil {
					return fmt.Errorf("entities: %w", err)
				}
				c.Entities = t
				return nil
			}
		case "view":
			v := ViewDef{Name: tok[1], Source: args["source"]}
			if d := args["ttl"]; d != "" {
				if v.TTL, err = parseDuration(d); err != nil {
					break
				}
			}
			if v.Keys, err = fields(args["keys"], model.ParseValueType); err != nil {
				break
			}
			if v.Features, err = fields(args["features"], model.ParseDType); err != nil {
				break
			}
			cur.Views = append(cur.Views, v)
		case "request":
			_, cur.FullNames = args["full_names"]
			_, cur.FilterCreate = args["filter_created"]
			if s := args["start"]; s != "" {
				if cur.Start, err = parseTime(s); err != nil {
					break
				}
			}
			if s := args["end"]; s != "" {
				cur.End, err = parseTime(s)
			}
		case "fetch":
			f := FetchDef{View: tok[1], Alias: args["alias"]}
			if fs := args["features"]; fs != "" {
				f.Features = strings.Split(fs, ",")
			}
			f.JoinKeyMap, err = pairs(args["joinkeys"], ":")
			cur.Fetch = append(cur.Fetch, f)
		case "pull":
			p := &PullDef{View: tok[1]}
			_, p.Latest = args["latest"]
			if p.Start, err = parseTime(args["start"]); err != nil {
				break
			}
			p.End, err = parseTime(args["end"])
			cur.Pull = p
		case "expect":
			if len(tok) > 1 && tok[1] == "error" {
				cur.ExpectError = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(trimmed, "expect"), " error"))
				break
			}
			rows := [][]string{}
			block = &rows
			c := cur
			blockEnd = func() error {
				for _, r := range rows {
					c.Expect = append(c.Expect, strings.Join(r, " "))
				}
				return nil
			}
		default:
			err = fmt.Errorf("unknown directive %q", tok[0])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pos, err)
		}
	}
	if err := finish(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, c := range cases {
		if c.Expect == nil && c.ExpectError == "" {
			return nil, fmt.Errorf("%s: case %s has no expect", c.Pos, c.Name)
		}
	}
	return cases, nil
}

// fields parses name:type,... in order.
func fields(s string, parse func(string) (model.ValueType, error)) ([]model.Field, error) {
	var out []model.Field
	if s == "" {
		return out, nil
	}
	for _, p := range strings.Split(s, ",") {
		name, typ, ok := strings.Cut(p, ":")
		if !ok {
			return nil, fmt.Errorf("want name:type, got %q", p)
		}
		vt, err := parse(typ)
		if err != nil {
			return nil, err
		}
		out = append(out, model.Field{Name: name, Type: vt})
	}
	return out, nil
}

// parseDuration is time.ParseDuration plus a d (day) unit.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		d, err := time.ParseDuration(days + "h")
		return d * 24, err
	}
	return time.ParseDuration(s)
}

func parseTable(rows [][]string) (*Table, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("missing header")
	}
	t := &Table{}
	for _, h := range rows[0] {
		name, typ, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("header cell %q: want name:type", h)
		}
		if _, err := arrowType(typ); err != nil {
			return nil, err
		}
		t.Cols = append(t.Cols, Col{Name: name, Type: typ})
	}
	for i, r := range rows[1:] {
		if len(r) != len(t.Cols) {
			return nil, fmt.Errorf("row %d has %d cells, want %d", i+1, len(r), len(t.Cols))
		}
		row := make([]any, len(r))
		for j, cell := range r {
			v, err := ParseValue(t.Cols[j].Type, cell)
			if err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", i+1, t.Cols[j].Name, err)
			}
			row[j] = v
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
