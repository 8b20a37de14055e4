// Package duckdb is the embedded offline store: an in-process DuckDB that
// joins file sources (Parquet or CSV; single files, globs and
// hive-partitioned folders) without any server.
//
// Historical retrieval stages the entity rows in a temporary table and runs
// the point-in-time join written by offline/sqlgen: unless the request
// filters by created timestamp, one ASOF join per view into a temporary
// table in entity order, on numbered entity keys and a packed (event,
// created) time key, paired with the entity table by POSITIONAL JOIN
// (sqlgen.PerView); else window functions. Results are written by DuckDB
// itself (COPY ... TO) or streamed as Arrow batches; DuckDB spills to its
// temporary directory when a join exceeds the memory limit.
//
// Results read back as Arrow (materialization pulls, job readers) are
// written by DuckDB to a temporary Parquet file with COPY and streamed from
// it in batches: DuckDB's client API materializes a query result in memory,
// COPY does not, so memory stays bounded however large the result.
// Built with the duckdb_arrow tag, entity rows cross the cgo boundary
// through DuckDB's Arrow interface; without it, through a temporary Parquet
// file. Both give the same results.
//
// Sources in object storage (s3://, gs://, azblob://) are staged by
// offline/objstore: listed, pruned to the objects that can hold rows in the
// time window a read needs (Hive date partitions, Parquet footer
// statistics), copied to a bounded cache under TempDir and read from there
// by DuckDB, which then needs no httpfs extension.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/iceberg"
	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/sqlgen"
)

// Options configures the store. The zero value is usable: sources resolve
// against the working directory and DuckDB uses its default memory limit.
type Options struct {
	// RepoPath is the directory relative source and entity paths resolve
	// against; empty means the working directory.
	RepoPath string
	// MemoryLimit is DuckDB's memory_limit, such as "4GB"; empty keeps
	// DuckDB's default (80% of RAM). Joins larger than this spill to TempDir.
	MemoryLimit string
	// Threads is DuckDB's worker thread count; 0 means one per core.
	Threads int
	// TempDir receives DuckDB's spill files and staged Arrow data; empty
	// means a new directory under os.TempDir(), removed by Close.
	TempDir string
	// Now returns the current time, for entity-less retrieval without an
	// end; nil means time.Now.
	Now func() time.Time
	// Strategy forces a point-in-time join strategy (tests compare them);
	// zero lets sqlgen choose. Requests that filter by created timestamp
	// always use sqlgen.Window.
	Strategy sqlgen.Strategy
	// ObjectCacheDir holds the staged objects of object-store sources;
	// empty means TempDir/objects. A persistent directory keeps unchanged
	// objects across runs.
	ObjectCacheDir string
	// ObjectCacheBytes bounds ObjectCacheDir between reads; 0 means
	// objstore.DefaultMaxCacheBytes.
	ObjectCacheBytes int64
	// S3Endpoint is the endpoint of s3:// sources whose path names none
	// (S3-compatible stores), with path-style addressing; empty means the
	// AWS default (or AWS_ENDPOINT_URL).
	S3Endpoint string
	// IcebergCatalogs are the named catalogs of iceberg sources
	// (offline_store.iceberg_catalogs): iceberg-go catalog properties.
	IcebergCatalogs map[string]map[string]string
}

// Store is the DuckDB offline store. It is safe for concurrent use; each
// job holds its own DuckDB connection. Its PullLatest and PullAll are those
// of offline.SQLPuller, run on DuckDB over sources staged for the pulled
// time range.
type Store struct {
	opts      Options
	objects   *objstore.Store
	tables    *iceberg.Store
	connector *duckdb.Connector
	db        *sql.DB
	tmp       string
	ownTmp    bool
	seq       atomic.Int64
	dialect   sqlgen.DuckDBDialect
}

var _ offline.Store = (*Store)(nil)

// Open opens an in-memory DuckDB for a repository, per the offline_store
// section of feature_store.yaml.
func Open(ctx context.Context, cfg config.OfflineStoreConfig, repoPath string) (*Store, error) {
	switch cfg.Type {
	case "", "duckdb", "file", "dask":
	default:
		return nil, fmt.Errorf("open duckdb offline store: offline_store type is %q", cfg.Type)
	}
	cacheDir := cfg.ObjectCacheDir
	if cacheDir != "" && !filepath.IsAbs(cacheDir) && repoPath != "" {
		cacheDir = filepath.Join(repoPath, cacheDir)
	}
	return OpenOptions(ctx, Options{RepoPath: repoPath, MemoryLimit: cfg.MemoryLimit, Threads: cfg.Threads,
		S3Endpoint: cfg.S3EndpointOverride, ObjectCacheDir: cacheDir, ObjectCacheBytes: cfg.ObjectCacheBytes,
		IcebergCatalogs: cfg.IcebergCatalogs})
}

