package offline

import (
	"fmt"
	"strings"
	"time"

	"github.com/feastgo/feast/internal/suggest"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/sqlgen"
	"github.com/feastgo/feast/values"
)

// Kind is the coarse type of a column, enough to check entity columns
// against join keys and to find timestamp columns.
type Kind int

// Column kinds.
const (
	KindOther Kind = iota
	KindInt
	KindFloat
	KindString
	KindBytes
	KindBool
	KindTimestamp
	KindDate
)

func (k Kind) String() string {
	return [...]string{"other", "integer", "float", "string", "bytes", "boolean", "timestamp", "date"}[k]
}

// Column is a named column of an engine's table, with the engine's type
// name for messages.
type Column struct {
	Name string
	Kind Kind
	Type string
}

// KindOf is the kind of a Feast value type.
func KindOf(vt model.ValueType) Kind {
	switch vt {
	case model.Int32, model.Int64:
		return KindInt
	case model.Float, model.Double:
		return KindFloat
	case model.String:
		return KindString
	case model.Bytes:
		return KindBytes
	case model.Bool:
		return KindBool
	case model.UnixTimestamp:
		return KindTimestamp
	}
	return KindOther
}

// EntityTimestamp picks the entity timestamp column: event_timestamp if
// present, else the single timestamp (or date) column.
func EntityTimestamp(cols []Column) (string, error) {
	var stamps []string
	for _, c := range cols {
		if c.Name == EventTimestampColumn {
			if c.Kind != KindTimestamp && c.Kind != KindDate {
				return "", fmt.Errorf("entity column %s has type %s, not a timestamp", c.Name, c.Type)
			}
			return c.Name, nil
		}
		if c.Kind == KindTimestamp || c.Kind == KindDate {
			stamps = append(stamps, c.Name)
		}
	}
	switch len(stamps) {
	case 0:
		return "", fmt.Errorf("entity rows have no timestamp column: add an %s column (columns: %s)", EventTimestampColumn, columnNames(cols))
	case 1:
		return stamps[0], nil
	}
	return "", fmt.Errorf("entity rows have several timestamp columns (%s): name the one to join on %s", strings.Join(stamps, ", "), EventTimestampColumn)
}

func columnNames(cols []Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// RelationFunc returns the FROM item reading a data source.
type RelationFunc func(*model.DataSource) (string, error)

// SourceView builds the sqlgen view reading all of a feature view's
// features with keys and features named as the view names them (field
// mapping applied), as PullLatest and PullAll need.
func SourceView(fv *model.FeatureView, relation RelationFunc) (sqlgen.View, error) {
	return viewSpec(ViewRequest{View: fv}, relation, func(k string) string { return k }, func(f string) string { return f })
}

func viewSpec(vr ViewRequest, relation RelationFunc, keyName func(string) string, outName func(string) string) (sqlgen.View, error) {
	fv := vr.View
	src := fv.Source
	if src == nil {
		return sqlgen.View{}, fmt.Errorf("feature view %s has no batch source", fv.Name)
	}
	if src.TimestampField == "" {
		return sqlgen.View{}, fmt.Errorf("source %s of feature view %s has no timestamp_field", src.Name, fv.Name)
	}
	rel, err := relation(src)
	if err != nil {
		return sqlgen.View{}, err
	}
	v := sqlgen.View{
		Source: sqlgen.Source{Relation: rel, Timestamp: src.TimestampField, Created: src.CreatedTimestampColumn},
		TTL:    fv.TTL,
	}
	for _, k := range fv.EntityColumns {
		v.Keys = append(v.Keys, sqlgen.Key{Source: src.ColumnFor(k.Name), Name: keyName(k.Name), Type: k.Type})
	}
	names := vr.Features
	if len(names) == 0 {
		for _, f := range fv.Features {
			names = append(names, f.Name)
		}
	}
	for _, n := range names {
		if _, ok := fv.Feature(n); !ok {
			return sqlgen.View{}, unknownFeature(fv, n)
		}
		v.Features = append(v.Features, sqlgen.Feature{Source: src.ColumnFor(n), Output: outName(n)})
	}
	return v, nil
}

func unknownFeature(fv *model.FeatureView, name string) error {
	var all []string
	for _, f := range fv.Features {
		all = append(all, f.Name)
	}
	msg := fmt.Sprintf("feature view %s has no feature %q", fv.Name, name)
	if c := suggest.Closest(name, all, 3); len(c) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(c, ", "))
	} else {
		msg += fmt.Sprintf(" (features: %s)", strings.Join(all, ", "))
	}
	return fmt.Errorf("%s", msg)
}

// Plan is a resolved historical request, ready for sqlgen.
type Plan struct {
	// Views are the request's views as sqlgen reads them; Key.Name is the
	// entity column.
	Views []sqlgen.View
	// Columns are the output columns: entity columns, then features.
	Columns []string
	// EntityColumns are the entity columns passed through, in order.
	EntityColumns []string
	// Timestamp is the entity timestamp column.
	Timestamp string
}

