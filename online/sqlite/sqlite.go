// Package sqlite is the embedded online store: one SQLite file (SQLite's C
// library through github.com/mattn/go-sqlite3) in Feast's layout, so a
// Feast SQLite online store and this one can read each other's data.
//
// The binary already links C for DuckDB, and the C library takes about a
// third less CPU per write and read than the pure-Go translation
// (modernc.org/sqlite), which spends part of each statement in its context
// watcher and lock system calls (BENCHMARKS.md, "SQLite online store"). The
// registry's SQL store keeps modernc.org/sqlite: it does little work, and
// both read the same file format.
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
//
// Durability: the file is in WAL mode with synchronous=NORMAL. A committed
// write survives a crash of the process; after a power loss or an OS crash
// the writes since the last checkpoint may be lost, but the file is never
// corrupt. A background checkpointer (checkpoint.go) copies the WAL into the
// database after every 20,000 written rows and at least every second while
// writes trickle in, so that is normally the last second or so of writes,
// and at most 256 MiB of WAL (the writer's own wal_autocheckpoint, see
// Open). Each Write is one transaction on the one
// writing connection, with prepared multi-row INSERT ... ON CONFLICT
// statements; reads run on a pool of connections with prepared SELECTs.
// Connections are opened without SQLite's own mutex (SQLITE_OPEN_NOMUTEX):
// database/sql lends a connection to one goroutine at a time, and the
// mutex cost a tenth of a point read. The database is not memory-mapped
// (mmap_size stays 0) although that would save a read's pread calls: an
// I/O error on a mapped file is a signal that ends the process, where a
// read error is an outage the server answers with 503.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/mattn/go-sqlite3"

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

// writeBusyTimeout is how long the writer waits for a lock another
// process holds.
const writeBusyTimeout = 10 * time.Second

const (
	// readChunk bounds the entity keys of one SELECT ... IN (...).
	readChunk = 512
	// writeChunk bounds the rows of one multi-row INSERT: about 2.3
	// parameters per row for 10 features (insertSQL), well under SQLite's
	// 32766-parameter limit for any view under 16,000 features.
	writeChunk = 500
	// readCacheKiB and writeCacheKiB bound the page cache of each reading
	// connection and of the writing one.
	readCacheKiB  = 32 << 10
	writeCacheKiB = 64 << 10
	// walCheckpointPages is the writer's wal_autocheckpoint (see Open):
	// the background checkpointer normally copies the WAL long before it.
	walCheckpointPages = 65536
	// walSizeLimit is the journal_size_limit: the WAL file is truncated to
	// it once a checkpoint has copied everything.
	walSizeLimit = 64 << 20
	// checkpointRows is how many SQL rows the writer commits before it
	// asks the background checkpointer for a pass.
	checkpointRows = 20_000
	// checkpointEvery is the longest the writer waits between kicks while
	// it writes fewer rows.
	checkpointEvery = time.Second
	// maxParams is SQLite's limit on the parameters of one statement.
	maxParams = 32766
	// maxCachedFeatures bounds the feature list of a prepared read; longer
	// lists are read with statements prepared for the one read.
	maxCachedFeatures = 1024
)

// Store is the SQLite online store. It is safe for concurrent use: reads run
// in parallel on a connection pool, writes are serialized.
type Store struct {
	// db is the pool that reads; wdb is the one connection that writes
	// (DDL included), so its page cache stays valid from one batch to the
	// next: SQLite drops a connection's cache whenever another connection
	// of the file committed.
	db   *sql.DB
	wdb  *sql.DB
	path string
	// readTimeout bounds each SELECT's wait for a connection of the pool
	// (readSlots) and for a lock (the read pool's busy_timeout), and each
	// Ping: a database another process holds locked fails them
	// (unavailable) instead of holding them for the writers' busy timeout.
	// Writes wait up to writeBusyTimeout.
	readTimeout time.Duration
	// readSlots holds a token per connection of the read pool: a SELECT
	// takes one before it asks the pool for a connection, so that the
	// pool never makes it wait (see readChunk).
	readSlots chan struct{}
	// writeMu serializes writers of this process; busy_timeout covers
	// writers in other processes.
	writeMu sync.Mutex
	// created remembers tables this Store has created or seen, by name.
	created sync.Map
	// writeStmts holds each table's prepared full-chunk statements of the
	// writer, by table name; guarded by writeMu.
	writeStmts map[string]*tableStmts
	// readStmts holds prepared SELECTs of the read pool by readKey.
	readStmts sync.Map
	// ckpt copies the WAL into the database in the background (see
	// checkpointer); unwritten counts the SQL rows committed since the
	// last kick, guarded by writeMu.
	ckpt      *checkpointer
	unwritten int
	lastKick  time.Time
	// closed is set by Close, guarded by writeMu.
	closed bool
}

