// Package postgres is the PostgreSQL offline store: sources are tables or
// queries, and the point-in-time join written by offline/sqlgen runs inside
// PostgreSQL. Entity rows given as Arrow or files are uploaded with COPY
// into a temporary table; only the result travels back, streamed row by
// row into Arrow record batches.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/redact"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/sqlgen"
)

// batchSize is the number of rows per streamed Arrow batch.
const batchSize = 64 * 1024

// Store is the PostgreSQL offline store. It is safe for concurrent use;
// each job holds one pooled connection (its entity table is temporary).
// Its PullLatest and PullAll are those of offline.SQLPuller, run on
// PostgreSQL.
type Store struct {
	// sqlPuller gives Store PullLatest and PullAll.
	sqlPuller
	pool    *pgxpool.Pool
	dialect sqlgen.PostgresDialect
	seq     atomic.Int64
	// Now returns the current time for entity-less retrieval without an
	// end; it is time.Now unless a test replaces it before use.
	Now func() time.Time
}

var _ offline.Store = (*Store)(nil)

// sqlPuller is embedded in Store under a name of its own, which keeps the
// field out of the package's API (its methods are promoted all the same).
type sqlPuller = offline.SQLPuller

// ConnString renders the connection settings as a pgx connection string:
// DSN when set, else key=value pairs from the fields.
func ConnString(cfg config.PostgresConfig) string {
	if cfg.DSN != "" {
		return cfg.DSN
	}
	var kv []string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, k+"='"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v)+"'")
		}
	}
	add("host", cfg.Host)
	if cfg.Port != 0 {
		add("port", strconv.Itoa(cfg.Port))
	}
	add("dbname", cfg.Database)
	add("user", cfg.User)
	add("password", cfg.Password)
	ssl := cfg.SSLMode
	if ssl == "" {
		ssl = "require"
		if ip := net.ParseIP(cfg.Host); cfg.Host == "" || cfg.Host == "localhost" || (ip != nil && ip.IsLoopback()) || strings.HasPrefix(cfg.Host, "/") {
			ssl = "disable"
		}
	}
	add("sslmode", ssl)
	add("sslkey", cfg.SSLKeyPath)
	add("sslcert", cfg.SSLCertPath)
	add("sslrootcert", cfg.SSLRootCertPath)
	if cfg.MaxConn > 0 {
		add("pool_max_conns", strconv.Itoa(cfg.MaxConn))
	}
	if cfg.MinConn > 0 {
		add("pool_min_conns", strconv.Itoa(cfg.MinConn))
	}
	return strings.Join(kv, " ")
}

// DefaultConnectTimeout bounds connecting to the offline PostgreSQL when
// neither connect_timeout nor a DSN's connect_timeout says otherwise: an
// unreachable database fails a retrieval, push or materialization in
// seconds instead of hanging until the caller's deadline.
const DefaultConnectTimeout = 10 * time.Second

// Open connects to PostgreSQL. Sessions run with time zone UTC (naive
// timestamps are UTC) and, when db_schema is set, that search_path.
func Open(ctx context.Context, cfg config.PostgresConfig) (*Store, error) {
	conn := ConnString(cfg)
	pc, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return nil, fmt.Errorf("open postgres offline store: %w", redact.Error(err, conn))
	}
	if !strings.Contains(conn, "connect_timeout") {
		pc.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		if cfg.ConnectTimeout > 0 {
			pc.ConnConfig.ConnectTimeout = time.Duration(cfg.ConnectTimeout * float64(time.Second))
		}
	}
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.DBSchema != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = cfg.DBSchema
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres offline store: %w", redact.Error(err, conn))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres offline store: %w", redact.Error(err, conn))
	}
	s := &Store{pool: pool, Now: time.Now}
	s.sqlPuller = sqlPuller{Dialect: s.dialect, Relation: s.relation, Stream: s.streamPull}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool is the connection pool, for callers running their own SQL.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) relation(src *model.DataSource) (string, error) {
	switch {
	case src.Kind != model.SourcePostgres && src.Kind != "":
		return "", fmt.Errorf("source %s is a %s source; the postgres offline store reads postgres sources: %w", src.Name, src.Kind, offline.ErrNotSupported)
	case src.Query != "":
		return "(" + src.Query + ")", nil
	case src.Table != "":
		return src.Table, nil
	}
	return "", fmt.Errorf("postgres source %s has neither table nor query", src.Name)
}

