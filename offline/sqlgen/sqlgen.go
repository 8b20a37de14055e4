// Package sqlgen writes the offline store's SQL: the point-in-time join of
// historical retrieval, the latest-row-per-entity read of materialization and
// the entity-less entity table. It is the one place these semantics are
// expressed in SQL; an engine supplies a Dialect and the FROM-clause of each
// source, and runs the text it gets back.
//
// Every query compares timestamps as TIMESTAMP WITH TIME ZONE. Engines must
// run them in a session whose time zone is UTC, so that naive timestamps are
// read as UTC.
package sqlgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feastgo/feast/model"
)

// Dialect is what differs between SQL engines.
type Dialect interface {
	// QuoteIdent quotes an identifier.
	QuoteIdent(name string) string
	// TimestampLiteral renders an instant as a TIMESTAMP WITH TIME ZONE literal.
	TimestampLiteral(t time.Time) string
	// ToTimestampTZ converts a timestamp (naive or zoned) or date expression
	// to TIMESTAMP WITH TIME ZONE.
	ToTimestampTZ(expr string) string
	// MinusDuration subtracts a duration from a zoned timestamp expression.
	MinusDuration(expr string, d time.Duration) string
	// TypeName is the column type for a value type, for typed NULLs.
	TypeName(vt model.ValueType) string
	// SupportsAsOfJoin reports whether the engine has ASOF LEFT JOIN with
	// DuckDB's semantics (greatest right row satisfying the inequality).
	SupportsAsOfJoin() bool
	// UTF8Bytes converts a string expression to the binary string of its
	// UTF-8 bytes, which sorts byte by byte whatever the collation.
	UTF8Bytes(expr string) string
}

// ansi holds the parts PostgreSQL and DuckDB share.
type ansi struct{}

func (ansi) QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (ansi) TimestampLiteral(t time.Time) string {
	return "CAST('" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00' AS TIMESTAMPTZ)"
}

func (ansi) ToTimestampTZ(expr string) string { return "CAST(" + expr + " AS TIMESTAMPTZ)" }

func (ansi) MinusDuration(expr string, d time.Duration) string {
	us := d.Microseconds()
	return fmt.Sprintf("(%s - INTERVAL '%d.%06d seconds')", expr, us/1e6, us%1e6)
}

// PostgresDialect is PostgreSQL.
type PostgresDialect struct{ ansi }

// TypeName implements Dialect.
func (PostgresDialect) TypeName(vt model.ValueType) string {
	switch vt {
	case model.Int32:
		return "INTEGER"
	case model.Int64:
		return "BIGINT"
	case model.Float:
		return "REAL"
	case model.Double:
		return "DOUBLE PRECISION"
	case model.Bool:
		return "BOOLEAN"
	case model.Bytes:
		return "BYTEA"
	case model.UnixTimestamp:
		return "TIMESTAMPTZ"
	}
	return "TEXT"
}

// SupportsAsOfJoin implements Dialect.
func (PostgresDialect) SupportsAsOfJoin() bool { return false }

// UTF8Bytes implements Dialect.
func (PostgresDialect) UTF8Bytes(expr string) string {
	return "convert_to(CAST(" + expr + " AS TEXT), 'UTF8')"
}

// DuckDBDialect is DuckDB.
type DuckDBDialect struct{ ansi }

// TypeName implements Dialect.
func (DuckDBDialect) TypeName(vt model.ValueType) string {
	switch vt {
	case model.Int32:
		return "INTEGER"
	case model.Int64:
		return "BIGINT"
	case model.Float:
		return "FLOAT"
	case model.Double:
		return "DOUBLE"
	case model.Bool:
		return "BOOLEAN"
	case model.Bytes:
		return "BLOB"
	case model.UnixTimestamp:
		return "TIMESTAMPTZ"
	}
	return "VARCHAR"
}

// SupportsAsOfJoin implements Dialect.
func (DuckDBDialect) SupportsAsOfJoin() bool { return true }

// UTF8Bytes implements Dialect.
func (DuckDBDialect) UTF8Bytes(expr string) string {
	return "encode(CAST(" + expr + " AS VARCHAR))"
}

// SupportsPositionalJoin implements PositionalDialect.
func (DuckDBDialect) SupportsPositionalJoin() bool { return true }

// AsOfOrder implements AsOfDialect: one HUGEINT, the event time in
// microseconds times 2^64 plus the created time in microseconds offset
// into [1, 2^64) (0 when missing). DuckDB sorts a fixed-width key this
// narrow (with the 4-byte key id of the per-view plan) on its fast
// fixed-size path; a STRUCT of both timestamps, or a HUGEINT beside an
// 8-byte join key, takes the variable-size path, about 1.5x slower and
// wider in memory. Source rows with a NULL event ts never reach the join
// (the time-range filter drops them).
func (DuckDBDialect) AsOfOrder(ts, created string) string {
	return fmt.Sprintf("(CAST(%s AS HUGEINT) * %s + coalesce(CAST(%s AS HUGEINT) + %s, 0))",
		duckMicros(ts), twoTo64, duckMicros(created), twoTo63)
}