// PlanRequest checks a request against the entity columns (from the
// engine's view of the entity table, without any internal row-id column)
// and resolves each view's source, keys and features.
func PlanRequest(req *HistoricalRequest, entity []Column, relation RelationFunc) (*Plan, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	ts, err := EntityTimestamp(entity)
	if err != nil {
		return nil, err
	}
	p := &Plan{Timestamp: ts}
	byName := map[string]Column{}
	for _, c := range entity {
		byName[c.Name] = c
		p.EntityColumns = append(p.EntityColumns, c.Name)
	}
	p.Columns = append(p.Columns, p.EntityColumns...)
	seen := map[string]string{}
	for _, c := range p.EntityColumns {
		seen[c] = "entity column"
	}
	for _, vr := range req.Views {
		for _, k := range vr.View.EntityColumns {
			col := vr.EntityColumn(k.Name)
			ec, ok := byName[col]
			if !ok {
				msg := fmt.Sprintf("entity rows lack column %s, join key of feature view %s", col, vr.View.Name)
				if c := suggest.Closest(col, p.EntityColumns, 1); len(c) > 0 {
					msg += fmt.Sprintf(" (did you mean %s, or map it with a feature service join_key_map?)", c[0])
				}
				return nil, fmt.Errorf("%s", msg)
			}
			if want := KindOf(k.Type); want != KindOther && ec.Kind != KindOther && ec.Kind != want {
				return nil, fmt.Errorf("entity column %s has type %s but join key %s of feature view %s is %s",
					col, ec.Type, k.Name, vr.View.Name, k.Type)
			}
		}
		out := func(f string) string {
			if req.FullFeatureNames {
				return vr.Name() + "__" + f
			}
			return f
		}
		v, err := viewSpec(vr, relation, vr.EntityColumn, out)
		if err != nil {
			return nil, err
		}
		for _, f := range v.Features {
			if prev, dup := seen[f.Output]; dup {
				return nil, fmt.Errorf("output column %s of feature view %s collides with %s; use full feature names or an alias", f.Output, vr.View.Name, prev)
			}
			seen[f.Output] = "feature view " + vr.View.Name
			p.Columns = append(p.Columns, f.Output)
		}
		p.Views = append(p.Views, v)
	}
	return p, nil
}

// EntitylessPlan resolves the views of an entity-less request and returns
// the range it covers: End defaults to now, Start to End minus the largest
// ttl (zero, meaning unbounded, when a view has no ttl).
func EntitylessPlan(req *HistoricalRequest, relation RelationFunc, now time.Time) (views []sqlgen.View, start, end time.Time, err error) {
	if err := req.Validate(); err != nil {
		return nil, start, end, err
	}
	end, start = req.End, req.Start
	if end.IsZero() {
		end = now
	}
	if start.IsZero() {
		var maxTTL time.Duration
		unbounded := false
		for _, vr := range req.Views {
			if vr.View.TTL == 0 {
				unbounded = true
			}
			maxTTL = max(maxTTL, vr.View.TTL)
		}
		if !unbounded {
			start = end.Add(-maxTTL)
		}
	}
	for _, vr := range req.Views {
		v, err := viewSpec(vr, relation, vr.EntityColumn, func(f string) string { return f })
		if err != nil {
			return nil, start, end, err
		}
		views = append(views, v)
	}
	return views, start, end, nil
}

// EntityTimeError reports an entity row whose timestamp is outside the
// range every event timestamp is stored in (years 0001 to 9999, the
// protobuf Timestamp's), usually a number in the wrong unit.
type EntityTimeError struct {
	Column string
	Row    int64 // 0-based, in input order
	Value  string
}

func (e *EntityTimeError) Error() string {
	return fmt.Sprintf("entity rows: column %s: row %d: timestamp %s is outside 0001-01-01..9999-12-31 "+
		"(epoch milliseconds or microseconds read as seconds?)", e.Column, e.Row, e.Value)
}

// Unwrap makes errors.Is(err, values.ErrTimeRange) true.
func (e *EntityTimeError) Unwrap() error { return values.ErrTimeRange }

// CheckEntityTimes runs sqlgen.OutOfRangeSQL for e through query, which
// scans the single result row if there is one (found false when there is
// none), and returns an *EntityTimeError for the row it finds.
func CheckEntityTimes(d sqlgen.Dialect, e sqlgen.Entities, query func(sql string, row *int64, value *string) (found bool, err error)) error {
	var row int64
	var value string
	found, err := query(sqlgen.OutOfRangeSQL(d, e, values.MinTime, values.MaxTime), &row, &value)
	if err != nil {
		return fmt.Errorf("check entity timestamps: %w", err)
	}
	if !found {
		return nil
	}
	return &EntityTimeError{Column: e.Timestamp, Row: row, Value: value}
}
