package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// storedRow is one row of a view's table as SQL reads it back.
type storedRow struct {
	value   []byte
	text    sql.NullString
	event   int64
	created sql.NullInt64
}

// TestBulkWriteLayout writes batches whose shapes cross every boundary of
// the multi-row INSERT (full chunks, a shorter last chunk, one entity per
// statement for wide views, a feature list that changes between batches,
// names that need quoting, nulls, missing created timestamps, skipped
// older rows) and checks every stored row against values computed
// independently: proto.Marshal for the value bytes, Python's str() for
// value_text.
func TestBulkWriteLayout(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for _, tc := range []struct {
		name     string
		features int
		entities int
	}{
		{"narrow", 3, 2*chunkEntities(3) + 7},
		{"one_feature", 1, chunkEntities(1) + 1},
		{"wide", 2*writeChunk + 3, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feats := make([]string, tc.features)
			for i := range feats {
				feats[i] = fmt.Sprintf("f%d", i)
			}
			feats[0] = `it's "quoted"`
			project, views := onlinetest.Setup(t, s, 1, feats...)
			fv := views[0]
			base := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
			value := func(e, f, round int) *types.Value {
				switch (e + f + round) % 5 {
				case 0:
					return nil
				case 1:
					return onlinetest.Float64(float64(e)/8 + float64(f) + float64(round))
				case 2:
					return onlinetest.String(fmt.Sprintf("s%d'%d", e, round))
				case 3:
					return &types.Value{Val: &types.Value_FloatVal{FloatVal: float32(e) / 3}}
				default:
					return onlinetest.Int64(int64(e*1000 + f + round))
				}
			}
			rows := func(round int, ts func(e int) time.Time, subset []int) []online.Row {
				out := make([]online.Row, tc.entities)
				for e := range out {
					vals := make([]*types.Value, len(subset))
					for i, f := range subset {
						vals[i] = value(e, f, round)
					}
					out[e] = online.Row{EntityKey: onlinetest.DriverKey(t, int64(e)), Values: vals, EventTS: ts(e)}
					if e%2 == 0 {
						out[e].CreatedTS = ts(e).Add(time.Minute)
					}
				}
				return out
			}
			all := make([]int, len(feats))
			for i := range all {
				all[i] = i
			}
			// want[entity][feature] is the row the table must hold.
			want := make(map[string]map[string]storedRow)
			expect := func(rs []online.Row, subset []int) {
				for _, r := range rs {
					m := want[string(r.EntityKey)]
					if m == nil {
						m = make(map[string]storedRow)
						want[string(r.EntityKey)] = m
					}
					for i, f := range subset {
						v := r.Values[i]
						sr := storedRow{value: []byte{}, event: r.EventTS.Unix()}
						if v != nil {
							b, err := proto.Marshal(v)
							if err != nil {
								t.Fatal(err)
							}
							sr.value = b
						}
						if text, ok := pyText(v); ok {
							sr.text = sql.NullString{String: text, Valid: true}
						}
						if !r.CreatedTS.IsZero() {
							sr.created = sql.NullInt64{Int64: r.CreatedTS.Unix(), Valid: true}
						}
						m[feats[f]] = sr
					}
				}
			}
			write := func(rs []online.Row, subset []int) online.WriteStats {
				names := make([]string, len(subset))
				for i, f := range subset {
					names[i] = feats[f]
				}
				st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: names, Rows: rs})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}

			first := rows(0, func(int) time.Time { return base }, all)
			if st := write(first, all); st.Written != tc.entities || st.Skipped != 0 {
				t.Fatalf("first write: %+v", st)
			}
			expect(first, all)
			// Odd entities move forward, even ones are older and skipped.
			second := rows(1, func(e int) time.Time { return base.Add(time.Duration(e%2*2-1) * time.Hour) }, all)
			if st := write(second, all); st.Written != tc.entities/2 || st.Skipped != tc.entities-tc.entities/2 {
				t.Fatalf("second write: %+v", st)
			}
			var newer []online.Row
			for e, r := range second {
				if e%2 == 1 {
					newer = append(newer, r)
				}
			}
			expect(newer, all)
			// Another feature list on the same table: the last feature only.
			last := []int{len(feats) - 1}
			third := rows(2, func(int) time.Time { return base.Add(3 * time.Hour) }, last)
			if st := write(third, last); st.Written != tc.entities {
				t.Fatalf("third write: %+v", st)
			}
			expect(third, last)

			got := readTable(t, s, TableName(project, fv))
			count := 0
			for ek, m := range want {
				for name, w := range m {
					count++
					g, ok := got[ek+"\x00"+name]
					if !ok {
						t.Fatalf("no row for entity %x feature %q", ek, name)
					}
					if string(g.value) != string(w.value) || g.text != w.text || g.event != w.event || g.created != w.created {
						t.Fatalf("entity %x feature %q: stored %+v, want %+v", ek, name, g, w)
					}
				}
			}
			if len(got) != count {
				t.Fatalf("table holds %d rows, want %d", len(got), count)
			}
		})
	}
}