// tableStmts are the writer's prepared statements of one table.
type tableStmts struct {
	// insert writes chunkEntities entities of the feature list features
	// (the names joined by NUL).
	insert   *sql.Stmt
	features string
	stamps   *sql.Stmt // readChunk entity keys
}

func (t *tableStmts) close() {
	if t.insert != nil {
		t.insert.Close()
	}
	if t.stamps != nil {
		t.stamps.Close()
	}
}

var (
	_ online.Store          = (*Store)(nil)
	_ online.KeyOrderWriter = (*Store)(nil)
)

// PrefersKeyOrder implements online.KeyOrderWriter: a batch of new
// entities in key order lands on a few adjacent pages of the table's
// primary-key index, in hash order on pages all over it, each of which the
// commit then writes to the WAL (BenchmarkBulkLoad: 3.5-4x faster at 200k
// entities).
func (s *Store) PrefersKeyOrder() bool { return true }

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
	// The pools run these pragmas as they connect, without a context;
	// some of them read the file, so under a lock held by another process
	// they wait for the busy timeout. The first busy_timeout bounds that
	// wait by the read timeout; the last one sets the connection's own:
	// the read timeout for the read pool (which is what bounds a read, see
	// readChunk), the long wait writers need for the writer.
	//
	// Durability (WAL, synchronous NORMAL): a committed write survives a
	// crash of the process; after a power loss or an OS crash the last
	// writes since the previous checkpoint may be lost, but the file is
	// never corrupt. Checkpoints run in the background (checkpointer); the
	// writer checkpoints by itself only past wal_autocheckpoint pages (256
	// MiB of 4 KiB pages rather than SQLite's 4 MiB), which bounds the WAL
	// when the background falls behind. After a checkpoint that copied
	// everything, the WAL file is truncated to journal_size_limit.
	open := func(cacheKiB, checkpointPages int, busy time.Duration) *sql.DB {
		dsn := "file:" + path +
			"?_busy_timeout=" + strconv.FormatInt(max(1, readTimeout.Milliseconds()), 10) +
			"&_txlock=immediate&_mutex=no"
		return sql.OpenDB(connector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: pragmas(
			"journal_mode=WAL",
			"synchronous=NORMAL",
			"cache_size=-"+strconv.Itoa(cacheKiB),
			"wal_autocheckpoint="+strconv.Itoa(checkpointPages),
			"journal_size_limit="+strconv.Itoa(walSizeLimit),
			"temp_store=MEMORY",
			"busy_timeout="+strconv.FormatInt(max(1, busy.Milliseconds()), 10),
		)}})
	}
	db := open(readCacheKiB, walCheckpointPages, readTimeout)
	readConns := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(readConns)
	db.SetMaxIdleConns(readConns)
	db.SetConnMaxIdleTime(0)
	wdb := open(writeCacheKiB, walCheckpointPages, writeBusyTimeout)
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	// The checkpointer gives up on a lock after the read timeout: a pass
	// that cannot run is dropped, and Close waits for a pass in progress.
	cdb := open(readCacheKiB, walCheckpointPages, readTimeout)
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	cdb.SetConnMaxIdleTime(0)
	s := &Store{db: db, wdb: wdb, path: path, readTimeout: readTimeout, writeStmts: make(map[string]*tableStmts),
		readSlots: make(chan struct{}, readConns), ckpt: startCheckpointer(cdb, path)}
	if err := s.ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// connector opens connections of one database with a driver of its own,
// whose connect hook runs the store's pragmas.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// pragmas returns a connect hook running each PRAGMA in order.
func pragmas(list ...string) func(*sqlite3.SQLiteConn) error {
	return func(c *sqlite3.SQLiteConn) error {
		for _, p := range list {
			if _, err := c.Exec("PRAGMA "+p, nil); err != nil {
				return fmt.Errorf("PRAGMA %s: %w", p, err)
			}
		}
		return nil
	}
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
	release, err := s.readSlot(tctx)
	if err != nil {
		return err
	}
	defer release()
	var n int
	return check(markUnavailable(ctx, s.db.QueryRowContext(tctx, "SELECT count(*) FROM sqlite_master").Scan(&n)))
}

