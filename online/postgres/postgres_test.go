package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// openStore opens a store on a schema unique to the test and drops the
// schema afterwards.
func openStore(t testing.TB) *Store {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	schema := testenv.UniqueName("online")
	// A generous read timeout: the suite's 20k-key reads run under -race on
	// a busy 2-core CI machine (the default is tested with the outages).
	s, err := Open(context.Background(), config.PostgresConfig{DSN: dsn, DBSchema: schema, ReadTimeout: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := s.pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		s.Close()
	})
	return s
}

func TestConformance(t *testing.T) {
	onlinetest.Run(t, func(t *testing.T) online.Store { return openStore(t) })
}

func TestFeastLayout(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	project, views := onlinetest.Setup(t, s, 1, "conv_rate")
	fv := views[0]
	if got, want := s.InfraName(project, fv), "postgres table "+project+"_"+fv.Name; got != want {
		t.Fatalf("InfraName = %q, want %q", got, want)
	}
	key := onlinetest.DriverKey(t, 1001)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	v := &types.Value{Val: &types.Value_FloatVal{FloatVal: 0.5}}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"conv_rate"},
		Rows: []online.Row{{EntityKey: key, Values: []*types.Value{v}, EventTS: ts}}}); err != nil {
		t.Fatal(err)
	}
	var (
		ek, value []byte
		name      string
		text      *string
		vector    []byte
		eventTS   time.Time
		createdTS *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT entity_key, feature_name, value, value_text, vector_value, event_ts, created_ts FROM `+s.qualified(project, fv)).
		Scan(&ek, &name, &value, &text, &vector, &eventTS, &createdTS)
	if err != nil {
		t.Fatal(err)
	}
	if string(ek) != string(key) || name != "conv_rate" || string(value) != "\x35\x00\x00\x00\x3f" {
		t.Fatalf("row %x %q %x", ek, name, value)
	}
	if text == nil || *text != "0.5" || vector != nil || createdTS != nil || !eventTS.Equal(ts) {
		t.Fatalf("value_text %v vector %x created %v event %v", text, vector, createdTS, eventTS)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
		s.schema, project+"_"+fv.Name).Scan(&n); err != nil || n != 7 {
		t.Fatalf("table has %d columns (%v), want 7", n, err)
	}
}

func TestBuildDSN(t *testing.T) {
	tests := []struct {
		cfg  config.PostgresConfig
		want string
	}{
		{config.PostgresConfig{Host: "127.0.0.1", Database: "test", User: "postgres"}, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{config.PostgresConfig{Host: "db.example.com", Port: 6543, Database: "f", User: "u", Password: "p@ss/word"}, "postgres://u:p%40ss%2Fword@db.example.com:6543/f?sslmode=require"},
		{config.PostgresConfig{Host: "::1", Database: "d", SSLMode: "verify-full", SSLRootCertPath: "/ca.pem"}, "postgres://[::1]:5432/d?sslmode=verify-full&sslrootcert=%2Fca.pem"},
		{config.PostgresConfig{Host: "localhost", Database: "d"}, "postgres://localhost:5432/d?sslmode=disable"},
	}
	for _, tt := range tests {
		if got := BuildDSN(tt.cfg); got != tt.want {
			t.Errorf("BuildDSN(%+v) = %s, want %s", tt.cfg, got, tt.want)
		}
	}
}

// TestOpenFromFields connects with the field form of the config.
func TestOpenFromFields(t *testing.T) {
	testenv.PostgresDSN(t)
	s, err := Open(context.Background(), config.PostgresConfig{Host: "127.0.0.1", Database: "test", User: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestReadMissingTable(t *testing.T) {
	s := openStore(t)
	project := testenv.UniqueName("proj")
	missing := onlinetest.View(testenv.UniqueName("fv"), model.Field{Name: "v", Type: model.Int64})
	_, views := onlinetest.Setup(t, s, 1, "v")
	key := onlinetest.DriverKey(t, 1)
	if _, err := s.Write(context.Background(), online.WriteBatch{Project: project, View: views[0], Features: []string{"v"},
		Rows: []online.Row{{EntityKey: key, EventTS: time.Unix(100, 0), Values: []*types.Value{onlinetest.Int64(1)}}}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Read(context.Background(), []online.ReadRequest{
		{Project: project, View: missing, Features: []string{"v"}, EntityKeys: [][]byte{key}},
		{Project: project, View: views[0], Features: []string{"v"}, EntityKeys: [][]byte{key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0][0][0].Found || !res[1][0][0].Found {
		t.Fatalf("got %+v / %+v, want missing table not found and the other found", res[0][0][0], res[1][0][0])
	}
	s.Teardown(context.Background(), project, views)
}

func BenchmarkStore(b *testing.B) {
	onlinetest.Bench(b, func(b *testing.B) online.Store { return openStore(b) })
}

// TestWriteAfterForeignDrop checks that a table dropped by another store
// (another process) is recreated on the next write.
func TestWriteAfterForeignDrop(t *testing.T) {
	ctx := context.Background()
	a := openStore(t)
	b, err := Open(ctx, config.PostgresConfig{DSN: testenv.PostgresDSN(t), DBSchema: a.schema})
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

// BenchmarkBulkLoad: see onlinetest.BulkLoad.
func BenchmarkBulkLoad(b *testing.B) {
	onlinetest.BulkLoad(b, func(b *testing.B) online.Store { return openStore(b) })
}