// OpenOptions opens an in-memory DuckDB with explicit options.
func OpenOptions(ctx context.Context, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{opts: opts, tmp: opts.TempDir}
	if s.tmp == "" {
		dir, err := os.MkdirTemp("", "feast-duckdb-")
		if err != nil {
			return nil, fmt.Errorf("open duckdb offline store: %w", err)
		}
		s.tmp, s.ownTmp = dir, true
	} else if err := os.MkdirAll(s.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("open duckdb offline store: %w", err)
	}
	cacheDir := opts.ObjectCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(s.tmp, "objects")
	}
	objects, err := objstore.New(objstore.Options{Dir: cacheDir, MaxCacheBytes: opts.ObjectCacheBytes, S3Endpoint: opts.S3Endpoint})
	if err != nil {
		s.removeTmp()
		return nil, fmt.Errorf("open duckdb offline store: %w", err)
	}
	s.objects = objects
	tables, err := iceberg.New(iceberg.Options{Catalogs: opts.IcebergCatalogs, Dir: filepath.Join(s.tmp, "iceberg"), S3Endpoint: opts.S3Endpoint, Cache: objects})
	if err != nil {
		s.objects.Close()
		s.removeTmp()
		return nil, fmt.Errorf("open duckdb offline store: %w", err)
	}
	s.tables = tables
	connector, err := duckdb.NewConnector("", func(execer driver.ExecerContext) error {
		// Naive timestamps are UTC. The top-n window optimizer of this DuckDB
		// release fails with an internal error on ROW_NUMBER() = 1 over a
		// filtered CSV scan; the plain window plan is correct everywhere.
		// Staged entity tables and per-view join tables must keep insertion
		// order (DuckDB's default, set so nothing can turn it off): the
		// POSITIONAL JOIN of sqlgen.PerView pairs their rows by position.
		for _, stmt := range []string{"SET TimeZone = 'UTC'", "SET disabled_optimizers = 'top_n_window_elimination'", "SET preserve_insertion_order = true"} {
			if _, err := execer.ExecContext(context.Background(), stmt, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.objects.Close()
		s.tables.Close()
		s.removeTmp()
		return nil, fmt.Errorf("open duckdb offline store: %w", err)
	}
	s.connector = connector
	s.db = sql.OpenDB(connector)
	settings := []string{"SET temp_directory = " + quoteString(filepath.Join(s.tmp, "spill"))}
	if opts.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+quoteString(opts.MemoryLimit))
	}
	if opts.Threads > 0 {
		settings = append(settings, "SET threads = "+strconv.Itoa(opts.Threads))
	}
	for _, stmt := range settings {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			s.Close()
			return nil, fmt.Errorf("open duckdb offline store: %s: %w", stmt, err)
		}
	}
	return s, nil
}

// Close closes the database and removes the store's temporary directory
// when the store created it.
func (s *Store) Close() error {
	err := s.db.Close()
	err = errors.Join(err, s.connector.Close(), s.objects.Close(), s.tables.Close())
	s.removeTmp()
	return err
}

func (s *Store) removeTmp() {
	if s.ownTmp {
		os.RemoveAll(s.tmp)
	}
}

// ObjectStats counts what reads of object-store sources fetched so far
// (objects listed, footers and objects read, bytes, cache hits, pruning).
func (s *Store) ObjectStats() objstore.Stats { return s.objects.Stats() }

// DB is the underlying database, for callers that run their own SQL over
// the same engine (benchmarks, tests).
func (s *Store) DB() *sql.DB { return s.db }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (s *Store) tempName(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, s.seq.Add(1))
}