const rowCol = "__feast_row"

// GetHistoricalFeatures uploads the entity rows into a temporary table on a
// connection the job keeps, checks them against the request and prepares
// the point-in-time query.
func (s *Store) GetHistoricalFeatures(ctx context.Context, req offline.HistoricalRequest) (offline.Job, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("get historical features: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("get historical features: %w", err)
	}
	j := &job{s: s, conn: conn, table: fmt.Sprintf("__feast_entities_%d", s.seq.Add(1))}
	if err := j.prepare(ctx, &req); err != nil {
		j.Close()
		return nil, fmt.Errorf("get historical features: %w", err)
	}
	return j, nil
}

func (j *job) prepare(ctx context.Context, req *offline.HistoricalRequest) error {
	s, c := j.s, j.conn.Conn()
	table := s.dialect.QuoteIdent(j.table)
	e := req.Entities
	switch {
	case e.Records != nil:
		if err := s.upload(ctx, c, e.Records, j.table); err != nil {
			return fmt.Errorf("upload entity rows: %w", err)
		}
	case e.Path != "":
		rr, err := offline.ReadFile(ctx, e.Path)
		if err != nil {
			return fmt.Errorf("entity file: %w", err)
		}
		err = s.upload(ctx, c, rr, j.table)
		rr.Release()
		if err != nil {
			return fmt.Errorf("upload entity file %s: %w", e.Path, err)
		}
	case e.Query != "":
		q := fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT q.*, ROW_NUMBER() OVER () AS %s FROM (%s) AS q", table, rowCol, e.Query)
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("run entity query: %w", err)
		}
	default:
		views, start, end, err := offline.EntitylessPlan(req, s.relation, s.Now())
		if err != nil {
			return err
		}
		q, _ := sqlgen.EntitylessSQL(s.dialect, views, start, end, offline.EventTimestampColumn, rowCol)
		if _, err := c.Exec(ctx, "CREATE TEMP TABLE "+table+" AS "+q); err != nil {
			return fmt.Errorf("select entity rows from sources: %w", err)
		}
	}
	if _, err := c.Exec(ctx, "ANALYZE "+table); err != nil {
		return fmt.Errorf("analyze entity rows: %w", err)
	}
	rows, err := c.Query(ctx, "SELECT * FROM "+table+" LIMIT 0")
	if err != nil {
		return fmt.Errorf("describe entity rows: %w", err)
	}
	var cols []offline.Column
	for _, fd := range rows.FieldDescriptions() {
		if fd.Name == rowCol {
			continue
		}
		cols = append(cols, offline.Column{Name: fd.Name, Kind: kindOfField(fd), Type: typeName(c, fd.DataTypeOID)})
	}
	rows.Close()
	plan, err := offline.PlanRequest(req, cols, s.relation)
	if err != nil {
		return err
	}
	j.columns = plan.Columns
	entities := sqlgen.Entities{Relation: table, RowID: s.dialect.QuoteIdent(rowCol), Columns: plan.EntityColumns, Timestamp: plan.Timestamp}
	err = offline.CheckEntityTimes(s.dialect, entities, func(q string, row *int64, value *string) (bool, error) {
		err := c.QueryRow(ctx, q).Scan(row, value)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	j.query, err = sqlgen.HistoricalSQL(s.dialect, sqlgen.Historical{
		Entities:        entities,
		Views:           plan.Views,
		FilterByCreated: req.FilterByCreatedTimestamp,
		Strategy:        sqlgen.Window,
	})
	return err
}

func typeName(c *pgx.Conn, oid uint32) string {
	if t, ok := c.TypeMap().TypeForOID(oid); ok {
		return t.Name
	}
	return "oid " + strconv.FormatUint(uint64(oid), 10)
}

// upload creates a temporary table shaped like the Arrow stream plus a row
// number column, and fills it with COPY.
func (s *Store) upload(ctx context.Context, c *pgx.Conn, rr array.RecordReader, table string) error {
	var defs, names []string
	for _, f := range rr.Schema().Fields() {
		typ, err := pgType(f.Type)
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Name, err)
		}
		defs = append(defs, s.dialect.QuoteIdent(f.Name)+" "+typ)
		names = append(names, f.Name)
	}
	defs = append(defs, rowCol+" BIGINT")
	names = append(names, rowCol)
	if _, err := c.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (%s)", s.dialect.QuoteIdent(table), strings.Join(defs, ", "))); err != nil {
		return err
	}
	_, err := c.CopyFrom(ctx, pgx.Identifier{table}, names, &copySource{ctx: ctx, rr: rr, addRow: true})
	return err
}