// AsOfProbe implements AsOfDialect: the entity time with the largest
// possible created part, so every row with event ts <= T qualifies. A NULL
// time gives a NULL key, which matches nothing.
func (DuckDBDialect) AsOfProbe(ts string) string {
	return fmt.Sprintf("(CAST(%s AS HUGEINT) * %s + %s)", duckMicros(ts), twoTo64, maxUint64)
}

const (
	twoTo64   = "18446744073709551616"
	twoTo63   = "9223372036854775808"
	maxUint64 = "18446744073709551615"
)

// duckMicros is a zoned timestamp as microseconds since the epoch, with
// infinity and -infinity (for which epoch_us is NULL) just outside every
// finite value: +-(2^63 - 1), so that the packed keys stay inside
// HUGEINT's range. NULL stays NULL.
func duckMicros(ts string) string {
	return fmt.Sprintf("coalesce(epoch_us(%[1]s), CASE WHEN %[1]s = CAST('infinity' AS TIMESTAMPTZ) THEN 9223372036854775807 WHEN %[1]s = CAST('-infinity' AS TIMESTAMPTZ) THEN -9223372036854775807 END)", ts)
}

// AsOfDialect is implemented by dialects whose ASOF join can order rows by
// (event ts, created ts) through one combined key, which spares
// deduplicating event-time ties before the join.
type AsOfDialect interface {
	// AsOfOrder combines a feature row's event and created timestamps
	// (zoned timestamp expressions; created may be NULL) into one key
	// ordered by event ts, then created ts with NULL smallest.
	AsOfOrder(ts, created string) string
	// AsOfProbe is the key of an entity time T that is >= the key of every
	// row with event ts <= T and < the key of every later row; NULL for a
	// NULL T, so that it matches no row.
	AsOfProbe(ts string) string
}

// PositionalDialect is implemented by dialects that have POSITIONAL JOIN
// (rows of two tables paired by position) and session temporary tables
// that keep insertion order: what the PerView strategy needs.
type PositionalDialect interface {
	SupportsPositionalJoin() bool
}

// Source is a feature view's batch source as the query reads it.
type Source struct {
	// Relation is a FROM item: a table name, a parenthesised subquery or a
	// table function such as read_parquet(...).
	Relation string
	// Timestamp and Created are source column names; Created may be empty.
	Timestamp string
	Created   string
}

// Key maps a source join-key column to the name the query uses for it: the
// entity column in historical retrieval, the join key elsewhere.
type Key struct {
	Source string
	Name   string
	// Type is the join key's type, used for typed NULLs (entity-less rows).
	Type model.ValueType
}

// Feature maps a source column to an output column name.
type Feature struct {
	Source string
	Output string
}

// View is one feature view's part of a query.
type View struct {
	Source   Source
	Keys     []Key
	Features []Feature
	// TTL bounds the lookback; zero means unbounded.
	TTL time.Duration
}

// Entities describes the entity table of a historical query.
type Entities struct {
	// Relation is a FROM item holding the entity rows. The PerView
	// strategy needs a table whose scan order is RowID order.
	Relation string
	// RowID is an expression over Relation giving the input order.
	RowID string
	// Columns are the entity columns to output, in order.
	Columns []string
	// Timestamp is the column holding each row's point in time.
	Timestamp string
}

// Strategy selects how the point-in-time join is computed. Both give the
// same result.
type Strategy int

// Strategies.
const (
	// Auto uses ASOF joins where the dialect has them and the request
	// allows (no created-timestamp filter), else Window.
	Auto Strategy = iota
	// Window joins each entity row to every candidate feature row and keeps
	// the first by (event ts, created ts) descending, as Feast does.
	Window
	// AsOf uses ASOF LEFT JOIN; the request must not filter by created
	// timestamp and the dialect must support it.
	AsOf
	// PerView runs each view's ASOF join on a narrow projection of the
	// entity table (row, key id, time) into a temporary table in entity
	// order, and pairs those tables with the entity table by POSITIONAL
	// JOIN. The sorts inside the joins then carry a few columns instead of
	// every entity column and earlier view, and no final ORDER BY is
	// needed. Join keys are replaced by their number in a per-request key
	// map (see keyMapSelect). It needs what AsOf needs and a
	// PositionalDialect; see HistoricalStatements.
	PerView
)

// Historical is a point-in-time join.
type Historical struct {
	Entities Entities
	Views    []View
	// FilterByCreated also requires created ts <= T where a source has a
	// created timestamp column.
	FilterByCreated bool
	Strategy        Strategy
}

type builder struct {
	d Dialect
	b strings.Builder
}

