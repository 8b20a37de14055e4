// Package sqlite is the embedded online store: one SQLite file (pure Go,
// modernc.org/sqlite) in Feast's layout, so a Feast SQLite online store and
// this one can read each other's data.
//
// Each feature view has a table "<project>_<view>" with one row per entity
// and feature:
//
//	entity_key BLOB      serialized entity key (v3), without the project
//	feature_name TEXT
//	value BLOB           serialized feast.types.Value
//	value_text TEXT      string form of scalar values, else NULL
//	vector_value BLOB    always NULL here
//	event_ts timestamp   integer epoch seconds
//	created_ts timestamp integer epoch seconds, NULL when unknown
//	PRIMARY KEY(entity_key, feature_name)
//
// Event timestamps are stored in whole seconds, as Feast does; rows of one
// entity whose timestamps differ by less than a second are therefore equal,
// and the later one is skipped. Unlike Feast's SQLite store, which lets the
// last write win, a write replaces an entity's values in a view only when its
// event timestamp is strictly newer than every stored one (DESIGN.md).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// DefaultPath is where the database lives when the config names no path.
const DefaultPath = "data/online.db"

// DefaultReadTimeout bounds each read and ping (read_timeout), well below
// the feature server's request timeout.
const DefaultReadTimeout = time.Second

const (
	// readChunk bounds the entity keys of one SELECT ... IN (...).
	readChunk = 500
	// writeChunk bounds the rows of one multi-row INSERT (6 parameters each,
	// well under SQLite's 32766-parameter limit).
	writeChunk = 500
)

// Store is the SQLite online store. It is safe for concurrent use: reads run
// in parallel on a connection pool, writes are serialized.
type Store struct {
	db   *sql.DB
	path string
	// readTimeout bounds each Read and Ping: a database another process
	// holds locked fails them (unavailable) instead of holding them for
	// the busy timeout. Writes wait up to the busy timeout.
	readTimeout time.Duration
	// writeMu serializes writers of this process; busy_timeout covers
	// writers in other processes.
	writeMu sync.Mutex
	// created remembers tables this Store has created or seen, by name.
	created sync.Map
}

var _ online.Store = (*Store)(nil)

// Open opens (creating when missing) the database at cfg.Path, resolved
// against repoPath when relative.
func Open(ctx context.Context, cfg config.SQLiteOnlineConfig, repoPath string) (*Store, error) {
	path := cfg.Path
	if path == "" {
		path = DefaultPath
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(repoPath, path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: open %s: path must not contain ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readTimeout := DefaultReadTimeout
	if cfg.ReadTimeout > 0 {
		readTimeout = time.Duration(cfg.ReadTimeout * float64(time.Second))
	}
	// The pool runs these pragmas as it connects, without a context; some
	// of them read the file, so under a lock held by another process they
	// wait for the busy timeout. The first busy_timeout bounds that wait
	// by the read timeout; the last one gives the connection the long wait
	// writers need (reads are bounded by their context).
	dsn := "file:" + path +
		"?_pragma=busy_timeout(" + strconv.FormatInt(max(1, readTimeout.Milliseconds()), 10) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=cache_size(-32768)" + // 32 MiB per connection
		"&_pragma=temp_store(MEMORY)" +
		"&_pragma=busy_timeout(10000)" +
		"&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, path: path, readTimeout: readTimeout}
	if err := s.ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// Ping reads the schema, which needs the shared lock a read needs, bounded
// by the read timeout.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return fmt.Errorf("sqlite: ping %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) ping(ctx context.Context) error {
	tctx, cancel, check := online.WithTimeout(ctx, s.readTimeout, "online_store read_timeout")
	defer cancel()
	var n int
	return check(markUnavailable(ctx, s.db.QueryRowContext(tctx, "SELECT count(*) FROM sqlite_master").Scan(&n)))
}

// markUnavailable marks the errors of a database that cannot be read now
// (online.ErrUnavailable): locked by another process (SQLITE_BUSY,
// SQLITE_LOCKED), not openable (SQLITE_CANTOPEN) or failing I/O
// (SQLITE_IOERR), and the store's own timeouts. Other errors (a corrupt
// file, SQL errors) stay as they are, and so does every error once ctx is
// done: then the caller gave up, not the store.
func markUnavailable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
			return online.Unavailable(err)
		}
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return online.Unavailable(err)
	}
	return err
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// TableName is Feast's table id for a view: "<project>_<view>".
func TableName(project string, view *model.FeatureView) string {
	return project + "_" + view.Name
}

