package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/sqlgen"
)

// staging holds the object-store sources one read (a job, a pull) staged;
// Release lets the cache reclaim them once the read is over. It is safe
// for concurrent use.
type staging struct {
	mu     sync.Mutex
	staged []*objstore.Staged
	// relations are the relations staged so far by request, so views
	// sharing a source list and read it once per read.
	relations map[objstore.Request]string
	// releases release iceberg sources' staged files.
	releases []func()
}

func (st *staging) add(req objstore.Request, s *objstore.Staged, relation string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.staged = append(st.staged, s)
	if st.relations == nil {
		st.relations = map[objstore.Request]string{}
	}
	st.relations[req] = relation
}

func (st *staging) relation(req objstore.Request) (string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rel, ok := st.relations[req]
	return rel, ok
}

// Release releases every staged source.
func (st *staging) Release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.staged {
		s.Release()
	}
	st.staged = nil
	for _, release := range st.releases {
		release()
	}
	st.releases = nil
}

// windowFunc is the event time a read needs from a source.
type windowFunc func(*model.DataSource) objstore.Window

// readRelation is the RelationFunc of one read: local sources as always,
// object-store sources staged for the window the read needs and recorded
// in st.
func (s *Store) readRelation(ctx context.Context, window windowFunc, st *staging) offline.RelationFunc {
	return func(src *model.DataSource) (string, error) {
		if src.Kind == model.SourceIceberg {
			return s.icebergRelation(ctx, src, window(src), st)
		}
		if src.Kind != model.SourceFile || !objstore.IsRemote(src.Path) {
			return s.relation(src)
		}
		req := objstore.Request{
			Source: src.Name, Path: src.Path, Format: strings.ToLower(src.FileFormat),
			TimestampColumn: src.TimestampField, DatePartitionColumn: src.DatePartitionColumn,
			Window: window(src), S3Endpoint: src.S3EndpointOverride,
		}
		if rel, ok := st.relation(req); ok {
			return rel, nil
		}
		staged, err := s.objects.Stage(ctx, req)
		if err != nil {
			return "", err
		}
		rel := stagedRelation(staged)
		st.add(req, staged, rel)
		return rel, nil
	}
}

// stagedRelation reads staged objects as DuckDB reads a local folder.
func stagedRelation(st *objstore.Staged) string {
	files := make([]string, len(st.Files))
	for i, f := range st.Files {
		files[i] = quoteString(f)
	}
	list := "[" + strings.Join(files, ", ") + "]"
	opts := ", union_by_name = true"
	if st.Hive {
		opts += ", hive_partitioning = true"
	} else {
		opts += ", hive_partitioning = false"
	}
	if st.Format == "csv" {
		return "read_csv(" + list + ", header = true" + opts + ")"
	}
	return "read_parquet(" + list + opts + ")"
}

// hasRemote reports whether a request reads an object-store or iceberg
// source.
func hasRemote(req *offline.HistoricalRequest) bool {
	for _, v := range req.Views {
		if src := v.View.Source; src != nil && (src.Kind == model.SourceFile && objstore.IsRemote(src.Path) || src.Kind == model.SourceIceberg) {
			return true
		}
	}
	return false
}

// historicalWindow is what each source must cover for entity rows with
// timestamps in [from, to]: from minus the largest ttl of the views reading
// the source (unbounded when one has none), up to to. A zero from is
// unbounded.
func historicalWindow(req *offline.HistoricalRequest, from, to time.Time) windowFunc {
	lower := map[*model.DataSource]time.Time{}
	unbounded := map[*model.DataSource]bool{}
	for _, v := range req.Views {
		src := v.View.Source
		if from.IsZero() || v.View.TTL <= 0 {
			unbounded[src] = true
			continue
		}
		lo := from.Add(-v.View.TTL)
		if cur, ok := lower[src]; !ok || lo.Before(cur) {
			lower[src] = lo
		}
	}
	return func(src *model.DataSource) objstore.Window {
		w := objstore.Window{To: to}
		if !unbounded[src] {
			w.From = lower[src]
		}
		return w
	}
}

// entityTimeRange is the [min, max] of the staged entity rows' timestamp
// column; ok is false when it cannot be found (PlanRequest then reports
// why) or there are no rows.
func entityTimeRange(ctx context.Context, conn *sql.Conn, d sqlgen.DuckDBDialect, table string, cols []offline.Column) (lo, hi time.Time, ok bool) {
	ts, err := offline.EntityTimestamp(cols)
	if err != nil {
		return lo, hi, false
	}
	c := "CAST(" + d.QuoteIdent(ts) + " AS TIMESTAMP)"
	var mn, mx sql.NullTime
	if err := conn.QueryRowContext(ctx, "SELECT min("+c+"), max("+c+") FROM "+d.QuoteIdent(table)).Scan(&mn, &mx); err != nil || !mn.Valid || !mx.Valid {
		return lo, hi, false
	}
	return mn.Time.UTC(), mx.Time.UTC(), true
}

// entitylessWindow is historicalWindow for entity-less retrieval: entity
// rows come from [start, end] (end defaulting to now, start to end minus
// the largest ttl, as offline.EntitylessPlan resolves them).
func entitylessWindow(req *offline.HistoricalRequest, now time.Time) windowFunc {
	start, end := req.Start, req.End
	if end.IsZero() {
		end = now
	}
	if start.IsZero() {
		var maxTTL time.Duration
		for _, v := range req.Views {
			if v.View.TTL == 0 {
				return historicalWindow(req, time.Time{}, end)
			}
			maxTTL = max(maxTTL, v.View.TTL)
		}
		start = end.Add(-maxTTL)
	}
	return historicalWindow(req, start, end)
}

// PullLatest implements offline.Store, reading object-store sources only
// as far as [start, end] needs.
func (s *Store) PullLatest(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	return s.pull(ctx, view, start, end, sqlgen.Pull{Latest: true})
}

// PullLatestInKeyOrder implements offline.KeyOrderedPuller: DuckDB sorts
// the latest rows (spilling past memory_limit like the query itself).
func (s *Store) PullLatestInKeyOrder(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	return s.pull(ctx, view, start, end, sqlgen.Pull{Latest: true, KeyOrder: true})
}

// PullAll implements offline.Store, reading object-store sources only as
// far as [start, end] needs.
func (s *Store) PullAll(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	return s.pull(ctx, view, start, end, sqlgen.Pull{})
}

func (s *Store) pull(ctx context.Context, view *model.FeatureView, start, end time.Time, opts sqlgen.Pull) (array.RecordReader, error) {
	st := &staging{}
	window := func(*model.DataSource) objstore.Window { return objstore.Window{From: start, To: end} }
	p := offline.SQLPuller{
		Dialect:  s.dialect,
		Relation: s.readRelation(ctx, window, st),
		Stream: func(ctx context.Context, query string) (array.RecordReader, error) {
			return s.streamPull(ctx, query, st.Release)
		},
	}
	rr, err := p.Pull(ctx, view, start, end, opts)
	if err != nil {
		st.Release()
		return nil, err
	}
	return rr, nil
}

// stageEntityFile stages an entity file in object storage (read whole).
func (s *Store) stageEntityFile(ctx context.Context, p string, st *staging) (string, error) {
	req := objstore.Request{Source: "entity rows", Path: p}
	staged, err := s.objects.Stage(ctx, req)
	if err != nil {
		return "", fmt.Errorf("entity file: %w", err)
	}
	rel := stagedRelation(staged)
	st.add(req, staged, rel)
	return rel, nil
}