func (g *builder) q(s string) string { return g.d.QuoteIdent(s) }

func (g *builder) printf(format string, args ...any) { fmt.Fprintf(&g.b, format, args...) }

func kname(i int) string { return "__k" + strconv.Itoa(i) }
func fname(i int) string { return "__f" + strconv.Itoa(i) }

// srcSelect writes the SELECT list reading a view's source: keys as __kN,
// features as __fN, event ts as __ts, created ts as __cts (NULL without a
// created column).
func (g *builder) srcSelect(v View) string {
	var cols []string
	for i, k := range v.Keys {
		cols = append(cols, g.q(k.Source)+" AS "+g.q(kname(i)))
	}
	cols = append(cols, g.d.ToTimestampTZ(g.q(v.Source.Timestamp))+" AS "+g.q("__ts"))
	if v.Source.Created != "" {
		cols = append(cols, g.d.ToTimestampTZ(g.q(v.Source.Created))+" AS "+g.q("__cts"))
	}
	for i, f := range v.Features {
		cols = append(cols, g.q(f.Source)+" AS "+g.q(fname(i)))
	}
	return strings.Join(cols, ", ")
}

// keysNotNull is the condition that a source row's keys are all present;
// TRUE for a view without keys.
func (g *builder) keysNotNull(v View) string {
	conds := []string{"TRUE"}
	for _, k := range v.Keys {
		conds = append(conds, g.q(k.Source)+" IS NOT NULL")
	}
	if len(conds) > 1 {
		conds = conds[1:]
	}
	return strings.Join(conds, " AND ")
}

// order is the ORDER BY of "latest first": event ts then created ts, both
// descending, missing created timestamps last.
func (g *builder) latestFirst(v View, prefix string) string {
	s := prefix + g.q("__ts") + " DESC"
	if v.Source.Created != "" {
		s += ", " + prefix + g.q("__cts") + " DESC NULLS LAST"
	}
	return s
}

// keyList lists the view's renamed key columns (__kN) with prefix, then
// the extra expressions.
func (g *builder) keyList(v View, prefix string, extra ...string) string {
	var ks []string
	for i := range v.Keys {
		ks = append(ks, prefix+g.q(kname(i)))
	}
	return strings.Join(append(ks, extra...), ", ")
}

// partitionBy is a window's PARTITION BY clause with a trailing space, or
// nothing for an empty list (a view without keys has one partition).
func partitionBy(list string) string {
	if list == "" {
		return ""
	}
	return "PARTITION BY " + list + " "
}

// Validate checks the shape of a historical query.
func (h *Historical) validate(d Dialect) error {
	if len(h.Entities.Columns) == 0 || h.Entities.Timestamp == "" || h.Entities.Relation == "" || h.Entities.RowID == "" {
		return fmt.Errorf("sqlgen: incomplete entity table %+v", h.Entities)
	}
	if (h.Strategy == AsOf || h.Strategy == PerView) && (!d.SupportsAsOfJoin() || h.FilterByCreated) {
		return fmt.Errorf("sqlgen: ASOF strategy needs a dialect with ASOF joins and no created-timestamp filter")
	}
	if h.Strategy == PerView && !positional(d) {
		return fmt.Errorf("sqlgen: per-view strategy needs a dialect with POSITIONAL JOIN")
	}
	return nil
}

func positional(d Dialect) bool {
	pd, ok := d.(PositionalDialect)
	return ok && pd.SupportsPositionalJoin()
}

// strategy resolves Auto: PerView where the dialect allows it, else AsOf,
// else Window.
func (h *Historical) strategy(d Dialect) Strategy {
	if h.Strategy != Auto {
		return h.Strategy
	}
	switch {
	case !d.SupportsAsOfJoin() || h.FilterByCreated:
		return Window
	case positional(d):
		return PerView
	}
	return AsOf
}

// Statements is a query that needs setup: run Setup in order on one
// connection (it creates session temporary tables), then Query, then
// Cleanup, which drops what Setup created and should run even after a
// failure. Without setup, Setup and Cleanup are empty.
type Statements struct {
	Setup   []string
	Query   string
	Cleanup []string
}

// String renders every statement, for logs and debugging.
func (st Statements) String() string {
	all := append(append(append([]string{}, st.Setup...), st.Query), st.Cleanup...)
	return strings.Join(all, ";\n")
}