// pyText is value_text spelled out independently of online.ValueText.
func pyText(v *types.Value) (string, bool) {
	switch x := v.GetVal().(type) {
	case *types.Value_StringVal:
		return x.StringVal, true
	case *types.Value_Int64Val:
		return strconv.FormatInt(x.Int64Val, 10), true
	case *types.Value_DoubleVal:
		return pyRepr(x.DoubleVal), true
	case *types.Value_FloatVal:
		return pyRepr(float64(x.FloatVal)), true
	}
	return "", false
}

// pyRepr covers the values this test writes (finite, exponents in [-4, 16)).
func pyRepr(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	for _, c := range s {
		if c == '.' {
			return s
		}
	}
	return s + ".0"
}

func readTable(t *testing.T, s *Store, tbl string) map[string]storedRow {
	t.Helper()
	rs, err := s.db.Query(`SELECT entity_key, feature_name, value, value_text, event_ts + 0, created_ts + 0, typeof(event_ts) FROM ` + quote(tbl))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := make(map[string]storedRow)
	for rs.Next() {
		var ek []byte
		var name string
		var r storedRow
		var kind string
		if err := rs.Scan(&ek, &name, &r.value, &r.text, &r.event, &r.created, &kind); err != nil {
			t.Fatal(err)
		}
		if kind != "integer" {
			t.Fatalf("entity %x feature %q: event_ts is %s, want integer epoch seconds", ek, name, kind)
		}
		if r.value == nil {
			t.Fatalf("entity %x feature %q: value is NULL, want a blob", ek, name)
		}
		out[string(ek)+"\x00"+name] = r
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Reads cross the chunk boundary (readChunk keys per SELECT) with a last
// chunk of one key, read without its key column, both when that key was
// also asked for earlier and when it was not; a one-key read of a missing
// entity finds nothing.
func TestReadChunkOfOneKey(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, fv, feats := onlinetest.BenchView(t, s)
	rows := onlinetest.BenchRows(t, readChunk+2, time.Unix(1_700_000_000, 0))
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	keys := func(ids ...int) [][]byte {
		out := make([][]byte, 0, readChunk+len(ids))
		for i := range readChunk {
			out = append(out, rows[i].EntityKey)
		}
		for _, id := range ids {
			out = append(out, onlinetest.DriverKey(t, int64(id)))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		keys [][]byte
	}{
		{"repeated", keys(5)},
		{"new", keys(readChunk + 1)},
		{"missing", keys(10 * readChunk)},
		{"alone", [][]byte{rows[7].EntityKey}},
		{"alone_missing", [][]byte{onlinetest.DriverKey(t, 10*readChunk)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: feats[3:5], EntityKeys: tc.keys}})
			if err != nil {
				t.Fatal(err)
			}
			for e, k := range tc.keys {
				id := -1
				for i := range rows {
					if string(rows[i].EntityKey) == string(k) {
						id = i
					}
				}
				for f, v := range res[0][e] {
					if id < 0 {
						if v.Found {
							t.Fatalf("entity %d: found %v for a missing key", e, v.Value)
						}
						continue
					}
					want := rows[id].Values[3+f].GetDoubleVal()
					if !v.Found || v.Value.GetDoubleVal() != want {
						t.Fatalf("entity %d (id %d) feature %d: %+v, want %v", e, id, f, v, want)
					}
				}
			}
		})
	}
}

// Writes SQLite cannot express fail with what to do; a view without
// features stores nothing and counts its rows as written.
func TestWriteLimits(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, fv, _ := onlinetest.BenchView(t, s)
	row := func(nf int) []online.Row {
		vals := make([]*types.Value, nf)
		for i := range vals {
			vals[i] = onlinetest.Float64(1)
		}
		return []online.Row{{EntityKey: onlinetest.DriverKey(t, 1), Values: vals, EventTS: time.Unix(1_700_000_000, 0)}}
	}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"f0", "a\x00b"}, Rows: row(2)}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("feature name with NUL: %v", err)
	}
	wide := make([]string, (maxParams-3)/2+1)
	for i := range wide {
		wide[i] = fmt.Sprintf("w%d", i)
	}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: wide, Rows: row(len(wide))}); err == nil || !strings.Contains(err.Error(), "split the view") {
		t.Fatalf("%d features: %v", len(wide), err)
	}
	st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Rows: append(row(0), row(0)...)})
	if err != nil || st.Written != 1 || st.Skipped != 1 {
		t.Fatalf("no features: %+v %v, want 1 written and 1 skipped", st, err)
	}
}