// errNoReadSlot: every connection of the read pool stayed busy for the
// read timeout.
var errNoReadSlot = errors.New("every connection of the read pool stayed busy")

// readSlot takes a token of readSlots, waiting at most the read timeout
// (then the store is unavailable: its reads queue up faster than they
// finish) or until ctx ends, and returns its release. The first attempt
// does not wait, which is the common case and costs no timer.
func (s *Store) readSlot(ctx context.Context) (release func(), err error) {
	select {
	case s.readSlots <- struct{}{}:
		return s.releaseSlot, nil
	default:
	}
	t := time.NewTimer(s.readTimeout)
	defer t.Stop()
	select {
	case s.readSlots <- struct{}{}:
		return s.releaseSlot, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, online.TimedOut(s.readTimeout, "online_store read_timeout", errNoReadSlot)
	}
}

func (s *Store) releaseSlot() { <-s.readSlots }

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
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrCantOpen, sqlite3.ErrIoErr:
			return online.Unavailable(err)
		}
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return online.Unavailable(err)
	}
	return err
}

// readError marks the outages of a read (markUnavailable) and says that a
// lock outlasted the read timeout, the busy_timeout of the read pool.
func (s *Store) readError(ctx context.Context, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) && ctx.Err() == nil {
		return online.TimedOut(s.readTimeout, "online_store read_timeout, waiting for another process's lock", err)
	}
	return markUnavailable(ctx, err)
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	s.writeMu.Lock()
	if s.closed {
		s.writeMu.Unlock()
		return nil
	}
	s.closed = true
	for tbl, st := range s.writeStmts {
		st.close()
		delete(s.writeStmts, tbl)
	}
	// Writers use the checkpointer under writeMu and stop once closed is
	// set.
	ckptErr := s.ckpt.stop()
	s.writeMu.Unlock()
	s.readStmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.readStmts.Delete(k)
		return true
	})
	return errors.Join(ckptErr, s.db.Close(), s.wdb.Close())
}

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
	if _, err := s.wdb.ExecContext(ctx, createSQL(tbl)); err != nil {
		return err
	}
	s.created.Store(tbl, true)
	return nil
}