// HistoricalStatements writes the point-in-time join as statements: one
// output row per entity row, in RowID order, with the entity columns then
// each view's features. With the PerView strategy, Setup creates one
// temporary key map per set of entity key columns, named tempPrefix +
// "_k" + index, and one temporary table per view, named tempPrefix + "_v"
// + index (the caller keeps the prefix unique per connection); with
// schemaOnly those tables are created empty, so Query returns no rows but
// the result's schema, cheaply. Other strategies return HistoricalSQL's
// query alone.
func HistoricalStatements(d Dialect, h Historical, tempPrefix string, schemaOnly bool) (Statements, error) {
	if err := h.validate(d); err != nil {
		return Statements{}, err
	}
	if h.strategy(d) != PerView {
		q, err := HistoricalSQL(d, h)
		if schemaOnly {
			q = "SELECT * FROM (" + q + ") AS q LIMIT 0"
		}
		return Statements{Query: q}, err
	}
	g := &builder{d: d}
	e := h.Entities
	var st Statements
	var out []string
	for _, c := range e.Columns {
		out = append(out, "e."+g.q(c))
	}
	from := fmt.Sprintf("%s AS e", e.Relation)
	keyMaps := map[string]string{} // entity key columns -> their key map table
	for i, v := range h.Views {
		names := make([]string, len(v.Keys))
		for j, k := range v.Keys {
			names[j] = k.Name
		}
		sig := strings.Join(names, "\x00")
		keyMap, ok := keyMaps[sig]
		if !ok && len(v.Keys) > 0 { // a view without keys joins on time alone
			keyMap = g.q(fmt.Sprintf("%s_k%d", tempPrefix, len(keyMaps)))
			keyMaps[sig] = keyMap
			st.Setup = append(st.Setup, "CREATE OR REPLACE TEMP TABLE "+keyMap+" AS "+g.keyMapSelect(v, e, schemaOnly))
			st.Cleanup = append(st.Cleanup, "DROP TABLE IF EXISTS "+keyMap)
		}
		table := g.q(fmt.Sprintf("%s_v%d", tempPrefix, i))
		st.Setup = append(st.Setup, "CREATE OR REPLACE TEMP TABLE "+table+" AS "+g.perViewSelect(v, e, keyMap, schemaOnly))
		st.Cleanup = append(st.Cleanup, "DROP TABLE IF EXISTS "+table)
		alias := g.q("__t" + strconv.Itoa(i))
		for _, f := range v.Features {
			out = append(out, alias+"."+g.q(f.Output))
		}
		from += " POSITIONAL JOIN " + table + " AS " + alias
	}
	st.Query = fmt.Sprintf("SELECT %s FROM %s", strings.Join(out, ", "), from)
	if schemaOnly {
		// POSITIONAL JOIN pads the empty tables with NULLs to the entity
		// table's length; the schema needs no rows.
		st.Query += " LIMIT 0"
	}
	return st, nil
}

// keyMapSelect numbers the distinct non-null join keys of the entity rows
// (the columns a view's keys name) 1, 2, ... as INTEGER __id. The PerView
// joins match on that number instead of the keys: a 4-byte equality key
// keeps DuckDB's ASOF sort on its fixed-width path whatever the key types
// (strings, several columns), and joining the source to the map drops the
// rows of entities the request does not ask for before they are sorted.
func (g *builder) keyMapSelect(v View, e Entities, empty bool) string {
	var cols, notNull []string
	for _, k := range v.Keys {
		cols = append(cols, g.q(k.Name))
		notNull = append(notNull, g.q(k.Name)+" IS NOT NULL")
	}
	q := fmt.Sprintf("SELECT %s, CAST(row_number() OVER () AS INTEGER) AS %s FROM (SELECT DISTINCT %s FROM %s WHERE %s) AS d",
		strings.Join(cols, ", "), g.q("__id"), strings.Join(cols, ", "), e.Relation, strings.Join(notNull, " AND "))
	if empty {
		q += " LIMIT 0"
	}
	return q
}

// keyMapJoin is the ON clause joining relation alias a, whose key columns
// are named by col, to key map m.
func (g *builder) keyMapJoin(v View, a string, col func(j int, k Key) string) string {
	var conds []string
	for j, k := range v.Keys {
		conds = append(conds, fmt.Sprintf("%s.%s = m.%s", a, col(j, k), g.q(k.Name)))
	}
	return strings.Join(conds, " AND ")
}

