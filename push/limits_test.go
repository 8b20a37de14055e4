package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/push"
)

// arrowTimestamps is a one-column record of event timestamps of the given
// Arrow type, for the range checks of Arrow input.
func arrowRecords(t *testing.T, tsType arrow.DataType, ts []int64) push.Records {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: tsType},
		{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float32},
		{Name: "acc_rate", Type: arrow.PrimitiveTypes.Float32},
		{Name: "avg_daily_trips", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, v := range ts {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		switch tb := b.Field(1).(type) {
		case *array.TimestampBuilder:
			tb.Append(arrow.Timestamp(v))
		case *array.Int64Builder:
			tb.Append(v)
		}
		b.Field(2).(*array.Float32Builder).Append(0.5)
		b.Field(3).(*array.Float32Builder).Append(0.5)
		b.Field(4).(*array.Int64Builder).Append(1)
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return push.Records{Arrow: rec}
}

// TestPushTimestampRange: event and created timestamps outside the
// protobuf Timestamp range (the epoch milliseconds that used to be stored
// as year 58897 and then hid every later push of the entity, and values
// that wrapped int64) are rejected from every kind of input, naming the
// column and the row, and nothing is written.
func TestPushTimestampRange(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	ms := t0.UnixMilli()
	cols := func(col string, ts ...any) push.Records {
		c := goodColumns()
		c[col] = ts
		return push.Records{Columns: c}
	}
	jsonRecs := func(ts string) push.Records {
		r, err := push.RecordsFromJSON(json.RawMessage(`{"driver_id":[1001,1002],"event_timestamp":` + ts +
			`,"conv_rate":[0.5,0.5],"acc_rate":[1,1],"avg_daily_trips":[1,1]}`))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name    string
		recs    push.Records
		column  string
		contain string
	}{
		{"go epoch ms", cols("event_timestamp", t0, ms), "event_timestamp", "epoch milliseconds?"},
		{"go float 1e19", cols("event_timestamp", t0, 1e19), "event_timestamp", "1e+19 (epoch seconds) is outside 0001-01-01..9999-12-31"},
		{"go max int64", cols("event_timestamp", t0, int64(9223372036854775807)), "event_timestamp", "9223372036854775807"},
		{"go year 58897", cols("event_timestamp", t0, time.UnixMilli(ms*1000).UTC()), "event_timestamp", "epoch milliseconds?"},
		{"go created", cols("created", t0, ms), "created", "is outside"},
		{"value", cols("event_timestamp", t0, &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: ms}}), "event_timestamp", "epoch milliseconds?"},
		{"json epoch ms", jsonRecs(`[1714564800, 1714564800123]`), "event_timestamp", "epoch milliseconds?"},
		{"json 1e19", jsonRecs(`["2024-05-01T12:00:00Z", 1e19]`), "event_timestamp", "is outside"},
		{"json max int64", jsonRecs(`[1714564800, 9223372036854775807]`), "event_timestamp", "9223372036854775807"},
		{"arrow int64 ms", arrowRecords(t, arrow.PrimitiveTypes.Int64, []int64{t0.Unix(), ms}), "event_timestamp", "epoch milliseconds?"},
		{"arrow seconds", arrowRecords(t, &arrow.TimestampType{Unit: arrow.Second}, []int64{t0.Unix(), ms}), "event_timestamp", "epoch milliseconds?"},
		{"arrow ms", arrowRecords(t, &arrow.TimestampType{Unit: arrow.Millisecond}, []int64{ms, ms * 1000}), "event_timestamp", "is outside"},
	}
	for _, mode := range []push.Mode{push.Online, push.Offline} {
		for _, c := range cases {
			t.Run(mode.String()+"/"+c.name, func(t *testing.T) {
				_, err := fs.Push(ctx, "stats_push", c.recs, mode)
				var ipe *push.InvalidError
				if !errors.As(err, &ipe) {
					t.Fatalf("want *push.InvalidError, got %T %v", err, err)
				}
				if ipe.Column != c.column || ipe.Row != 1 || !strings.Contains(err.Error(), "column "+c.column+": row 1: timestamp ") || !strings.Contains(err.Error(), c.contain) {
					t.Fatalf("error %q (column %q row %d): want column %s row 1 and %q", err, ipe.Column, ipe.Row, c.column, c.contain)
				}
			})
		}
	}
	if _, err := fs.WriteToOnlineStore(ctx, "driver_stats", cols("event_timestamp", t0, ms)); err == nil || !strings.Contains(err.Error(), "epoch milliseconds?") {
		t.Fatalf("write to online store: %v", err)
	}
	if files := pushedFiles(t, dir); len(files) != 0 {
		t.Fatalf("rejected pushes wrote %v", files)
	}
	for _, v := range readOnline(t, fs, statsView(t, fs), 1, 2, 1001, 1002) {
		if v[0].Found {
			t.Fatalf("rejected pushes wrote online: %v", v)
		}
	}
	// Times near the bounds are accepted (0001-01-01T00:00:00Z itself is
	// time.Time{}, which Columns input takes as null).
	p, _ := push.New(fs, push.Options{MaxFutureEventTime: -1})
	bounds := cols("event_timestamp", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: bounds, Mode: push.OnlineAndOffline}); err != nil {
		t.Fatalf("year 1: %v", err)
	}
}

