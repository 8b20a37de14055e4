package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// TestReadRawLikeRead: ReadRaw lends, for every cell, what Read decodes:
// the same found flags, the same event time per value (rows of one entity
// may carry different ones: a feature updated by another writer), and
// bytes that decode to Read's value, also across a repeated key, a missing
// entity, two requests and a one-key chunk. A value that does not decode
// fails Read and is lent unchanged by ReadRaw.
func TestReadRawLikeRead(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, views := onlinetest.Setup(t, s, 1)
	fv := views[0]
	fv.Features = []model.Field{{Name: "a", Type: model.Double}, {Name: "b", Type: model.String}, {Name: "c", Type: model.Int64}}
	feats := []string{"a", "b", "c"}
	base := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	var rows []online.Row
	for i := range 40 {
		vals := []*types.Value{onlinetest.Float64(float64(i) / 4), onlinetest.String(strings.Repeat("x", i)), onlinetest.Int64(int64(-i))}
		if i%5 == 0 {
			vals[i%3] = nil
		}
		rows = append(rows, online.Row{EntityKey: onlinetest.DriverKey(t, int64(i)), Values: vals, EventTS: base.Add(time.Duration(i) * time.Minute)})
	}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	// Feature b of entity 3 written later by another writer.
	if _, err := s.db.Exec(`UPDATE `+quote(TableName(project, fv))+` SET event_ts = event_ts + 86400 WHERE feature_name = 'b' AND entity_key = ?`, rows[3].EntityKey); err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{rows[3].EntityKey, onlinetest.DriverKey(t, 999), rows[0].EntityKey, rows[3].EntityKey}
	for i := 5; i < 40; i++ {
		keys = append(keys, rows[i].EntityKey)
	}
	reqs := []online.ReadRequest{
		{Project: project, View: fv, Features: []string{"c", "b", "a"}, EntityKeys: keys},
		{Project: project, View: fv, Features: []string{"b"}, EntityKeys: keys[:1]},
		{Project: project, View: fv, Features: []string{"a"}},
	}
	compare := func() {
		t.Helper()
		want, err := s.Read(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		err = s.ReadRaw(ctx, reqs, func(res online.RawResult) error {
			for r := range reqs {
				for e := range reqs[r].EntityKeys {
					for f, w := range want[r][e] {
						b, found, err := res.Value(r, e, f)
						if err != nil {
							t.Fatal(err)
						}
						ts := res.EventTS(r, e, f)
						if found != w.Found || !ts.Equal(w.EventTS) || ts.IsZero() != w.EventTS.IsZero() {
							t.Fatalf("request %d entity %d feature %d: ReadRaw found %v at %v, Read %v at %v", r, e, f, found, ts, w.Found, w.EventTS)
						}
						if !found {
							continue
						}
						v := &types.Value{}
						if err := online.UnmarshalValue(b, v); err != nil {
							t.Fatalf("request %d entity %d feature %d: lent bytes % x do not decode: %v", r, e, f, b, err)
						}
						if v.String() != w.Value.String() {
							t.Fatalf("request %d entity %d feature %d: ReadRaw %v, Read %v", r, e, f, v, w.Value)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	compare()
	if got := func() time.Time {
		var ts time.Time
		s.ReadRaw(ctx, reqs[1:2], func(res online.RawResult) error { ts = res.EventTS(0, 0, 0); return nil })
		return ts
	}(); !got.Equal(base.Add(3*time.Minute + 24*time.Hour)) {
		t.Fatalf("entity 3 feature b lent at %v, want its own later time", got)
	}

	// A value that does not decode: Read fails, ReadRaw lends its bytes.
	if _, err := s.db.Exec(`UPDATE `+quote(TableName(project, fv))+` SET value = x'2d0000' WHERE feature_name = 'a' AND entity_key = ?`, rows[6].EntityKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, reqs); err == nil || !strings.Contains(err.Error(), "decode a") {
		t.Fatalf("Read of an undecodable value: %v", err)
	}
	var lent []byte
	err := s.ReadRaw(ctx, reqs[:1], func(res online.RawResult) error {
		b, _, err := res.Value(0, 6-5+4, 2)
		lent = append(lent, b...)
		return err
	})
	if err != nil || string(lent) != "\x2d\x00\x00" {
		t.Fatalf("ReadRaw of an undecodable value: % x, %v", lent, err)
	}
}