// perViewSelect is one view's part of the PerView strategy: the view's
// features for every entity row, in RowID order, as an ASOF join of the
// entity rows' key ids and times (nothing else) with the view's source
// rows of those keys. A view without keys has no key map (keyMap is
// empty) and joins on time alone.
func (g *builder) perViewSelect(v View, e Entities, keyMap string, empty bool) string {
	d := g.d
	ets := d.ToTimestampTZ(g.q(e.Timestamp))
	cols := []string{e.RowID + " AS " + g.q("__row"), ets + " AS " + g.q("__ets")}
	for _, k := range v.Keys {
		cols = append(cols, g.q(k.Name))
	}
	ad, _ := d.(AsOfDialect)
	combined := combinedKey(d, v)
	if combined {
		cols = append(cols, ad.AsOfProbe(ets)+" AS "+g.q("__eord"))
	}
	probeCols := []string{"x." + g.q("__row"), "x." + g.q("__ets"), "m." + g.q("__id")}
	if combined {
		probeCols = append(probeCols, "x."+g.q("__eord"))
	}
	probe := fmt.Sprintf("(SELECT %s FROM %s) AS e", strings.Join(cols, ", "), e.Relation)
	cond := ""
	if keyMap != "" {
		probe = fmt.Sprintf("(SELECT %s FROM (SELECT %s FROM %s) AS x LEFT JOIN %s AS m ON %s) AS e",
			strings.Join(probeCols, ", "), strings.Join(cols, ", "), e.Relation, keyMap,
			g.keyMapJoin(v, "x", func(_ int, k Key) string { return g.q(k.Name) }))
		cond = fmt.Sprintf("e.%s = v.%s AND ", g.q("__id"), g.q("__id"))
	}

	src := fmt.Sprintf("SELECT %s FROM %s AS s WHERE %s", g.srcSelect(v), v.Source.Relation, g.timeRange(v, ets, e.Relation))
	switch {
	case combined:
		src = fmt.Sprintf("SELECT r.*, %s AS %s FROM (%s) AS r", ad.AsOfOrder("r."+g.q("__ts"), "r."+g.q("__cts")), g.q("__ord"), src)
		cond += fmt.Sprintf("e.%s >= v.%s", g.q("__eord"), g.q("__ord"))
	case v.Source.Created != "":
		src = g.latestCreatedPerTime(v, src)
		cond += fmt.Sprintf("e.%s >= v.%s", g.q("__ets"), g.q("__ts"))
	default:
		cond += fmt.Sprintf("e.%s >= v.%s", g.q("__ets"), g.q("__ts"))
	}
	if keyMap != "" {
		src = fmt.Sprintf("SELECT m.%s, k.* FROM (%s) AS k JOIN %s AS m ON %s", g.q("__id"), src, keyMap,
			g.keyMapJoin(v, "k", func(j int, _ Key) string { return g.q(kname(j)) }))
	}
	var feats []string
	for j, f := range v.Features {
		feats = append(feats, g.ttlChecked(v, "v", "e."+g.q("__ets"), "v."+g.q(fname(j)))+" AS "+g.q(f.Output))
	}
	if len(feats) == 0 {
		// A view read for no features still needs a column; the final
		// query selects none of it.
		feats = append(feats, "NULL AS "+g.q("__none"))
	}
	q := fmt.Sprintf("SELECT %s FROM %s ASOF LEFT JOIN (%s) AS v ON %s ORDER BY e.%s",
		strings.Join(feats, ", "), probe, src, cond, g.q("__row"))
	if empty {
		q += " LIMIT 0"
	}
	return q
}

// timeRange is the WHERE clause that restricts a view's source to rows
// with non-null keys that some entity row can match: event ts <= the
// latest entity time and, with a ttl, >= the earliest less the ttl. It also
// drops rows with a NULL event ts.
func (g *builder) timeRange(v View, ets, entities string) string {
	d := g.d
	ts := d.ToTimestampTZ(g.q(v.Source.Timestamp))
	where := g.keysNotNull(v) + fmt.Sprintf(" AND %s <= (SELECT max(%s) FROM %s)", ts, ets, entities)
	if v.TTL > 0 {
		where += fmt.Sprintf(" AND %s >= (SELECT %s FROM %s)", ts, d.MinusDuration("min("+ets+")", v.TTL), entities)
	}
	return where
}

// latestCreatedPerTime keeps one source row per (keys, event ts): the one
// with the latest created ts.
func (g *builder) latestCreatedPerTime(v View, src string) string {
	return fmt.Sprintf("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (%sORDER BY %s DESC NULLS LAST) AS %s FROM (%s) AS r) AS t WHERE %s = 1",
		partitionBy(g.keyList(v, "", g.q("__ts"))), g.q("__cts"), g.q("__rn"), src, g.q("__rn"))
}

// ttlChecked is col, or NULL when the matched row (alias) is older than the
// entity time ets less the view's ttl.
func (g *builder) ttlChecked(v View, alias, ets, col string) string {
	if v.TTL <= 0 {
		return col
	}
	return fmt.Sprintf("CASE WHEN %s.%s >= %s THEN %s END", alias, g.q("__ts"), g.d.MinusDuration(ets, v.TTL), col)
}

// combinedKey reports whether a view's ASOF join uses the dialect's
// combined (event ts, created ts) key.
func combinedKey(d Dialect, v View) bool {
	_, ok := d.(AsOfDialect)
	return ok && v.Source.Created != ""
}

