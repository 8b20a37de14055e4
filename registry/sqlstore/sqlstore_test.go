package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/registry/registrytest"
)

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			u := b.url(t)
			registrytest.Run(t, func(t *testing.T) registry.Store {
				s, err := Open(context.Background(), u)
				if err != nil {
					t.Fatalf("open %s: %v", u, err)
				}
				return s
			})
		})
	}
}

// goldenView has no map fields, so proto.Marshal is deterministic and the
// row bytes can be pinned.
func goldenView() *core.FeatureView {
	at := timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	return &core.FeatureView{
		Spec: &core.FeatureViewSpec{
			Name: "driver_hourly_stats", Project: "golden",
			Entities: []string{"driver"},
			Features: []*core.FeatureSpecV2{
				{Name: "conv_rate", ValueType: types.ValueType_FLOAT},
				{Name: "avg_daily_trips", ValueType: types.ValueType_INT64},
			},
			EntityColumns: []*core.FeatureSpecV2{{Name: "driver_id", ValueType: types.ValueType_INT64}},
			Ttl:           durationpb.New(24 * time.Hour),
			BatchSource: &core.DataSource{
				Name: "driver_stats_source", Project: "golden", Type: core.DataSource_BATCH_FILE,
				TimestampField: "event_timestamp",
				Options:        &core.DataSource_FileOptions_{FileOptions: &core.DataSource_FileOptions{Uri: "data/driver_stats.parquet"}},
			},
			Online: true,
		},
		Meta: &core.FeatureViewMeta{CreatedTimestamp: at, LastUpdatedTimestamp: at},
	}
}

// goldenViewHex is the serialized goldenView: what Feast's Python
// FeatureView.from_proto(FeatureViewProto.FromString(row)) reads. Checked
// with `xxd -r -p | protoc --decode_raw` against the field numbers of
// feast-formats.md §1.3 and §1.7.
const goldenViewHex = "" +
	"0ab1010a136472697665725f686f75726c795f73746174731206676f6c64656e1a06647269766572220d0a09636f6e76" +
	"5f72617465100622130a0f6176675f6461696c795f7472697073100432040880a3053a4f08011a0f6576656e745f7469" +
	"6d657374616d70a201136472697665725f73746174735f736f75726365aa0106676f6c64656e5a1b1219646174612f64" +
	"72697665725f73746174732e706172717565744001620d0a096472697665725f6964100412100a0608a584d8bb061206" +
	"08a584d8bb06"