// InfraName names the view's table as plan and apply print it.
func (s *Store) InfraName(project string, view *model.FeatureView) string {
	return "sqlite table " + TableName(project, view)
}

func quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

func createSQL(tbl string) string {
	return "CREATE TABLE IF NOT EXISTS " + quote(tbl) + ` (
	entity_key BLOB,
	feature_name TEXT,
	value BLOB,
	value_text TEXT,
	vector_value BLOB,
	event_ts timestamp,
	created_ts timestamp,
	PRIMARY KEY (entity_key, feature_name))`
}

func (s *Store) ensureTable(ctx context.Context, tbl string) error {
	if _, ok := s.created.Load(tbl); ok {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, createSQL(tbl)); err != nil {
		return err
	}
	s.created.Store(tbl, true)
	return nil
}

// Update creates the tables of keep and drops those of drop.
func (s *Store) Update(ctx context.Context, project string, keep, drop []*model.FeatureView) error {
	if strings.Contains(project, "-") {
		return fmt.Errorf("sqlite: update: project name %q contains '-', which Feast's SQLite store rejects", project)
	}
	for _, fv := range keep {
		if err := s.ensureTable(ctx, TableName(project, fv)); err != nil {
			return fmt.Errorf("sqlite: update %s: %w", fv.Name, err)
		}
	}
	return s.dropTables(ctx, "update", project, drop)
}

// Teardown drops the tables of views.
func (s *Store) Teardown(ctx context.Context, project string, views []*model.FeatureView) error {
	return s.dropTables(ctx, "teardown", project, views)
}

func (s *Store) dropTables(ctx context.Context, op, project string, views []*model.FeatureView) error {
	for _, fv := range views {
		tbl := TableName(project, fv)
		s.writeMu.Lock()
		s.created.Delete(tbl)
		_, err := s.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(tbl))
		s.writeMu.Unlock()
		if err != nil {
			return fmt.Errorf("sqlite: %s %s: drop table: %w", op, fv.Name, err)
		}
	}
	return nil
}

// Write stores the batch in one transaction, keeping for each entity only
// rows strictly newer than what the table holds for it.
func (s *Store) Write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	st, err := s.write(ctx, b)
	if isNoTable(err) {
		// Another process dropped the table this Store remembered creating.
		s.created.Delete(TableName(b.Project, b.View))
		st, err = s.write(ctx, b)
	}
	if err != nil {
		return online.WriteStats{}, fmt.Errorf("sqlite: write %s: %w", b.View.Name, markUnavailable(ctx, err))
	}
	return st, nil
}