// TestPushFutureEventTime: an online write dated further ahead than the
// guard is rejected (it would hide later rows of its entity), naming the
// row; offline-only pushes are not guarded; a negative option disables it.
func TestPushFutureEventTime(t *testing.T) {
	fs, _ := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	now := time.Now().UTC()
	recs := func() push.Records {
		c := goodColumns()
		c["event_timestamp"] = []any{now, now.Add(25 * time.Hour)}
		return push.Records{Columns: c}
	}
	for _, mode := range []push.Mode{push.Online, push.OnlineAndOffline} {
		_, err := fs.Push(ctx, "stats_push", recs(), mode)
		var ipe *push.InvalidError
		if !errors.As(err, &ipe) || ipe.Row != 1 || ipe.Column != "event_timestamp" || !strings.Contains(err.Error(), "ahead of the server clock") || !strings.Contains(err.Error(), "24h0m0s") {
			t.Fatalf("%s: %v", mode, err)
		}
	}
	if _, err := fs.WriteToOnlineStore(ctx, "driver_stats", recs()); err == nil || !strings.Contains(err.Error(), "ahead of the server clock") {
		t.Fatalf("write to online store: %v", err)
	}
	if _, err := fs.Push(ctx, "stats_push", recs(), push.Offline); err != nil {
		t.Fatalf("offline push of future rows: %v", err)
	}
	p, err := push.New(fs, push.Options{MaxFutureEventTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := goodColumns()
	c["event_timestamp"] = []any{now, now.Add(2 * time.Hour)}
	if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: push.Records{Columns: c}}); err == nil || !strings.Contains(err.Error(), "1h0m0s ahead") {
		t.Fatalf("1h guard: %v", err)
	}
	p, _ = push.New(fs, push.Options{MaxFutureEventTime: -1})
	if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: recs()}); err != nil {
		t.Fatalf("guard disabled: %v", err)
	}
}

// TestPushRowLimit: a push over the row limit fails with ErrTooManyRows
// before anything is decoded or written.
func TestPushRowLimit(t *testing.T) {
	fs, _ := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	p, err := push.New(fs, push.Options{MaxRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := push.RecordsFromJSON(json.RawMessage(`{"driver_id":[1001,1002],"event_timestamp":[1714564800,1714564800],"conv_rate":[0.5,0.5],"acc_rate":[1,1],"avg_daily_trips":[1,1]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []push.Records{recs, {Columns: goodColumns()}} {
		if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: r}); !errors.Is(err, push.ErrTooManyRows) || !strings.Contains(err.Error(), "2 rows, the limit is 1") {
			t.Fatalf("push: %v", err)
		}
		if _, err := p.WriteToOnlineStore(ctx, push.WriteRequest{View: "driver_stats", Records: r}); !errors.Is(err, push.ErrTooManyRows) {
			t.Fatalf("write: %v", err)
		}
	}
	if v := readOnline(t, fs, statsView(t, fs), 1001); v[0][0].Found {
		t.Fatal("rejected push was written")
	}
	p, _ = push.New(fs, push.Options{MaxRows: 2})
	if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: recs}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}

// TestRecordsFromJSONDuplicateColumn: a df naming a column twice used to
// keep the last silently.
func TestRecordsFromJSONDuplicateColumn(t *testing.T) {
	_, err := push.RecordsFromJSON(json.RawMessage(`{"driver_id":[1],"conv_rate":[0.5],"driver_id":[2]}`))
	var ipe *push.InvalidError
	if !errors.As(err, &ipe) || ipe.Column != "driver_id" || !strings.Contains(err.Error(), "column driver_id: named twice in df") {
		t.Fatalf("got %v", err)
	}
	for _, bad := range []string{`null`, `[1]`, `{"a":[1],}`} {
		if _, err := push.RecordsFromJSON(json.RawMessage(bad)); !errors.As(err, &ipe) || !strings.Contains(err.Error(), "df must be a JSON object") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