func TestGoldenFeatureViewRow(t *testing.T) {
	now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.url(t), Options{Now: func() time.Time { return now }})
			ctx := context.Background()
			if err := s.Update(ctx, "golden", func(r *core.Registry) error {
				r.FeatureViews = append(r.FeatureViews, goldenView())
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var (
				row     []byte
				updated int64
			)
			err := s.db.QueryRowContext(ctx, s.dialect.rebind(
				"SELECT feature_view_proto, last_updated_timestamp FROM feature_views WHERE feature_view_name = ? AND project_id = ?"),
				"driver_hourly_stats", "golden").Scan(&row, &updated)
			if err != nil {
				t.Fatalf("read feature_views row: %v", err)
			}
			want, err := proto.Marshal(goldenView())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(row, want) {
				t.Fatalf("feature_view_proto =\n%x\nwant proto.Marshal(view) =\n%x", row, want)
			}
			if got := hex.EncodeToString(row); got != goldenViewHex {
				t.Fatalf("feature_view_proto = %s\nwant golden %s", got, goldenViewHex)
			}
			if updated != now.Unix() {
				t.Errorf("last_updated_timestamp = %d, want %d", updated, now.Unix())
			}

			// The projects row Python's proto() iterates over.
			var (
				projName  string
				projBytes []byte
			)
			if err := s.db.QueryRowContext(ctx, s.dialect.rebind(
				"SELECT project_name, project_proto, last_updated_timestamp FROM projects WHERE project_id = ?"), "golden").
				Scan(&projName, &projBytes, &updated); err != nil {
				t.Fatalf("read projects row: %v", err)
			}
			var p core.Project
			if err := proto.Unmarshal(projBytes, &p); err != nil {
				t.Fatal(err)
			}
			if projName != "golden" || p.GetSpec().GetName() != "golden" || !p.GetMeta().GetLastUpdatedTimestamp().AsTime().Equal(now) || updated != now.Unix() {
				t.Errorf("projects row = %q %v %d", projName, &p, updated)
			}

			meta := map[string]string{}
			rows, err := s.db.QueryContext(ctx, s.dialect.rebind("SELECT metadata_key, metadata_value FROM feast_metadata WHERE project_id = ?"), "golden")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k, v string
				if err := rows.Scan(&k, &v); err != nil {
					t.Fatal(err)
				}
				meta[k] = v
			}
			rows.Close()
			if meta["last_updated_timestamp"] != strconv.FormatInt(now.Unix(), 10) || len(meta["project_uuid"]) != 36 {
				t.Errorf("feast_metadata = %v", meta)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			u := b.url(t)
			s := openStore(t, u, Options{})
			openStore(t, u, Options{})                     // creating an existing schema is a no-op
			openStore(t, u, Options{SchemaMode: "verify"}) // and it verifies
			ctx := context.Background()
			for _, td := range tableDefs {
				var protoCol string
				for _, c := range td.cols {
					if c.typ == colBytes && !c.nullable {
						protoCol = c.name
					}
				}
				var indexQ, typeQ string
				wantType := map[dialectName]string{postgres: "bytea", mysqlDialect: "longblob", sqliteDialect: "blob"}[s.dialect]
				switch s.dialect {
				case postgres:
					indexQ = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1"
					typeQ = "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2"
				case mysqlDialect:
					indexQ = "SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ?"
					typeQ = "SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?"
				default:
					indexQ = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
					typeQ = "SELECT type FROM pragma_table_info(?) WHERE name = ?"
				}
				indexes := queryStrings(t, s.db, indexQ, td.name)
				wantIndex := "idx_" + td.name + "_project_id"
				if has := slices.ContainsFunc(indexes, func(s string) bool { return strings.EqualFold(s, wantIndex) }); has != td.index {
					t.Errorf("table %s: indexes %v, want %s present=%v", td.name, indexes, wantIndex, td.index)
				}
				if protoCol != "" {
					if got := queryStrings(t, s.db, typeQ, td.name, protoCol); len(got) != 1 || !strings.EqualFold(got[0], wantType) {
						t.Errorf("table %s column %s type = %v, want %s", td.name, protoCol, got, wantType)
					}
				}
			}
			var n int
			if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM feature_views WHERE materialized_intervals IS NULL AND user_metadata IS NULL").Scan(&n); err != nil {
				t.Fatalf("feature_views lacks Feast's columns: %v", err)
			}
		})
	}
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestForeignRowsKeptAsIs checks rows written by another writer (Python
// Feast) are read, and left byte-for-byte alone by Updates that do not
// change them, even when their proto lacks the project (Feast fills it in
// from project_id on read).
func TestForeignRowsKeptAsIs(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.url(t), Options{})
			ctx := context.Background()
			project := "py"
			pyEntity := &core.Entity{Spec: &core.EntitySpecV2{Name: "driver", JoinKey: "driver_id", ValueType: types.ValueType_INT64}}
			raw, err := proto.Marshal(pyEntity)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.ExecContext(ctx, s.dialect.rebind(
				"INSERT INTO entities (entity_name, project_id, last_updated_timestamp, entity_proto) VALUES (?, ?, ?, ?)"),
				"driver", project, 123, raw); err != nil {
				t.Fatal(err)
			}
			r, err := s.Load(ctx, project)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Entities) != 1 || r.Entities[0].GetSpec().GetProject() != project || r.Entities[0].GetSpec().GetJoinKey() != "driver_id" {
				t.Fatalf("loaded entities %v, want driver with project %q", r.Entities, project)
			}
			if err := s.Update(ctx, project, func(r *core.Registry) error {
				r.Entities = append(r.Entities, registrytest.Entity("", "customer")) // empty project: gets project
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var (
				got     []byte
				updated int64
			)
			if err := s.db.QueryRowContext(ctx, s.dialect.rebind(
				"SELECT entity_proto, last_updated_timestamp FROM entities WHERE entity_name = ? AND project_id = ?"), "driver", project).
				Scan(&got, &updated); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) || updated != 123 {
				t.Errorf("untouched row was rewritten: %x at %d, want %x at 123", got, updated, raw)
			}
			r, err = s.Load(ctx, project)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Entities) != 2 || r.Entities[0].GetSpec().GetName() != "customer" || r.Entities[0].GetSpec().GetProject() != project {
				t.Errorf("entities after update = %v", r.Entities)
			}
		})
	}
}