// forget drops what the Store remembers of table tbl: that it exists and
// the writer's prepared statements. The caller holds writeMu.
func (s *Store) forget(tbl string) {
	s.created.Delete(tbl)
	if st, ok := s.writeStmts[tbl]; ok {
		st.close()
		delete(s.writeStmts, tbl)
	}
	// Prepared reads stay: a reader may be using them, and SQLite
	// prepares them again when the table comes back.
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
		s.forget(tbl)
		_, err := s.wdb.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(tbl))
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
		s.writeMu.Lock()
		s.forget(TableName(b.Project, b.View))
		s.writeMu.Unlock()
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
	nf := len(b.Features)
	if nf == 0 {
		// Nothing to store: every entity's newest row counts as written.
		n := len(online.NewestPerEntity(b.Rows))
		return online.WriteStats{Written: n, Skipped: len(b.Rows) - n}, nil
	}
	if entityParams(nf) > maxParams {
		return online.WriteStats{}, fmt.Errorf("%d features are more than one SQLite statement can write for an entity (at most %d): split the view", nf, (maxParams-3)/2)
	}
	for _, f := range b.Features {
		if strings.IndexByte(f, 0) >= 0 {
			return online.WriteStats{}, fmt.Errorf("feature name %q contains a NUL byte, which SQLite's SQL text cannot hold", f)
		}
	}
	for i := range b.Rows {
		if len(b.Rows[i].Values) != nf {
			return online.WriteStats{}, fmt.Errorf("row %d has %d values for %d features", i, len(b.Rows[i].Values), nf)
		}
	}
	tbl := TableName(b.Project, b.View)
	winners := online.NewestPerEntity(b.Rows)

	// Serialize and box every parameter before taking the lock, so that
	// the writer's critical section only binds and steps: per entity its
	// key and timestamps, per cell the value bytes and value_text (bound
	// as text, zero-copy from one arena).
	// ends holds each cell's end offsets in arena and texts (-1: no text).
	ends := make([][2]int, 0, len(winners)*nf)
	var arena, texts []byte
	for _, ri := range winners {
		for fi, v := range b.Rows[ri].Values {
			if !online.IsNull(v) {
				var err error
				if arena, err = online.AppendValue(arena, v); err != nil {
					return online.WriteStats{}, fmt.Errorf("serialize %s: %w", b.Features[fi], err)
				}
			}
			tend := -1
			if t, ok := online.AppendValueText(texts, v); ok {
				texts, tend = t, len(t)
			}
			ends = append(ends, [2]int{len(arena), tend})
		}
	}
	params := make([]any, 0, len(winners)*entityParams(nf))
	var voff, toff int
	for wi, ri := range winners {
		r := &b.Rows[ri]
		var created any
		if !r.CreatedTS.IsZero() {
			created = r.CreatedTS.Unix()
		}
		params = append(params, r.EntityKey, r.EventTS.Unix(), created)
		for _, end := range ends[wi*nf : (wi+1)*nf] {
			// A null value is stored as an empty blob, as Feast does.
			if end[0] == voff {
				params = append(params, emptyBlob)
			} else {
				params = append(params, arena[voff:end[0]:end[0]])
			}
			voff = end[0]
			if end[1] < 0 {
				params = append(params, nil)
				continue
			}
			params = append(params, unsafe.String(unsafe.SliceData(texts[toff:]), end[1]-toff))
			toff = end[1]
		}
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return online.WriteStats{}, errClosed
	}
	if err := s.ensureTable(ctx, tbl); err != nil {
		return online.WriteStats{}, err
	}
	stmts, err := s.tableStmts(ctx, tbl, b.Features)
	if err != nil {
		return online.WriteStats{}, err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return online.WriteStats{}, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit

	stored, err := storedTimestamps(ctx, tx, stmts.stamps, tbl, b.Rows, winners)
	if err != nil {
		return online.WriteStats{}, err
	}
	// Keep the winners strictly newer than the stored rows, packing their
	// parameters to the front.
	per := entityParams(nf)
	fresh := 0
	for wi, ri := range winners {
		if ts, ok := stored[string(b.Rows[ri].EntityKey)]; ok && b.Rows[ri].EventTS.Unix() <= ts {
			continue
		}
		if fresh != wi {
			copy(params[fresh*per:(fresh+1)*per], params[wi*per:(wi+1)*per])
		}
		fresh++
	}

	full := tx.StmtContext(ctx, stmts.insert)
	defer full.Close()
	chunk := chunkEntities(nf)
	for start := 0; start < fresh; start += chunk {
		end := min(start+chunk, fresh)
		stmt := full
		if end-start != chunk {
			// The last, shorter chunk of the batch.
			if stmt, err = tx.PrepareContext(ctx, insertSQL(tbl, b.Features, end-start)); err != nil {
				return online.WriteStats{}, err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, params[start*per:end*per]...); err != nil {
			return online.WriteStats{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return online.WriteStats{}, err
	}
	// A pass after every checkpointRows rows, and at least every
	// checkpointEvery while writes trickle in.
	if s.unwritten += fresh * nf; s.unwritten >= checkpointRows || (s.unwritten > 0 && time.Since(s.lastKick) >= checkpointEvery) {
		s.unwritten, s.lastKick = 0, time.Now()
		s.ckpt.kick()
	}
	return online.WriteStats{Written: fresh, Skipped: len(b.Rows) - fresh}, nil
}

// errClosed answers a write after Close.
var errClosed = errors.New("the store is closed")

// emptyBlob is the value of a null: an empty blob, not SQL NULL (a nil
// []byte binds as NULL).
var emptyBlob = []byte{}

// entityParams is the number of parameters of one entity in an INSERT of
// nf features: its key and two timestamps once, value and value_text per
// feature (numbered parameters, see insertSQL).
func entityParams(nf int) int { return 3 + 2*nf }

// chunkEntities is the number of entities of one full INSERT: writeChunk
// rows, at least one entity.
func chunkEntities(nf int) int { return max(1, writeChunk/nf) }

// tableStmts returns the writer's prepared statements of tbl for the
// features feats, preparing them on first use (and again when a batch
// brings another feature list). The caller holds writeMu.
func (s *Store) tableStmts(ctx context.Context, tbl string, feats []string) (*tableStmts, error) {
	key := strings.Join(feats, "\x00")
	st, ok := s.writeStmts[tbl]
	if ok && st.features == key {
		return st, nil
	}
	if !ok {
		st = &tableStmts{}
		var err error
		if st.stamps, err = s.wdb.PrepareContext(ctx, stampsSQL(tbl, readChunk)); err != nil {
			return nil, err
		}
		s.writeStmts[tbl] = st
	}
	if st.insert != nil {
		st.insert.Close()
		st.insert, st.features = nil, ""
	}
	var err error
	if st.insert, err = s.wdb.PrepareContext(ctx, insertSQL(tbl, feats, chunkEntities(len(feats)))); err != nil {
		return nil, err
	}
	st.features = key
	return st, nil
}

// insertSQL is the INSERT of n entities with the features feats: one row
// per entity and feature, the feature names as literals and each entity's
// key and timestamps bound once and referenced by number (?NNN) from each of
// its rows, which binds about a third of the parameters one-row-per-feature
// placeholders would.
func insertSQL(tbl string, feats []string, n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(quote(tbl))
	sb.WriteString(" (entity_key, feature_name, value, value_text, event_ts, created_ts) VALUES ")
	names := make([]string, len(feats))
	for i, f := range feats {
		names[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	per := entityParams(len(feats))
	param := func(i int) {
		sb.WriteByte('?')
		sb.WriteString(strconv.Itoa(i))
	}
	for e := range n {
		base := e*per + 1
		for fi, name := range names {
			if e > 0 || fi > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			param(base)
			sb.WriteByte(',')
			sb.WriteString(name)
			sb.WriteByte(',')
			param(base + 3 + 2*fi)
			sb.WriteByte(',')
			param(base + 4 + 2*fi)
			sb.WriteByte(',')
			param(base + 1)
			sb.WriteByte(',')
			param(base + 2)
			sb.WriteByte(')')
		}
	}
	sb.WriteString(` ON CONFLICT (entity_key, feature_name) DO UPDATE SET
	value = excluded.value, value_text = excluded.value_text,
	event_ts = excluded.event_ts, created_ts = excluded.created_ts`)
	return sb.String()
}

func stampsSQL(tbl string, n int) string {
	return "SELECT entity_key, max(event_ts) FROM " + quote(tbl) +
		" WHERE entity_key IN (" + placeholders(n) + ") GROUP BY entity_key"
}

// storedTimestamps returns the newest stored event timestamp (epoch seconds)
// of each winner's entity that has rows. full is the prepared SELECT of
// readChunk keys; a shorter last chunk repeats its last key, which SQLite's
// IN list holds once.
func storedTimestamps(ctx context.Context, tx *sql.Tx, full *sql.Stmt, tbl string, rows []online.Row, winners []int) (map[string]int64, error) {
	out := make(map[string]int64)
	stmt := tx.StmtContext(ctx, full)
	defer stmt.Close()
	args := make([]any, readChunk)
	var key sql.RawBytes
	var ts sql.NullInt64
	for start := 0; start < len(winners); start += readChunk {
		end := min(start+readChunk, len(winners))
		for i := range args {
			args[i] = rows[winners[min(start+i, end-1)]].EntityKey
		}
		rs, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("read stored timestamps: %w", err)
		}
		for rs.Next() {
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

// Read answers each request with SELECTs of at most 512 entity keys. A view
// whose table does not exist reads as not found. The read timeout bounds
// each SELECT's waits, for a connection of the pool and for a lock another
// process holds (a database that makes one wait longer is unavailable),
// not the whole read, so a large read on a busy machine is not taken for
// an outage.
//
// The SELECTs are prepared once per table, number of features (none when
// the request reads whole entities, see wholeEntities) and number of keys;
// the key list is padded to the next power of two by repeating its last key
// (SQLite's IN list holds it once), so a table has at most ten statements
// per feature count.
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

// readKey names a prepared SELECT of the read pool: its table and its
// numbers of entity-key and feature-name parameters; feats 0 reads every
// feature of the keys (see wholeEntities).
type readKey struct {
	table       string
	keys, feats int
}

func readSQL(tbl string, keys, feats int) string {
	// CAST: the column is declared timestamp, which the driver would
	// return as a time.Time; the expression has no declared type.
	var features string
	if feats > 0 {
		features = " AND feature_name IN (" + placeholders(feats) + ")"
	}
	if keys == 1 {
		// One key: every row is its own, so the key is not read back (the
		// driver copies each blob it returns).
		return "SELECT feature_name, value, CAST(event_ts AS INTEGER) FROM " + quote(tbl) +
			" WHERE entity_key = ?" + features
	}
	return "SELECT entity_key, feature_name, value, CAST(event_ts AS INTEGER) FROM " + quote(tbl) +
		" WHERE entity_key IN (" + placeholders(keys) + ")" + features
}

// wholeEntities reports whether a read of nf of the view's features reads
// every row of its entities and drops the others (scan skips features it
// was not asked for) rather than naming the features: one range of the
// primary-key index per entity instead of a lookup per feature, about a
// fifth less time for a whole 10-feature entity, and no worse while the
// request names at least half of the view's features. Rows of features
// the view no longer has are read and dropped too.
func wholeEntities(nf int, view *model.FeatureView) bool {
	return 2*nf >= len(view.Features)
}

// pow2 returns the least power of two ≥ n.
func pow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// readStmt returns the prepared SELECT of k, preparing it on first use.
func (s *Store) readStmt(ctx context.Context, k readKey) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, readSQL(k.table, k.keys, k.feats))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readIndex finds the positions of a read's entity keys and features.
type readIndex struct {
	keys [][]byte
	// first maps a key to its first position and next chains the later
	// positions of a key requested more than once (-1 ends a chain); both
	// are nil for a single key.
	first map[string]int
	next  []int
	feats []string
	// featIdx is nil for short feature lists, which are searched in order.
	featIdx map[string]int
}

func newReadIndex(keys [][]byte, feats []string) *readIndex {
	ix := &readIndex{keys: keys, feats: feats}
	if len(keys) > 1 {
		ix.first = make(map[string]int, len(keys))
		ix.next = make([]int, len(keys))
		last := make(map[string]int, len(keys))
		for i, k := range keys {
			ix.next[i] = -1
			if j, ok := last[string(k)]; ok {
				ix.next[j] = i
			} else {
				ix.first[string(k)] = i
			}
			last[string(k)] = i
		}
	}
	if len(feats) > 16 {
		ix.featIdx = make(map[string]int, len(feats))
		for i, f := range feats {
			ix.featIdx[f] = i
		}
	}
	return ix
}

// key returns the first position of key, or -1.
func (ix *readIndex) key(key []byte) int {
	if ix.first == nil {
		if string(key) == string(ix.keys[0]) {
			return 0
		}
		return -1
	}
	if i, ok := ix.first[string(key)]; ok {
		return i
	}
	return -1
}

// feature returns the position of name, or -1.
func (ix *readIndex) feature(name []byte) int {
	if ix.featIdx != nil {
		if i, ok := ix.featIdx[string(name)]; ok {
			return i
		}
		return -1
	}
	for i, f := range ix.feats {
		if string(name) == f {
			return i
		}
	}
	return -1
}

func (s *Store) read(ctx context.Context, req *online.ReadRequest) (online.ReadResult, error) {
	nf := len(req.Features)
	res := make(online.ReadResult, len(req.EntityKeys))
	flat := make([]online.FeatureValue, len(req.EntityKeys)*nf)
	for i := range res {
		res[i] = flat[i*nf : (i+1)*nf : (i+1)*nf]
	}
	// The values of the read, allocated together on the first row found:
	// one per requested cell. A table that another writer gave a feature
	// name twice (as TEXT and as a BLOB, which SQLite keeps apart) hands
	// more rows than cells; they get a second allocation.
	var vals []types.Value
	err := s.scan(ctx, req, func(ix *readIndex, ei, fi int, name, value []byte, ts int64) error {
		if len(vals) == 0 {
			vals = make([]types.Value, len(req.EntityKeys)*nf)
		}
		v := &vals[0]
		vals = vals[1:]
		if len(value) > 0 {
			if err := online.UnmarshalValue(value, v); err != nil {
				return fmt.Errorf("decode %s: %w", name, err)
			}
		}
		fv := online.FeatureValue{Value: v, EventTS: time.Unix(ts, 0).UTC(), Found: true}
		for ; ei >= 0; ei = ix.nextKey(ei) {
			res[ei][fi] = fv
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// rowFunc receives one stored row of a scan: the first position of its
// entity among the request's keys (the later ones follow ix.nextKey), the
// position of its feature, and its bytes, valid only until it returns.
type rowFunc func(ix *readIndex, ei, fi int, name, value []byte, eventTS int64) error

// scan runs the SELECTs of req, at most readChunk keys each, and hands
// each row that belongs to the request to put. A view whose table does not
// exist has no rows.
func (s *Store) scan(ctx context.Context, req *online.ReadRequest, put rowFunc) error {
	nf := len(req.Features)
	if len(req.EntityKeys) == 0 || nf == 0 {
		return nil
	}
	ix := newReadIndex(req.EntityKeys, req.Features)
	tbl := TableName(req.Project, req.View)
	keys := req.EntityKeys
	feats := nf
	if wholeEntities(nf, req.View) {
		feats = 0
	}
	cached := feats <= maxCachedFeatures
	var args []any
	for start := 0; start < len(keys); start += readChunk {
		end := min(start+readChunk, len(keys))
		n := end - start
		var q readKey
		if cached {
			q = readKey{table: tbl, keys: pow2(n), feats: feats}
		} else {
			q = readKey{table: tbl, keys: n, feats: feats}
		}
		if need := q.keys + q.feats; cap(args) < need {
			args = make([]any, need)
		}
		args = args[:q.keys+q.feats]
		for i := range q.keys {
			args[i] = keys[start+min(i, n-1)]
		}
		if q.feats > 0 {
			for i, f := range req.Features {
				args[q.keys+i] = f
			}
		}
		found, err := s.readChunk(ctx, q, cached, args, ix, put)
		if err != nil {
			return err
		}
		if !found {
			return nil // no table
		}
	}
	return nil
}

// readChunk runs one SELECT of scan and hands its rows to put. found is
// false when the view's table does not exist.
func (s *Store) readChunk(ctx context.Context, q readKey, cached bool, args []any, ix *readIndex, put rowFunc) (found bool, err error) {
	// A SELECT waits for two things, each bounded by the read timeout:
	// a connection of the pool (readSlot, which also honours ctx) and a
	// lock another process holds (the read pool's busy_timeout). Holding a
	// slot, the pool has a connection for it, so the query itself runs
	// without a deadline of its own: a context that can end would cost a
	// goroutine in database/sql and a cancellation hook in the driver per
	// query, about a tenth of a point read. A caller that gives up during
	// the query waits for it; a read whose disk hangs is not bounded.
	if err := ctx.Err(); err != nil {
		return false, err
	}
	release, err := s.readSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	qctx := context.WithoutCancel(ctx)
	defer func() {
		if err != nil {
			err = s.readError(ctx, err)
		}
	}()
	var rs *sql.Rows
	if cached {
		var st *sql.Stmt
		if st, err = s.readStmt(qctx, q); err == nil {
			rs, err = st.QueryContext(qctx, args...)
		}
	} else {
		rs, err = s.db.QueryContext(qctx, readSQL(q.table, q.keys, q.feats), args...)
	}
	if err != nil {
		if isNoTable(err) {
			return false, nil
		}
		return false, err
	}
	defer rs.Close()
	// The position of a one-key chunk's key (its first, see nextKey).
	single := -1
	if q.keys == 1 {
		single = ix.key(args[0].([]byte))
	}
	var key, name, value sql.RawBytes
	var ts sql.NullInt64
	for rs.Next() {
		ei := single
		if q.keys == 1 {
			err = rs.Scan(&name, &value, &ts)
		} else {
			err = rs.Scan(&key, &name, &value, &ts)
			ei = ix.key(key)
		}
		if err != nil {
			return false, err
		}
		fi := ix.feature(name)
		if fi < 0 || ei < 0 {
			continue
		}
		if err := put(ix, ei, fi, name, value, ts.Int64); err != nil {
			return false, err
		}
	}
	if err := rs.Close(); err != nil {
		return false, err
	}
	return true, rs.Err()
}

// nextKey returns the next position of the key at position i, or -1.
func (ix *readIndex) nextKey(i int) int {
	if ix.next == nil {
		return -1
	}
	return ix.next[i]
}

func isNoTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}