// HistoricalSQL writes the point-in-time join as one query: one output row
// per entity row, in RowID order, with the entity columns then each view's
// features. It does not do PerView (Auto picks AsOf instead where it
// would); use HistoricalStatements for that.
func HistoricalSQL(d Dialect, h Historical) (string, error) {
	if err := h.validate(d); err != nil {
		return "", err
	}
	if h.Strategy == PerView {
		return "", fmt.Errorf("sqlgen: the per-view strategy needs several statements; use HistoricalStatements")
	}
	strategy := h.strategy(d)
	if strategy == PerView { // what Auto picks where PerView could run
		strategy = AsOf
	}
	g := &builder{d: d}
	e := h.Entities
	var ecols []string
	for _, c := range e.Columns {
		ecols = append(ecols, g.q(c))
	}
	probe := ""
	if ad, ok := d.(AsOfDialect); ok && strategy == AsOf && slices.ContainsFunc(h.Views, func(v View) bool { return v.Source.Created != "" }) {
		probe = fmt.Sprintf(", %s AS %s", ad.AsOfProbe(d.ToTimestampTZ(g.q(e.Timestamp))), g.q("__eord"))
	}
	g.printf("WITH %s AS (SELECT %s, %s AS %s, %s AS %s%s FROM %s)", g.q("__e"), strings.Join(ecols, ", "),
		e.RowID, g.q("__row"), d.ToTimestampTZ(g.q(e.Timestamp)), g.q("__ets"), probe, e.Relation)
	for i, v := range h.Views {
		g.viewCTEs(i, v, strategy, h.FilterByCreated)
	}
	var out []string
	for _, c := range e.Columns {
		out = append(out, "e."+g.q(c))
	}
	for i, v := range h.Views {
		alias := g.q("__v" + strconv.Itoa(i))
		for j, f := range v.Features {
			col := alias + "." + g.q(fname(j))
			if strategy == AsOf {
				col = g.ttlChecked(v, alias, "e."+g.q("__ets"), col)
			}
			out = append(out, col+" AS "+g.q(f.Output))
		}
	}
	g.printf("\nSELECT %s\nFROM %s AS e", strings.Join(out, ", "), g.q("__e"))
	for i, v := range h.Views {
		alias := g.q("__v" + strconv.Itoa(i))
		var conds []string
		for j, k := range v.Keys {
			conds = append(conds, fmt.Sprintf("e.%s = %s.%s", g.q(k.Name), alias, g.q(kname(j))))
		}
		if strategy == AsOf {
			if _, ok := d.(AsOfDialect); ok && v.Source.Created != "" {
				conds = append(conds, fmt.Sprintf("e.%s >= %s.%s", g.q("__eord"), alias, g.q("__ord")))
			} else {
				conds = append(conds, fmt.Sprintf("e.%s >= %s.%s", g.q("__ets"), alias, g.q("__ts")))
			}
			g.printf("\nASOF LEFT JOIN %s AS %s ON %s", g.q(fmt.Sprintf("__v%d_src", i)), alias, strings.Join(conds, " AND "))
		} else {
			conds = append(conds, fmt.Sprintf("e.%s = %s.%s", g.q("__ets"), alias, g.q("__ets")))
			g.printf("\nLEFT JOIN %s AS %s ON %s", alias, alias, strings.Join(conds, " AND "))
		}
	}
	g.printf("\nORDER BY e.%s", g.q("__row"))
	return g.b.String(), nil
}