// job is a prepared retrieval holding a connection with the uploaded entity
// table.
type job struct {
	s       *Store
	conn    *pgxpool.Conn
	table   string
	query   string
	columns []string
}

// Query is the SQL the job runs, for logging and debugging.
func (j *job) Query() string { return j.query }

func (j *job) Columns() []string { return j.columns }

func (j *job) Schema(ctx context.Context) (*arrow.Schema, error) {
	rows, err := queryRows(ctx, j.conn.Conn(), "SELECT * FROM ("+j.query+") AS q LIMIT 0")
	if err != nil {
		return nil, fmt.Errorf("historical features schema: %w", err)
	}
	r := newRowsReader(ctx, rows, 1, nil)
	defer r.Release()
	return r.Schema(), nil
}

func (j *job) Reader(ctx context.Context) (array.RecordReader, error) {
	rows, err := queryRows(ctx, j.conn.Conn(), j.query)
	if err != nil {
		return nil, fmt.Errorf("read historical features: %w", err)
	}
	return newRowsReader(ctx, rows, batchSize, nil), nil
}

func (j *job) WriteParquet(ctx context.Context, path string) error {
	rr, err := j.Reader(ctx)
	if err != nil {
		return err
	}
	defer rr.Release()
	if _, err := offline.WriteParquet(ctx, rr, path); err != nil {
		return fmt.Errorf("write historical features to %s: %w", path, err)
	}
	return nil
}

func (j *job) WriteCSV(ctx context.Context, path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write historical features to %s: %w", path, err)
	}
	defer os.Remove(tmp)
	_, err = j.conn.Conn().PgConn().CopyTo(ctx, f, "COPY ("+j.query+") TO STDOUT WITH (FORMAT csv, HEADER true)")
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write historical features to %s: %w", path, err)
	}
	return nil
}

func (j *job) Close() error {
	if j.conn == nil {
		return nil
	}
	_, err := j.conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+j.s.dialect.QuoteIdent(j.table))
	j.conn.Release()
	j.conn = nil
	return err
}

// streamPull runs a pull query on a pooled connection and streams its rows
// (offline.SQLPuller.Stream); the connection goes back to the pool when
// the reader is released.
func (s *Store) streamPull(ctx context.Context, query string) (array.RecordReader, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := queryRows(ctx, conn.Conn(), query)
	if err != nil {
		conn.Release()
		return nil, err
	}
	return newRowsReader(ctx, rows, batchSize, conn.Release), nil
}

// WriteBatch appends rows to a postgres table source with COPY (offline
// push). Columns named after a mapped feature or join key are written to
// the source column. Query sources cannot be written.
func (s *Store) WriteBatch(ctx context.Context, source *model.DataSource, rec arrow.RecordBatch) error {
	if source.Kind != model.SourcePostgres || source.Table == "" {
		return fmt.Errorf("offline push to %s: only postgres table sources are supported: %w", source.Name, offline.ErrNotSupported)
	}
	var names []string
	for _, f := range rec.Schema().Fields() {
		names = append(names, source.ColumnFor(f.Name))
	}
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	defer rr.Release()
	ident := pgx.Identifier(strings.Split(source.Table, "."))
	if _, err := s.pool.CopyFrom(ctx, ident, names, &copySource{ctx: ctx, rr: rr}); err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	return nil
}