func (s *Store) resolvePath(p string) string {
	p = strings.TrimPrefix(p, "file://")
	if strings.Contains(p, "://") || filepath.IsAbs(p) || s.opts.RepoPath == "" {
		return p
	}
	return filepath.Join(s.opts.RepoPath, p)
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// fileRelation is the table function reading a file, glob or folder.
func (s *Store) fileRelation(path, format string) (string, error) {
	p := s.resolvePath(path)
	opts := ""
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		if format == "" {
			format = "parquet"
		}
		ext := "parquet"
		if format == "csv" {
			ext = "csv"
		}
		p = filepath.Join(p, "**", "*."+ext)
		opts = ", hive_partitioning = true, union_by_name = true"
	} else if hasGlob(p) {
		opts = ", union_by_name = true"
	}
	if format == "" {
		format = offline.FileFormat(strings.TrimRight(p, "*"))
	}
	switch format {
	case "parquet":
		return "read_parquet(" + quoteString(p) + opts + ")", nil
	case "csv":
		return "read_csv(" + quoteString(p) + ", header = true" + opts + ")", nil
	}
	return "", fmt.Errorf("file %s: unknown format (set file_format to parquet or csv)", path)
}

func (s *Store) relation(src *model.DataSource) (string, error) {
	if src.Kind != model.SourceFile && src.Path == "" {
		return "", fmt.Errorf("source %s is a %s source; the duckdb offline store reads file sources: %w", src.Name, src.Kind, offline.ErrNotSupported)
	}
	if src.Path == "" {
		return "", fmt.Errorf("file source %s has no path", src.Name)
	}
	if p := s.resolvePath(src.Path); !strings.Contains(p, "://") && !hasGlob(p) {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("file source %s: path %s does not exist (looked for %s); fix the path in its definition and run feast apply", src.Name, src.Path, p)
		}
	}
	return s.fileRelation(src.Path, strings.ToLower(src.FileFormat))
}

// kindOf maps a DuckDB type name to a column kind.
func kindOf(typ string) offline.Kind {
	t := strings.ToUpper(typ)
	switch {
	case strings.HasSuffix(t, "[]") || strings.HasPrefix(t, "STRUCT") || strings.HasPrefix(t, "MAP"):
		return offline.KindOther
	case strings.HasPrefix(t, "TIMESTAMP"):
		return offline.KindTimestamp
	case t == "DATE":
		return offline.KindDate
	case strings.HasSuffix(t, "INT") || strings.HasSuffix(t, "INTEGER") || t == "BIGINT" || t == "SMALLINT" || t == "TINYINT":
		return offline.KindInt
	case strings.HasPrefix(t, "DECIMAL") && strings.HasSuffix(strings.ReplaceAll(t, " ", ""), ",0)"):
		return offline.KindInt // DECIMAL(p,0) holds integers only
	case t == "FLOAT" || t == "DOUBLE" || t == "REAL" || strings.HasPrefix(t, "DECIMAL"):
		return offline.KindFloat
	case t == "VARCHAR" || strings.HasPrefix(t, "VARCHAR"):
		return offline.KindString
	case t == "BLOB":
		return offline.KindBytes
	case t == "BOOLEAN":
		return offline.KindBool
	}
	return offline.KindOther
}

func describe(ctx context.Context, conn *sql.Conn, relation string) ([]offline.Column, error) {
	rows, err := conn.QueryContext(ctx, "DESCRIBE SELECT * FROM "+relation)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var cols []offline.Column
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		name, _ := vals[0].(string)
		typ, _ := vals[1].(string)
		cols = append(cols, offline.Column{Name: name, Type: typ, Kind: kindOf(typ)})
	}
	return cols, rows.Err()
}

// GetHistoricalFeatures stages the entity rows in a temporary table on a
// connection the job keeps, checks them against the request and prepares
// the point-in-time query.
func (s *Store) GetHistoricalFeatures(ctx context.Context, req offline.HistoricalRequest) (offline.Job, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("get historical features: %w", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("get historical features: %w", err)
	}
	j := &job{s: s, conn: conn, table: s.tempName("__feast_entities"), staging: &staging{}}
	if err := j.prepare(ctx, &req); err != nil {
		j.Close()
		return nil, fmt.Errorf("get historical features: %w", err)
	}
	return j, nil
}

const rowCol = "__feast_row"