func TestUpdateRejectsOtherProjects(t *testing.T) {
	s := openStore(t, sqliteURL(t), Options{})
	ctx := context.Background()
	err := s.Update(ctx, "mine", func(r *core.Registry) error {
		r.Entities = append(r.Entities, registrytest.Entity("mine", "a"), registrytest.Entity("theirs", "b"))
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `belongs to project "theirs"`) {
		t.Fatalf("Update = %v, want an error about project theirs", err)
	}
	err = s.Update(ctx, "mine", func(r *core.Registry) error {
		r.Entities = append(r.Entities, registrytest.Entity("mine", "a"), registrytest.Entity("mine", "a"))
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `two entities named "a"`) {
		t.Fatalf("Update = %v, want a duplicate-name error", err)
	}
	for _, p := range []string{"mine", "theirs"} {
		r, err := s.Load(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Entities) != 0 || len(r.Projects) != 0 {
			t.Errorf("project %s after rejected updates: %v", p, r)
		}
	}
}

// TestLastUpdatedBumpsOnlyOnChange checks a no-op Update writes nothing, and
// a changing one bumps feast_metadata and the Project's meta, which Python
// readers use to invalidate their caches.
func TestLastUpdatedBumpsOnlyOnChange(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := openStore(t, sqliteURL(t), Options{Now: func() time.Time { return clock }})
	ctx := context.Background()
	add := func(name string) func(*core.Registry) error {
		return func(r *core.Registry) error {
			r.Entities = append(r.Entities, registrytest.Entity("p", name))
			return nil
		}
	}
	stamp := func() (string, time.Time) {
		t.Helper()
		var v string
		if err := s.db.QueryRow("SELECT metadata_value FROM feast_metadata WHERE project_id = 'p' AND metadata_key = 'last_updated_timestamp'").Scan(&v); err != nil {
			t.Fatal(err)
		}
		r, err := s.Load(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		return v, r.Projects[0].GetMeta().GetLastUpdatedTimestamp().AsTime()
	}
	if err := s.Update(ctx, "p", add("a")); err != nil {
		t.Fatal(err)
	}
	first := clock
	clock = clock.Add(time.Hour)
	if err := s.Update(ctx, "p", func(*core.Registry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if v, p := stamp(); v != strconv.FormatInt(first.Unix(), 10) || !p.Equal(first) {
		t.Fatalf("after a no-op update: metadata %s, project %v; want both at %v", v, p, first)
	}
	if err := s.Update(ctx, "p", add("b")); err != nil {
		t.Fatal(err)
	}
	if v, p := stamp(); v != strconv.FormatInt(clock.Unix(), 10) || !p.Equal(clock) {
		t.Fatalf("after a change: metadata %s, project %v; want both at %v", v, p, clock)
	}
}

// TestTwoStoresConcurrently runs writers on two Store instances (separate
// connection pools) of one database while a reader loads: no update is lost,
// and every Load sees whole Updates only (each Update adds one entity and
// one interval together). Run it with -race.
func TestTwoStoresConcurrently(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			u := b.url(t)
			a, c := openStore(t, u, Options{}), openStore(t, u, Options{})
			ctx := context.Background()
			const project, perStore = "race", 15
			view := registrytest.FeatureView(project, "fv", "src", "f")
			if err := a.Update(ctx, project, func(r *core.Registry) error {
				r.FeatureViews = append(r.FeatureViews, view)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var (
				wg    sync.WaitGroup
				done  atomic.Bool
				loads atomic.Int64
			)
			base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for w, s := range []*Store{a, c} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perStore {
						n := w*perStore + i
						from := base.Add(time.Duration(n) * time.Minute)
						if err := s.Update(ctx, project, func(r *core.Registry) error {
							r.Entities = append(r.Entities, registrytest.Entity(project, fmt.Sprintf("e%02d", n)))
							registry.AppendInterval(r, project, "fv", from, from.Add(time.Minute), from)
							return nil
						}); err != nil {
							t.Errorf("store %d update %d: %v", w, i, err)
							return
						}
					}
				}()
			}
			reader := make(chan struct{})
			go func() {
				defer close(reader)
				for !done.Load() {
					r, err := c.Load(ctx, project)
					if err != nil {
						t.Errorf("load: %v", err)
						return
					}
					loads.Add(1)
					if len(r.FeatureViews) != 1 {
						t.Errorf("load saw %d views", len(r.FeatureViews))
						return
					}
					if e, iv := len(r.Entities), len(r.FeatureViews[0].GetMeta().GetMaterializationIntervals()); e != iv {
						t.Errorf("load saw half an update: %d entities, %d intervals", e, iv)
						return
					}
				}
			}()
			wg.Wait()
			done.Store(true)
			<-reader
			r, err := a.Load(ctx, project)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Entities) != 2*perStore || len(r.FeatureViews[0].GetMeta().GetMaterializationIntervals()) != 2*perStore {
				t.Fatalf("after %d updates: %d entities, %d intervals", 2*perStore, len(r.Entities), len(r.FeatureViews[0].GetMeta().GetMaterializationIntervals()))
			}
			t.Logf("%d concurrent loads", loads.Load())
		})
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in      string
		dialect dialectName
		dsn     string
		err     string
	}{
		{in: "postgresql://u:p@h:5432/db?sslmode=disable", dialect: postgres, dsn: "postgres://u:p@h:5432/db?sslmode=disable"},
		{in: "postgres://u@h/db", dialect: postgres, dsn: "postgres://u@h/db"},
		{in: "postgresql+psycopg://u@h:1/db", dialect: postgres, dsn: "postgres://u@h:1/db"},
		{in: "postgresql+psycopg2://u@h:1/db", dialect: postgres, dsn: "postgres://u@h:1/db"},
		{in: "mysql://root:pw@127.0.0.1:3306/feast", dialect: mysqlDialect, dsn: "root:pw@tcp(127.0.0.1:3306)/feast"},
		{in: "mysql+pymysql://root@db.example/feast?charset=utf8mb4", dialect: mysqlDialect, dsn: "root@tcp(db.example:3306)/feast?charset=utf8mb4"},
		{in: "mysql://u:p%40ss@h:1/d", dialect: mysqlDialect, dsn: "u:p@ss@tcp(h:1)/d"},
		{in: "mysql+pymysql://u@/d?unix_socket=/run/mysqld.sock", dialect: mysqlDialect, dsn: "u@unix(/run/mysqld.sock)/d"},
		{in: "sqlite:///data/registry.db", dialect: sqliteDialect, dsn: "file:data/registry.db?"},
		{in: "sqlite:////abs/registry.db", dialect: sqliteDialect, dsn: "file:/abs/registry.db?"},
		{in: "sqlite://", err: "in-memory"},
		{in: "mysql://u@h/", err: "no database name"},
		{in: "oracle://x", err: "unsupported scheme"},
		{in: "data/registry.db", err: "want scheme"},
		{in: "redis://u:secret@h/0", err: "xxxxx"},
	}
	for _, c := range cases {
		got, err := parseURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("parseURL(%q) error = %v, want one containing %q (and no password)", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseURL(%q): %v", c.in, err)
			continue
		}
		if got.dialect != c.dialect || !strings.HasPrefix(got.dsn, c.dsn) {
			t.Errorf("parseURL(%q) = %v %q, want %v %q...", c.in, got.dialect, got.dsn, c.dialect, c.dsn)
		}
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", &pgconn.PgError{Code: "40001"}), true},
		{&pgconn.PgError{Code: "40P01"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{fmt.Errorf("x: %w", &mysql.MySQLError{Number: 1213}), true},
		{&mysql.MySQLError{Number: 1062}, false},
		{fmt.Errorf("lock: %w", errLockTimeout), true},
		{fnError{&pgconn.PgError{Code: "40001"}}, false}, // the caller's errors are never retried
		{errors.New("other"), false},
	}
	for _, c := range cases {
		if got := retryable(c.err); got != c.want {
			t.Errorf("retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestUpdateRetriesConflicts checks that a retryable error runs the attempt
// again, that retries end in registry.ErrConflict, and that the caller's
// own error is never retried.
func TestUpdateRetriesConflicts(t *testing.T) {
	s := openStore(t, sqliteURL(t), Options{MaxAttempts: 3})
	ctx := context.Background()
	calls := 0
	err := s.retry(ctx, func() error {
		calls++
		if calls < 3 {
			return &pgconn.PgError{Code: "40001"}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retry = %v after %d calls, want success on the third", err, calls)
	}
	calls = 0
	err = s.retry(ctx, func() error { calls++; return &pgconn.PgError{Code: "40P01"} })
	if !errors.Is(err, registry.ErrConflict) || calls != 3 {
		t.Fatalf("retry = %v after %d calls, want ErrConflict after 3", err, calls)
	}
	// The caller's error is returned as is, after a single call.
	boom := errors.New("boom")
	calls = 0
	if err := s.Update(ctx, "p", func(*core.Registry) error { calls++; return boom }); err != boom || calls != 1 {
		t.Fatalf("Update = %v after %d calls, want boom after 1", err, calls)
	}
}

// A SQLite registry in a folder that does not exist yet creates the folder,
// as the file registry does, instead of SQLite's "unable to open database
// file"; a folder that cannot be created is named.
func TestSQLiteCreatesFolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	url := "sqlite:///" + filepath.Join(dir, "data", "sub", "registry.db")
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("open in a missing folder: %v", err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "sub", "registry.db")); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, "sqlite:///"+filepath.Join(blocker, "registry.db"))
	if err == nil || !strings.Contains(err.Error(), "folder "+blocker+" is missing and cannot be created") {
		t.Fatalf("error = %v, want one naming the folder", err)
	}
}
