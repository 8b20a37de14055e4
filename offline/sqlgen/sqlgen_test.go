package sqlgen

import (
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
)

func sample(created string) Historical {
	return Historical{
		Entities: Entities{Relation: "ents", RowID: "rowid", Columns: []string{"driver_id", "event_timestamp"}, Timestamp: "event_timestamp"},
		Views: []View{{
			Source:   Source{Relation: "stats", Timestamp: "ts", Created: created},
			Keys:     []Key{{Source: "id", Name: "driver_id", Type: model.Int64}},
			Features: []Feature{{Source: "c", Output: "conv_rate"}},
			TTL:      90 * time.Minute,
		}},
	}
}

func TestStrategySelection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        Dialect
		filter   bool
		strategy Strategy
		asof     bool
		err      bool
	}{
		{"duckdb auto", DuckDBDialect{}, false, Auto, true, false},
		{"duckdb created filter", DuckDBDialect{}, true, Auto, false, false},
		{"duckdb window", DuckDBDialect{}, false, Window, false, false},
		{"postgres auto", PostgresDialect{}, false, Auto, false, false},
		{"postgres asof", PostgresDialect{}, false, AsOf, false, true},
		{"duckdb asof with filter", DuckDBDialect{}, true, AsOf, false, true},
	} {
		h := sample("cr")
		h.FilterByCreated, h.Strategy = tc.filter, tc.strategy
		q, err := HistoricalSQL(tc.d, h)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err == nil && strings.Contains(q, "ASOF") != tc.asof {
			t.Errorf("%s: ASOF in query = %v, want %v\n%s", tc.name, !tc.asof, tc.asof, q)
		}
	}
}

func TestHistoricalStatements(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        Dialect
		filter   bool
		strategy Strategy
		perView  bool
		err      bool
	}{
		{"duckdb auto", DuckDBDialect{}, false, Auto, true, false},
		{"duckdb created filter", DuckDBDialect{}, true, Auto, false, false},
		{"duckdb asof", DuckDBDialect{}, false, AsOf, false, false},
		{"postgres auto", PostgresDialect{}, false, Auto, false, false},
		{"postgres per view", PostgresDialect{}, false, PerView, false, true},
		{"duckdb per view with filter", DuckDBDialect{}, true, PerView, false, true},
	} {
		h := sample("cr")
		h.FilterByCreated, h.Strategy = tc.filter, tc.strategy
		st, err := HistoricalStatements(tc.d, h, "tmp", false)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if got := len(st.Setup) > 0; got != tc.perView {
			t.Errorf("%s: per-view = %v, want %v\n%s", tc.name, got, tc.perView, st)
		}
		if len(st.Setup) != len(st.Cleanup) {
			t.Errorf("%s: %d setup statements but %d cleanups", tc.name, len(st.Setup), len(st.Cleanup))
		}
		if tc.perView {
			if !strings.Contains(st.Query, `POSITIONAL JOIN "tmp_v0"`) || !strings.HasPrefix(st.Setup[0], `CREATE OR REPLACE TEMP TABLE "tmp_k0"`) ||
				!strings.HasPrefix(st.Setup[1], `CREATE OR REPLACE TEMP TABLE "tmp_v0"`) {
				t.Errorf("%s: unexpected statements\n%s", tc.name, st)
			}
			if strings.Contains(st.Query, "ORDER BY") {
				t.Errorf("%s: the positional query needs no ORDER BY\n%s", tc.name, st.Query)
			}
		}
		// schemaOnly gives the same statements without rows.
		empty, err := HistoricalStatements(tc.d, h, "tmp", true)
		if err != nil {
			t.Fatalf("%s: schema only: %v", tc.name, err)
		}
		if tc.perView && (!strings.HasSuffix(empty.Setup[0], " LIMIT 0") || !strings.HasSuffix(empty.Setup[1], " LIMIT 0") || empty.Query != st.Query+" LIMIT 0") {
			t.Errorf("%s: schema-only statements\n%s", tc.name, empty)
		}
		if !tc.perView && !strings.HasSuffix(empty.Query, " LIMIT 0") {
			t.Errorf("%s: schema-only query has no LIMIT 0\n%s", tc.name, empty.Query)
		}
	}
	if _, err := HistoricalSQL(DuckDBDialect{}, Historical{Entities: sample("").Entities, Views: sample("").Views, Strategy: PerView}); err == nil {
		t.Error("HistoricalSQL accepted the per-view strategy")
	}
}

// Views with the same entity key columns share one key map; each other
// set of key columns gets its own.
func TestPerViewKeyMaps(t *testing.T) {
	h := sample("cr")
	byCustomer := h.Views[0]
	byCustomer.Keys = []Key{{Source: "cid", Name: "customer_id", Type: model.String}, {Source: "id", Name: "driver_id", Type: model.Int64}}
	h.Views = append(h.Views, h.Views[0], byCustomer)
	st, err := HistoricalStatements(DuckDBDialect{}, h, "tmp", false)
	if err != nil {
		t.Fatal(err)
	}
	var maps []string
	for _, s := range st.Setup {
		if strings.HasPrefix(s, `CREATE OR REPLACE TEMP TABLE "tmp_k`) {
			maps = append(maps, s)
		}
	}
	if len(maps) != 2 || len(st.Setup) != 5 || len(st.Cleanup) != 5 {
		t.Fatalf("want 2 key maps in 5 setup statements:\n%s", st)
	}
	if !strings.Contains(maps[1], `SELECT DISTINCT "customer_id", "driver_id" FROM ents WHERE "customer_id" IS NOT NULL AND "driver_id" IS NOT NULL`) {
		t.Errorf("two-column key map:\n%s", maps[1])
	}
	if !strings.Contains(st.Setup[4], `JOIN "tmp_k1" AS m ON k."__k0" = m."customer_id" AND k."__k1" = m."driver_id"`) {
		t.Errorf("view 3 does not join its source to its key map:\n%s", st.Setup[4])
	}
}