func (s *Store) write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	if len(b.Rows) == 0 {
		return online.WriteStats{}, nil
	}
	for i := range b.Rows {
		if len(b.Rows[i].Values) != len(b.Features) {
			return online.WriteStats{}, fmt.Errorf("row %d has %d values for %d features", i, len(b.Rows[i].Values), len(b.Features))
		}
	}
	tbl := TableName(b.Project, b.View)
	winners := online.NewestPerEntity(b.Rows)

	// Serialize values before taking the lock.
	type cell struct {
		value []byte
		text  any
	}
	cells := make([]cell, len(winners)*len(b.Features))
	var arena []byte
	for wi, ri := range winners {
		for fi, v := range b.Rows[ri].Values {
			c := &cells[wi*len(b.Features)+fi]
			if !online.IsNull(v) {
				start := len(arena)
				var err error
				arena, err = online.AppendValue(arena, v)
				if err != nil {
					return online.WriteStats{}, fmt.Errorf("serialize %s: %w", b.Features[fi], err)
				}
				c.value = arena[start:len(arena):len(arena)]
			} else {
				c.value = []byte{}
			}
			if text, ok := online.ValueText(v); ok {
				c.text = text
			}
		}
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.ensureTable(ctx, tbl); err != nil {
		return online.WriteStats{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return online.WriteStats{}, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit

	stored, err := storedTimestamps(ctx, tx, tbl, b.Rows, winners)
	if err != nil {
		return online.WriteStats{}, err
	}
	// Keep the winners strictly newer than the stored rows.
	fresh := winners[:0:0]
	freshCells := make([]int, 0, len(winners))
	for wi, ri := range winners {
		if ts, ok := stored[string(b.Rows[ri].EntityKey)]; ok && b.Rows[ri].EventTS.Unix() <= ts {
			continue
		}
		fresh = append(fresh, ri)
		freshCells = append(freshCells, wi)
	}

	nf := len(b.Features)
	total := len(fresh) * nf
	var stmt *sql.Stmt
	stmtRows := 0
	args := make([]any, 0, 6*min(writeChunk, total))
	for start := 0; start < total; start += writeChunk {
		end := min(start+writeChunk, total)
		if n := end - start; n != stmtRows {
			if stmt != nil {
				stmt.Close()
			}
			stmt, err = tx.PrepareContext(ctx, insertSQL(tbl, n))
			if err != nil {
				return online.WriteStats{}, err
			}
			stmtRows = n
		}
		args = args[:0]
		for k := start; k < end; k++ {
			ri, fi := fresh[k/nf], k%nf
			r := &b.Rows[ri]
			c := &cells[freshCells[k/nf]*nf+fi]
			var created any
			if !r.CreatedTS.IsZero() {
				created = r.CreatedTS.Unix()
			}
			args = append(args, r.EntityKey, b.Features[fi], c.value, c.text, r.EventTS.Unix(), created)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			stmt.Close()
			return online.WriteStats{}, err
		}
	}
	if stmt != nil {
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		return online.WriteStats{}, err
	}
	return online.WriteStats{Written: len(fresh), Skipped: len(b.Rows) - len(fresh)}, nil
}

func insertSQL(tbl string, n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(quote(tbl))
	sb.WriteString(" (entity_key, feature_name, value, value_text, event_ts, created_ts) VALUES ")
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?)")
	}
	sb.WriteString(` ON CONFLICT (entity_key, feature_name) DO UPDATE SET
	value = excluded.value, value_text = excluded.value_text,
	event_ts = excluded.event_ts, created_ts = excluded.created_ts`)
	return sb.String()
}

