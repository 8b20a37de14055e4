package sqlite

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// TestReadsNamedAndWholeEntities: every subset of a view's features, in
// both orders, reads the same values, whether the SELECT names the
// features (fewer than half of the view's) or reads whole entities and
// drops the rest; rows of a feature the view has since dropped, and of a
// feature not asked for, never show up, for one key and for several.
func TestReadsNamedAndWholeEntities(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, views := onlinetest.Setup(t, s, 1)
	fv := views[0]
	all := []string{"a", "b", "c", "d", "gone"}
	for _, f := range all {
		fv.Features = append(fv.Features, model.Field{Name: f, Type: model.Double})
	}
	ts := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	var rows []online.Row
	for e := range 6 {
		var vals []*types.Value
		for f := range all {
			vals = append(vals, onlinetest.Float64(float64(10*e+f)))
		}
		rows = append(rows, online.Row{EntityKey: onlinetest.DriverKey(t, int64(e)), Values: vals, EventTS: ts})
	}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: all, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	// The view drops "gone"; its rows stay in the table, as in Feast.
	fv.Features = fv.Features[:4]
	feats := all[:4]
	named, whole := 0, 0
	for mask := 1; mask < 1<<len(feats); mask++ {
		var asked []string
		for i, f := range feats {
			if mask&(1<<i) != 0 {
				asked = append(asked, f)
			}
		}
		if wholeEntities(len(asked), fv) {
			whole++
		} else {
			named++
		}
		back := slices.Clone(asked)
		slices.Reverse(back)
		for _, order := range [][]string{asked, back} {
			for _, keys := range [][][]byte{{rows[2].EntityKey}, {rows[4].EntityKey, onlinetest.DriverKey(t, 99), rows[1].EntityKey, rows[4].EntityKey}} {
				res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: order, EntityKeys: keys}})
				if err != nil {
					t.Fatal(err)
				}
				for ki, key := range keys {
					e := -1
					for i := range rows {
						if string(rows[i].EntityKey) == string(key) {
							e = i
						}
					}
					for fi, f := range order {
						got := res[0][ki][fi]
						if e < 0 {
							if got.Found {
								t.Fatalf("%v: key %d: %s found for a missing entity", order, ki, f)
							}
							continue
						}
						want := float64(10*e + slices.Index(all, f))
						if !got.Found || got.Value.GetDoubleVal() != want {
							t.Fatalf("%v: entity %d: %s = %v (found %v), want %v", order, e, f, got.Value, got.Found, want)
						}
					}
				}
			}
		}
	}
	if named == 0 || whole == 0 {
		t.Fatalf("%d named and %d whole-entity reads: both forms must run", named, whole)
	}
}

// TestReadFeatureNameStoredTwice: a table another writer filled with a
// feature name both as TEXT and as a BLOB (two rows SQLite keeps apart)
// reads without a panic, whole entity or not, and answers the row found.
func TestReadFeatureNameStoredTwice(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, views := onlinetest.Setup(t, s, 1, "a", "b")
	fv := views[0]
	key := onlinetest.DriverKey(t, 1)
	ts := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"a", "b"},
		Rows: []online.Row{{EntityKey: key, Values: []*types.Value{onlinetest.Float64(1), onlinetest.Float64(2)}, EventTS: ts}}}); err != nil {
		t.Fatal(err)
	}
	blob, err := online.AppendValue(nil, onlinetest.Float64(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO `+quote(TableName(project, fv))+` (entity_key, feature_name, value, event_ts) VALUES (?, CAST('a' AS BLOB), ?, ?)`, key, blob, ts.Unix()); err != nil {
		t.Fatal(err)
	}
	for _, feats := range [][]string{{"a", "b"}, {"a"}} {
		res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: feats, EntityKeys: [][]byte{key}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := res[0][0][0]; !got.Found || (got.Value.GetDoubleVal() != 1 && got.Value.GetDoubleVal() != 3) {
			t.Fatalf("%v: a = %v (found %v)", feats, got.Value, got.Found)
		}
	}
}