// viewCTEs writes the CTEs of one view: __vN_src (the source rows, keys not
// null, restricted to the entity time range) and, for the window strategy,
// __vN (the matched row per distinct entity key and time).
func (g *builder) viewCTEs(i int, v View, strategy Strategy, filterCreated bool) {
	d := g.d
	src := g.q(fmt.Sprintf("__v%d_src", i))
	where := g.timeRange(v, g.q("__ets"), g.q("__e"))
	if strategy == AsOf {
		if v.Source.Created == "" {
			g.printf(",\n%s AS (SELECT %s FROM %s AS s WHERE %s)", src, g.srcSelect(v), v.Source.Relation, where)
			return
		}
		if ad, ok := d.(AsOfDialect); ok {
			// One combined (event ts, created ts) key: the ASOF join picks the
			// latest created among event-time ties by itself.
			g.printf(",\n%s AS (SELECT *, %s AS %s FROM (SELECT %s FROM %s AS s WHERE %s) AS r)",
				src, ad.AsOfOrder(g.q("__ts"), g.q("__cts")), g.q("__ord"), g.srcSelect(v), v.Source.Relation, where)
			return
		}
		g.printf(",\n%s AS (%s)", src, g.latestCreatedPerTime(v, fmt.Sprintf("SELECT %s FROM %s AS s WHERE %s", g.srcSelect(v), v.Source.Relation, where)))
		return
	}
	g.printf(",\n%s AS (SELECT %s FROM %s AS s WHERE %s)", src, g.srcSelect(v), v.Source.Relation, where)
	keys := g.q(fmt.Sprintf("__v%d_keys", i))
	var kcols []string
	for j, k := range v.Keys {
		kcols = append(kcols, g.q(k.Name)+" AS "+g.q(kname(j)))
	}
	g.printf(",\n%s AS (SELECT DISTINCT %s FROM %s)", keys, strings.Join(append(kcols, g.q("__ets")), ", "), g.q("__e"))
	var conds []string
	for j := range v.Keys {
		conds = append(conds, fmt.Sprintf("k.%s = f.%s", g.q(kname(j)), g.q(kname(j))))
	}
	conds = append(conds, fmt.Sprintf("f.%s <= k.%s", g.q("__ts"), g.q("__ets")))
	if v.TTL > 0 {
		conds = append(conds, fmt.Sprintf("f.%s >= %s", g.q("__ts"), d.MinusDuration("k."+g.q("__ets"), v.TTL)))
	}
	if filterCreated && v.Source.Created != "" {
		// A row without a created timestamp is not filtered.
		conds = append(conds, fmt.Sprintf("(f.%s IS NULL OR f.%s <= k.%s)", g.q("__cts"), g.q("__cts"), g.q("__ets")))
	}
	var feats []string
	for j := range v.Features {
		feats = append(feats, "f."+g.q(fname(j)))
	}
	sel := g.keyList(v, "k.", append([]string{"k." + g.q("__ets")}, feats...)...)
	g.printf(",\n%s AS (SELECT * FROM (SELECT %s, ROW_NUMBER() OVER (%sORDER BY %s) AS %s FROM %s AS k JOIN %s AS f ON %s) AS t WHERE %s = 1)",
		g.q(fmt.Sprintf("__v%d", i)), sel, partitionBy(g.keyList(v, "k.", "k."+g.q("__ets"))), g.latestFirst(v, "f."), g.q("__rn"),
		keys, src, strings.Join(conds, " AND "), g.q("__rn"))
}

// Pull is a read of one view's source for materialization.
type Pull struct {
	View       View
	Start, End time.Time
	// Latest keeps only the latest row per entity.
	Latest bool
	// KeyOrder sorts the rows in the byte order of their serialized entity
	// keys (see keyOrder), when the view's key types allow it.
	KeyOrder bool
}

// PullSQL selects rows with event ts in [Start, End] and non-null keys:
// the keys (named Key.Name), the features (Feature.Output), event_timestamp
// and, when the source has one, created_timestamp, both as TIMESTAMPTZ.
// With Latest, only the row with the greatest (event ts, created ts) per
// entity is kept.
func PullSQL(d Dialect, p Pull, eventCol, createdCol string) string {
	g := &builder{d: d}
	v := p.View
	ts := d.ToTimestampTZ(g.q(v.Source.Timestamp))
	where := fmt.Sprintf("%s AND %s >= %s AND %s <= %s", g.keysNotNull(v), ts, d.TimestampLiteral(p.Start), ts, d.TimestampLiteral(p.End))
	var out []string
	for i, k := range v.Keys {
		out = append(out, g.q(kname(i))+" AS "+g.q(k.Name))
	}
	for i, f := range v.Features {
		out = append(out, g.q(fname(i))+" AS "+g.q(f.Output))
	}
	out = append(out, g.q("__ts")+" AS "+g.q(eventCol))
	if v.Source.Created != "" {
		out = append(out, g.q("__cts")+" AS "+g.q(createdCol))
	}
	if !p.Latest {
		g.printf("SELECT %s FROM (SELECT %s FROM %s AS s WHERE %s) AS t", strings.Join(out, ", "), g.srcSelect(v), v.Source.Relation, where)
	} else {
		// The window runs over the renamed columns of an inner query: plain
		// column references, which every engine's optimizer handles.
		g.printf("SELECT %s FROM (SELECT *, ROW_NUMBER() OVER (%sORDER BY %s) AS %s FROM (SELECT %s FROM %s AS s WHERE %s) AS r) AS t WHERE %s = 1",
			strings.Join(out, ", "), partitionBy(g.keyList(v, "")), g.latestFirst(v, ""), g.q("__rn"),
			g.srcSelect(v), v.Source.Relation, where, g.q("__rn"))
	}
	if p.KeyOrder {
		if order := g.keyOrder(v); order != nil {
			g.printf(" ORDER BY %s", strings.Join(order, ", "))
		}
	}
	return g.b.String()
}

// keyOrdered reports whether Pull.KeyOrder can sort the rows of a view
// with these keys: every key is an INT32, INT64 or STRING.
func keyOrdered(keys []Key) bool {
	for _, k := range keys {
		switch k.Type {
		case model.Int32, model.Int64, model.String:
		default:
			return false
		}
	}
	return len(keys) > 0
}

