package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	// A generous read timeout: the suite's 20k-key reads run under -race on
	// a busy 2-core CI machine (the timeout itself is tested in outage_test).
	s, err := Open(context.Background(), config.SQLiteOnlineConfig{Path: "online.db", ReadTimeout: 30}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	onlinetest.Run(t, func(t *testing.T) online.Store { return openTemp(t) })
}

func TestOpenDefaultPath(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), config.SQLiteOnlineConfig{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := filepath.Join(dir, "data", "online.db"); s.Path() != want {
		t.Fatalf("path %s, want %s", s.Path(), want)
	}
}

// TestFeastLayout checks the stored rows column by column against Feast's
// SQLite layout (feast-formats.md §3.3).
func TestFeastLayout(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, views := onlinetest.Setup(t, s, 1, "conv_rate")
	fv := views[0]
	if got, want := s.InfraName(project, fv), "sqlite table "+project+"_"+fv.Name; got != want {
		t.Fatalf("InfraName = %q, want %q", got, want)
	}
	key := onlinetest.DriverKey(t, 1001)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	created := ts.Add(time.Hour)
	v := &types.Value{Val: &types.Value_FloatVal{FloatVal: 0.5}}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"conv_rate"},
		Rows: []online.Row{{EntityKey: key, Values: []*types.Value{v}, EventTS: ts, CreatedTS: created}}}); err != nil {
		t.Fatal(err)
	}
	// The same SQLite library as the store: a second library in this
	// process would not see the store's locks, and closing its last
	// connection would truncate the shared-memory file the store's
	// connections (its background checkpointer among them) have mapped.
	raw, err := sql.Open("sqlite3", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var (
		ek, value          []byte
		name               string
		text               sql.NullString
		vector             []byte
		eventTS, createdTS any
		kinds              string
	)
	// typeof: the driver would turn the declared timestamp columns into
	// times; the test checks what is stored.
	err = raw.QueryRow(`SELECT entity_key, feature_name, value, value_text, vector_value, event_ts + 0, created_ts + 0, typeof(event_ts) || ',' || typeof(created_ts) FROM "`+project+"_"+fv.Name+`"`).
		Scan(&ek, &name, &value, &text, &vector, &eventTS, &createdTS, &kinds)
	if err != nil {
		t.Fatal(err)
	}
	if string(ek) != string(key) || name != "conv_rate" {
		t.Fatalf("key %x name %q", ek, name)
	}
	if want := []byte{0x35, 0, 0, 0, 0x3f}; string(value) != string(want) {
		t.Fatalf("value %x, want %x", value, want)
	}
	if !text.Valid || text.String != "0.5" {
		t.Fatalf("value_text %v, want 0.5", text)
	}
	if vector != nil {
		t.Fatalf("vector_value %x, want NULL", vector)
	}
	if kinds != "integer,integer" || eventTS != ts.Unix() || createdTS != created.Unix() {
		t.Fatalf("event_ts %v (%T) created_ts %v, stored as %s, want integers %d and %d", eventTS, eventTS, createdTS, kinds, ts.Unix(), created.Unix())
	}
	res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: []string{"conv_rate"}, EntityKeys: [][]byte{key}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0][0][0]; !got.Found || !got.EventTS.Equal(ts.Truncate(time.Second)) {
		t.Fatalf("read %+v, want event ts in whole seconds", got)
	}
}

func TestRejectsDashInProject(t *testing.T) {
	s := openTemp(t)
	if err := s.Update(context.Background(), "my-project", nil, nil); err == nil {
		t.Fatal("want error for '-' in project name")
	}
}

func BenchmarkStore(b *testing.B) {
	onlinetest.Bench(b, func(b *testing.B) online.Store { return openTemp(b) })
}

// TestWriteAfterForeignDrop checks that a table dropped by another store
// (another process) is recreated on the next write.
func TestWriteAfterForeignDrop(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Open(ctx, config.SQLiteOnlineConfig{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := Open(ctx, config.SQLiteOnlineConfig{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	project, views := onlinetest.Setup(t, a, 1, "v")
	batch := online.WriteBatch{Project: project, View: views[0], Features: []string{"v"},
		Rows: []online.Row{{EntityKey: onlinetest.DriverKey(t, 1), EventTS: time.Unix(100, 0), Values: []*types.Value{onlinetest.Int64(1)}}}}
	if _, err := a.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := b.Teardown(ctx, project, views); err != nil {
		t.Fatal(err)
	}
	if st, err := a.Write(ctx, batch); err != nil || st.Written != 1 {
		t.Fatalf("write after foreign drop: %+v %v", st, err)
	}
}