func TestSQLFragments(t *testing.T) {
	d := PostgresDialect{}
	if got, want := d.MinusDuration("x", 90*time.Minute+1500*time.Millisecond), "(x - INTERVAL '5401.500000 seconds')"; got != want {
		t.Errorf("MinusDuration = %s, want %s", got, want)
	}
	berlin := time.FixedZone("CET", 3600)
	if got, want := d.TimestampLiteral(time.Date(2024, 1, 1, 1, 0, 0, 5000, berlin)), "CAST('2024-01-01 00:00:00.000005+00' AS TIMESTAMPTZ)"; got != want {
		t.Errorf("TimestampLiteral = %s, want %s", got, want)
	}
	if got, want := d.QuoteIdent(`a"b`), `"a""b"`; got != want {
		t.Errorf("QuoteIdent = %s, want %s", got, want)
	}
	// The filter on created timestamps keeps rows without one.
	h := sample("cr")
	h.FilterByCreated = true
	q, err := HistoricalSQL(d, h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q, `(f."__cts" IS NULL OR f."__cts" <= k."__ets")`) {
		t.Errorf("created filter missing:\n%s", q)
	}
	// Incomplete specs are rejected rather than rendered.
	h.Entities.Timestamp = ""
	if _, err := HistoricalSQL(d, h); err == nil {
		t.Error("missing entity timestamp accepted")
	}
}

func TestEntitylessSQL(t *testing.T) {
	views := []View{
		{Source: Source{Relation: "a", Timestamp: "ts"}, Keys: []Key{{Source: "id", Name: "driver_id", Type: model.Int64}}},
		{Source: Source{Relation: "b", Timestamp: "ts"}, Keys: []Key{{Source: "cid", Name: "customer_id", Type: model.String}}},
	}
	end := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	q, cols := EntitylessSQL(DuckDBDialect{}, views, time.Time{}, end, "event_timestamp", "__row")
	if got := strings.Join(cols, ","); got != "driver_id,customer_id,event_timestamp" {
		t.Errorf("columns = %s", got)
	}
	for _, want := range []string{`CAST(NULL AS VARCHAR) AS "customer_id"`, `CAST(NULL AS BIGINT) AS "driver_id"`, "UNION ALL"} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %s:\n%s", want, q)
		}
	}
	if strings.Contains(q, ">= CAST(") {
		t.Errorf("zero start must not bound the range:\n%s", q)
	}
}

// TestPullKeyOrder: KeyOrder sorts by the serialized key's bytes, key by
// key in name order (b_str before z_int whatever the view's order), and
// leaves out the ORDER BY for key types it does not cover and for views
// without keys; without KeyOrder there is none.
func TestPullKeyOrder(t *testing.T) {
	view := func(keys ...Key) View {
		return View{Source: Source{Relation: "src", Timestamp: "ts"}, Keys: keys, Features: []Feature{{Source: "f", Output: "f"}}}
	}
	z := Key{Source: "z", Name: "z_int", Type: model.Int64}
	b := Key{Source: "b", Name: "b_str", Type: model.String}
	for _, d := range []Dialect{DuckDBDialect{}, PostgresDialect{}} {
		q := PullSQL(d, Pull{View: view(z, b), Latest: true, KeyOrder: true}, "event_timestamp", "created")
		_, order, ok := strings.Cut(q, " ORDER BY ")
		for ok && strings.Contains(order, " ORDER BY ") {
			_, order, ok = strings.Cut(order, " ORDER BY ")
		}
		bytes := d.UTF8Bytes(`"__k1"`)
		want := "(octet_length(" + bytes + ") & 255), ((octet_length(" + bytes + ") >> 8) & 255), ((octet_length(" + bytes + ") >> 16) & 255), ((octet_length(" + bytes + ") >> 24) & 255), " +
			bytes + `, (CAST("__k0" AS BIGINT) & 255)`
		if !ok || !strings.HasPrefix(order, want) || !strings.HasSuffix(order, `((CAST("__k0" AS BIGINT) >> 56) & 255)`) {
			t.Errorf("%T: ORDER BY %s\nwant it to start with %s", d, order, want)
		}
		for name, p := range map[string]Pull{
			"bytes key":    {View: view(z, Key{Source: "k", Name: "k", Type: model.Bytes}), Latest: true, KeyOrder: true},
			"no keys":      {View: view(), Latest: true, KeyOrder: true},
			"not asked":    {View: view(z), Latest: true},
			"all, ordered": {View: view(z), KeyOrder: true},
		} {
			q := PullSQL(d, p, "event_timestamp", "created")
			if got := strings.Count(q, "ORDER BY") - strings.Count(q, "OVER ("); got != 0 && name != "all, ordered" {
				t.Errorf("%T %s: %d ORDER BY outside the window:\n%s", d, name, got, q)
			}
			if name == "all, ordered" && !strings.Contains(q, `ORDER BY (CAST("__k0" AS BIGINT) & 255)`) {
				t.Errorf("%T %s: no key order:\n%s", d, name, q)
			}
		}
	}
}