func (j *job) prepare(ctx context.Context, req *offline.HistoricalRequest) error {
	s := j.s
	table := s.dialect.QuoteIdent(j.table)
	rowID := "rowid"
	e := req.Entities
	// Object-store sources are read only as far as the entity rows need.
	var window windowFunc
	switch {
	case e.Records != nil:
		if err := s.stageRecords(ctx, j.conn, e.Records, j.table); err != nil {
			return fmt.Errorf("stage entity rows: %w", err)
		}
	case e.Path != "":
		var rel string
		var err error
		if objstore.IsRemote(e.Path) {
			rel, err = s.stageEntityFile(ctx, e.Path, j.staging)
		} else {
			rel, err = s.fileRelation(e.Path, offline.FileFormat(e.Path))
		}
		if err != nil {
			return fmt.Errorf("entity file: %w", err)
		}
		if _, err := j.conn.ExecContext(ctx, "CREATE TEMP TABLE "+table+" AS SELECT * FROM "+rel); err != nil {
			return fmt.Errorf("read entity file %s: %w", e.Path, err)
		}
	case e.Query != "":
		if _, err := j.conn.ExecContext(ctx, "CREATE TEMP TABLE "+table+" AS "+e.Query); err != nil {
			return fmt.Errorf("run entity query: %w", err)
		}
	default:
		now := s.opts.Now()
		window = entitylessWindow(req, now)
		views, start, end, err := offline.EntitylessPlan(req, s.readRelation(ctx, window, j.staging), now)
		if err != nil {
			return err
		}
		q, _ := sqlgen.EntitylessSQL(s.dialect, views, start, end, offline.EventTimestampColumn, rowCol)
		if _, err := j.conn.ExecContext(ctx, "CREATE TEMP TABLE "+table+" AS "+q); err != nil {
			return fmt.Errorf("select entity rows from sources: %w", err)
		}
		rowID = s.dialect.QuoteIdent(rowCol)
	}
	cols, err := describe(ctx, j.conn, table)
	if err != nil {
		return fmt.Errorf("describe entity rows: %w", err)
	}
	if rowID != "rowid" {
		cols = cols[:len(cols)-1] // the row number EntitylessSQL adds
	}
	// An entity column named rowid would hide DuckDB's row number, which
	// orders the result; it is renamed while the query runs and named
	// back in the output.
	var userRowid string
	for i, c := range cols {
		if rowID == "rowid" && strings.EqualFold(c.Name, "rowid") {
			q := s.dialect.QuoteIdent
			if _, err := j.conn.ExecContext(ctx, "ALTER TABLE "+table+" RENAME COLUMN "+q(c.Name)+" TO "+q(userRowidCol)); err != nil {
				return fmt.Errorf("stage entity rows: %w", err)
			}
			userRowid, cols[i].Name = c.Name, userRowidCol
		}
	}
	if window == nil {
		window = historicalWindow(req, time.Time{}, time.Time{})
		if hasRemote(req) {
			if lo, hi, ok := entityTimeRange(ctx, j.conn, s.dialect, j.table, cols); ok {
				window = historicalWindow(req, lo, hi)
			}
		}
	}
	plan, err := offline.PlanRequest(req, cols, s.readRelation(ctx, window, j.staging))
	if err != nil {
		return err
	}
	j.columns = plan.Columns
	if userRowid != "" {
		j.columns = slices.Clone(plan.Columns)
		for i, c := range j.columns {
			if c == userRowidCol {
				j.columns[i] = userRowid
			}
		}
	}
	h := sqlgen.Historical{
		Entities:        sqlgen.Entities{Relation: table, RowID: rowID, Columns: plan.EntityColumns, Timestamp: plan.Timestamp},
		Views:           plan.Views,
		FilterByCreated: req.FilterByCreatedTimestamp,
		Strategy:        s.opts.Strategy,
	}
	if req.FilterByCreatedTimestamp {
		h.Strategy = sqlgen.Window // the only one that filters by created ts
	}
	err = offline.CheckEntityTimes(s.dialect, h.Entities, func(q string, row *int64, value *string) (bool, error) {
		err := j.conn.QueryRowContext(ctx, q).Scan(row, value)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	if j.stmts, err = sqlgen.HistoricalStatements(s.dialect, h, j.table, false); err != nil {
		return err
	}
	if j.schemaStmts, err = sqlgen.HistoricalStatements(s.dialect, h, j.table, true); err != nil {
		return err
	}
	if userRowid != "" {
		rename := func(q string) string {
			return "SELECT * RENAME (" + s.dialect.QuoteIdent(userRowidCol) + " AS " + s.dialect.QuoteIdent(userRowid) + ") FROM (" + q + ") AS q"
		}
		j.stmts.Query, j.schemaStmts.Query = rename(j.stmts.Query), rename(j.schemaStmts.Query)
	}
	return nil
}

// userRowidCol is what an entity column named rowid is called while the
// query runs.
const userRowidCol = "__feast_user_rowid"

// run executes st's setup on the job's connection, then fn with its query,
// then its cleanup, which also runs after a failure.
func (j *job) run(ctx context.Context, st sqlgen.Statements, fn func(query string) error) (err error) {
	defer func() {
		for _, c := range st.Cleanup {
			if _, cerr := j.conn.ExecContext(context.WithoutCancel(ctx), c); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for _, stmt := range st.Setup {
		if _, err := j.conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return fn(st.Query)
}

// queryStream runs a query and streams its result as Arrow batches: DuckDB
// writes it to a temporary uncompressed Parquet file (streaming, spilling
// to its temp directory as needed) that is read back batch by batch and
// removed when the reader is released, after which onRelease runs when not
// nil. The reader reports the result's row count through NumRows.
func (s *Store) queryStream(ctx context.Context, conn *sql.Conn, query string, onRelease func()) (array.RecordReader, error) {
	path := filepath.Join(s.tmp, s.tempName("result")+".parquet")
	if _, err := conn.ExecContext(ctx, "COPY ("+query+") TO "+quoteString(path)+" (FORMAT parquet, COMPRESSION uncompressed)"); err != nil {
		os.Remove(path)
		return nil, err
	}
	rr, err := offline.ReadParquet(ctx, path, 64*1024, func() {
		os.Remove(path)
		if onRelease != nil {
			onRelease()
		}
	})
	if err != nil {
		os.Remove(path)
	}
	return rr, err
}

// job is a prepared retrieval holding a connection with the staged entity
// table.
type job struct {
	s     *Store
	conn  *sql.Conn
	table string
	// staging holds the object-store sources the job reads, until Close.
	staging *staging
	// stmts compute the result; schemaStmts the same result without rows.
	stmts, schemaStmts sqlgen.Statements
	columns            []string
}

// Query is the SQL the job runs, for logging and debugging.
func (j *job) Query() string { return j.stmts.String() }

func (j *job) Columns() []string { return j.columns }

func (j *job) Schema(ctx context.Context) (*arrow.Schema, error) {
	var schema *arrow.Schema
	err := j.run(ctx, j.schemaStmts, func(q string) error {
		rr, err := j.s.queryStream(ctx, j.conn, q, nil)
		if err != nil {
			return err
		}
		defer rr.Release()
		schema = rr.Schema()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("historical features schema: %w", err)
	}
	return schema, nil
}

// Reader runs the query to a temporary Parquet file (so the temporary
// tables can go before the first batch is read) and streams it.
func (j *job) Reader(ctx context.Context) (array.RecordReader, error) {
	var rr array.RecordReader
	err := j.run(ctx, j.stmts, func(q string) (err error) {
		rr, err = j.s.queryStream(ctx, j.conn, q, nil)
		return err
	})
	if err != nil {
		if rr != nil { // the result was written, its cleanup failed
			rr.Release()
		}
		return nil, fmt.Errorf("read historical features: %w", err)
	}
	return rr, nil
}

func (j *job) copyTo(ctx context.Context, path, format string) error {
	tmp := path + ".tmp"
	err := j.run(ctx, j.stmts, func(q string) error {
		_, err := j.conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (%s)", q, quoteString(tmp), format))
		return err
	})
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func (j *job) WriteParquet(ctx context.Context, path string) error {
	if err := j.copyTo(ctx, path, "FORMAT parquet, COMPRESSION zstd"); err != nil {
		return fmt.Errorf("write historical features to %s: %w", path, err)
	}
	return nil
}

func (j *job) WriteCSV(ctx context.Context, path string) error {
	if err := j.copyTo(ctx, path, "FORMAT csv, HEADER true"); err != nil {
		return fmt.Errorf("write historical features to %s: %w", path, err)
	}
	return nil
}

func (j *job) Close() error {
	if j.conn == nil {
		return nil
	}
	defer j.staging.Release()
	_, err := j.conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+j.s.dialect.QuoteIdent(j.table))
	err = errors.Join(err, j.conn.Close())
	j.conn = nil
	return err
}

// streamPull runs a pull query on a connection of its own and streams the
// result (offline.SQLPuller.Stream); the connection closes, and onRelease
// runs, when the reader is released.
func (s *Store) streamPull(ctx context.Context, query string, onRelease func()) (array.RecordReader, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	rr, err := s.queryStream(ctx, conn, query, func() { conn.Close(); onRelease() })
	if err != nil {
		conn.Close()
	}
	return rr, err
}