// keyOrder is the ORDER BY list that sorts a pull's rows (columns __kN)
// in the byte order of their serialized entity keys, or nil when a key's
// type is not covered (keyOrdered). Feast's v3 serialization writes the
// same header for every row of a view, then per join key in name order
// the value's type, its length as 4 little-endian bytes and its bytes:
// little-endian for integers, UTF-8 for strings. So the rows sort by, per
// key in name order, the bytes of an integer from the lowest up, or the
// bytes of a string's length from the lowest up and then its bytes.
func (g *builder) keyOrder(v View) []string {
	if !keyOrdered(v.Keys) {
		return nil
	}
	idx := make([]int, len(v.Keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(v.Keys[a].Name, v.Keys[b].Name) })
	var terms []string
	littleEndian := func(expr string, n int) {
		for i := range n {
			if i == 0 {
				terms = append(terms, "("+expr+" & 255)")
			} else {
				terms = append(terms, fmt.Sprintf("((%s >> %d) & 255)", expr, 8*i))
			}
		}
	}
	for _, i := range idx {
		col := g.q(kname(i))
		switch v.Keys[i].Type {
		case model.Int64:
			littleEndian("CAST("+col+" AS BIGINT)", 8)
		case model.Int32:
			// The low four bytes of the BIGINT are those of an INT32 in
			// range; one out of range fails in the converter as before,
			// not in this CAST.
			littleEndian("CAST("+col+" AS BIGINT)", 4)
		case model.String:
			b := g.d.UTF8Bytes(col)
			littleEndian("octet_length("+b+")", 4)
			terms = append(terms, b)
		}
	}
	return terms
}

// EntitylessSQL selects the entity rows of entity-less retrieval: the
// distinct (entity columns, event timestamp) pairs of every view's source
// with event ts in [start, end] (no lower bound when start is zero), ordered
// by timestamp then keys. Key.Name is the entity column each view fills;
// columns a view lacks are NULL. The result has the returned columns, then
// rowCol, the 1-based row number in that order.
func EntitylessSQL(d Dialect, views []View, start, end time.Time, tsCol, rowCol string) (string, []string) {
	g := &builder{d: d}
	var cols []string
	types := map[string]model.ValueType{}
	for _, v := range views {
		for _, k := range v.Keys {
			if _, ok := types[k.Name]; !ok {
				cols = append(cols, k.Name)
				types[k.Name] = k.Type
			}
		}
	}
	var parts []string
	for _, v := range views {
		have := map[string]string{}
		for _, k := range v.Keys {
			have[k.Name] = k.Source
		}
		var sel []string
		for _, c := range cols {
			if src, ok := have[c]; ok {
				sel = append(sel, g.q(src)+" AS "+g.q(c))
			} else {
				sel = append(sel, "CAST(NULL AS "+d.TypeName(types[c])+") AS "+g.q(c))
			}
		}
		ts := d.ToTimestampTZ(g.q(v.Source.Timestamp))
		sel = append(sel, ts+" AS "+g.q(tsCol))
		where := fmt.Sprintf("%s AND %s <= %s", g.keysNotNull(v), ts, d.TimestampLiteral(end))
		if !start.IsZero() {
			where += fmt.Sprintf(" AND %s >= %s", ts, d.TimestampLiteral(start))
		}
		parts = append(parts, fmt.Sprintf("SELECT %s FROM %s AS s WHERE %s", strings.Join(sel, ", "), v.Source.Relation, where))
	}
	order := []string{g.q(tsCol)}
	for _, c := range cols {
		order = append(order, g.q(c))
	}
	all := append(append([]string{}, cols...), tsCol)
	var qall []string
	for _, c := range all {
		qall = append(qall, g.q(c))
	}
	g.printf("SELECT %s, ROW_NUMBER() OVER (ORDER BY %s) AS %s FROM (SELECT DISTINCT %s FROM (%s) AS u) AS t ORDER BY %s",
		strings.Join(qall, ", "), strings.Join(order, ", "), g.q(rowCol), strings.Join(qall, ", "),
		strings.Join(parts, " UNION ALL "), strings.Join(order, ", "))
	return g.b.String(), all
}

// OutOfRangeSQL selects the first entity row, in RowID order, whose
// timestamp lies outside [min, max]: its 0-based position among the entity
// rows and the timestamp as text. It selects nothing when every timestamp
// is in range (NULLs included: they match no feature row).
func OutOfRangeSQL(d Dialect, e Entities, min, max time.Time) string {
	ts := d.ToTimestampTZ(d.QuoteIdent(e.Timestamp))
	return fmt.Sprintf("SELECT (SELECT count(*) FROM %[1]s WHERE %[2]s < x.r) AS n, x.t FROM "+
		"(SELECT %[2]s AS r, CAST(%[3]s AS VARCHAR) AS t FROM %[1]s WHERE %[4]s < %[5]s OR %[4]s > %[6]s ORDER BY %[2]s LIMIT 1) AS x",
		e.Relation, e.RowID, d.QuoteIdent(e.Timestamp), ts, d.TimestampLiteral(min), d.TimestampLiteral(max))
}