// storedTimestamps returns the newest stored event timestamp (epoch seconds)
// of each winner's entity that has rows.
func storedTimestamps(ctx context.Context, tx *sql.Tx, tbl string, rows []online.Row, winners []int) (map[string]int64, error) {
	out := make(map[string]int64)
	args := make([]any, 0, readChunk)
	for start := 0; start < len(winners); start += readChunk {
		end := min(start+readChunk, len(winners))
		args = args[:0]
		for _, ri := range winners[start:end] {
			args = append(args, rows[ri].EntityKey)
		}
		q := "SELECT entity_key, max(event_ts) FROM " + quote(tbl) +
			" WHERE entity_key IN (" + placeholders(end-start) + ") GROUP BY entity_key"
		rs, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read stored timestamps: %w", err)
		}
		for rs.Next() {
			var key []byte
			var ts sql.NullInt64
			if err := rs.Scan(&key, &ts); err != nil {
				rs.Close()
				return nil, fmt.Errorf("read stored timestamps: %w", err)
			}
			out[string(key)] = ts.Int64
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.Repeat("?,", n-1) + "?"
}

// Read answers each request with SELECTs of at most 500 entity keys. A view
// whose table does not exist reads as not found. The read timeout bounds
// each SELECT (a database that does not answer one in time, usually because
// another process holds a lock, is unavailable), not the whole read, so a
// large read on a busy machine is not taken for an outage.
func (s *Store) Read(ctx context.Context, reqs []online.ReadRequest) ([]online.ReadResult, error) {
	out := make([]online.ReadResult, len(reqs))
	for i := range reqs {
		res, err := s.read(ctx, &reqs[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: read %s: %w", reqs[i].View.Name, err)
		}
		out[i] = res
	}
	return out, nil
}

func (s *Store) read(ctx context.Context, req *online.ReadRequest) (online.ReadResult, error) {
	nf := len(req.Features)
	res := make(online.ReadResult, len(req.EntityKeys))
	flat := make([]online.FeatureValue, len(req.EntityKeys)*nf)
	for i := range res {
		res[i] = flat[i*nf : (i+1)*nf : (i+1)*nf]
	}
	if len(req.EntityKeys) == 0 || nf == 0 {
		return res, nil
	}
	// An entity key may be requested more than once.
	index := make(map[string][]int, len(req.EntityKeys))
	for i, k := range req.EntityKeys {
		index[string(k)] = append(index[string(k)], i)
	}
	featureIdx := make(map[string]int, nf)
	for i, f := range req.Features {
		featureIdx[f] = i
	}
	tbl := quote(TableName(req.Project, req.View))
	featureArgs := make([]any, nf)
	for i, f := range req.Features {
		featureArgs[i] = f
	}
	args := make([]any, 0, readChunk+nf)
	keys := req.EntityKeys
	for start := 0; start < len(keys); start += readChunk {
		end := min(start+readChunk, len(keys))
		args = args[:0]
		for _, k := range keys[start:end] {
			args = append(args, k)
		}
		args = append(args, featureArgs...)
		q := "SELECT entity_key, feature_name, value, event_ts FROM " + tbl +
			" WHERE entity_key IN (" + placeholders(end-start) + ") AND feature_name IN (" + placeholders(nf) + ")"
		found, err := s.readChunk(ctx, q, args, res, index, featureIdx)
		if err != nil {
			return nil, err
		}
		if !found {
			return res, nil // no table
		}
	}
	return res, nil
}

// readChunk runs one SELECT of read within the read timeout and stores its
// rows in res. found is false when the view's table does not exist.
func (s *Store) readChunk(ctx context.Context, q string, args []any, res online.ReadResult, index map[string][]int, featureIdx map[string]int) (found bool, err error) {
	tctx, cancel, check := online.WithTimeout(ctx, s.readTimeout, "online_store read_timeout")
	defer cancel()
	defer func() {
		if err != nil {
			err = check(markUnavailable(ctx, err))
		}
	}()
	rs, err := s.db.QueryContext(tctx, q, args...)
	if err != nil {
		if isNoTable(err) {
			return false, nil
		}
		return false, err
	}
	defer rs.Close()
	var key, value []byte
	var name string
	var ts sql.NullInt64
	for rs.Next() {
		if err := rs.Scan(&key, &name, &value, &ts); err != nil {
			return false, err
		}
		fi, ok := featureIdx[name]
		if !ok {
			continue
		}
		v := new(types.Value)
		if len(value) > 0 {
			if err := online.UnmarshalValue(value, v); err != nil {
				return false, fmt.Errorf("decode %s: %w", name, err)
			}
		}
		fv := online.FeatureValue{Value: v, EventTS: time.Unix(ts.Int64, 0).UTC(), Found: true}
		for _, ei := range index[string(key)] {
			res[ei][fi] = fv
		}
	}
	if err := rs.Close(); err != nil {
		return false, err
	}
	return true, rs.Err()
}

func isNoTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}
