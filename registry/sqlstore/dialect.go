package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/feastgo/feast/internal/redact"

	// Drivers registered with database/sql: "pgx" and "sqlite".
	_ "github.com/jackc/pgx/v5/stdlib"
)

type dialectName int

const (
	postgres dialectName = iota
	mysqlDialect
	sqliteDialect
)

func (d dialectName) String() string {
	switch d {
	case postgres:
		return "postgresql"
	case mysqlDialect:
		return "mysql"
	default:
		return "sqlite"
	}
}

// target is a parsed registry URL: the dialect, the database/sql driver and
// its data source name.
type target struct {
	dialect dialectName
	driver  string
	dsn     string
	// file is the database file of a SQLite URL, as written.
	file string
}

// parseURL turns a SQLAlchemy-style URL, as Feast's feature_store.yaml holds
// it, into a database/sql driver and DSN.
func parseURL(raw string) (target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return target{}, fmt.Errorf("registry url %q: want scheme://host/database", redact.String(raw))
	}
	switch strings.ToLower(scheme) {
	case "postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2", "postgresql+pg8000", "postgresql+asyncpg":
		return target{dialect: postgres, driver: "pgx", dsn: "postgres://" + rest}, nil
	case "mysql", "mysql+pymysql", "mysql+mysqldb", "mysql+mysqlconnector", "mariadb", "mariadb+pymysql":
		dsn, err := mysqlDSN(rest)
		if err != nil {
			return target{}, fmt.Errorf("registry url %q: %w", redact.String(raw), redact.Error(err, raw, "mysql://"+rest))
		}
		return target{dialect: mysqlDialect, driver: "mysql", dsn: dsn}, nil
	case "sqlite", "sqlite+pysqlite":
		// SQLAlchemy: sqlite:///relative.db and sqlite:////absolute.db.
		path, query, _ := strings.Cut(rest, "?")
		path = strings.TrimPrefix(path, "/")
		if path == "" || path == ":memory:" {
			return target{}, fmt.Errorf("registry url %q: in-memory SQLite is not supported, give a file path", redact.String(raw))
		}
		if query != "" {
			return target{}, fmt.Errorf("registry url %q: query parameters are not supported for sqlite", redact.String(raw))
		}
		// WAL lets Load read while an Update writes; _txlock=immediate makes
		// every transaction take the write lock at BEGIN, which serializes
		// Updates across connections and processes (waiting up to the busy
		// timeout).
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
		return target{dialect: sqliteDialect, driver: "sqlite", dsn: dsn, file: path}, nil
	}
	return target{}, fmt.Errorf("registry url %q: unsupported scheme %q (want postgresql://, mysql:// or sqlite:///)", redact.String(raw), scheme)
}

// mysqlDSN converts the part of mysql://user:pass@host:port/db?params after
// the scheme into a go-sql-driver DSN. Query parameters are passed to the
// driver; pymysql's unix_socket selects a Unix socket.
func mysqlDSN(rest string) (string, error) {
	u, err := url.Parse("mysql://" + rest)
	if err != nil {
		return "", err
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", errors.New("no database name")
	}
	q := u.Query()
	if sock := q.Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
		q.Del("unix_socket")
	} else {
		cfg.Net, cfg.Addr = "tcp", u.Host
		if u.Port() == "" {
			cfg.Addr = u.Hostname() + ":3306"
		}
	}
	dsn := cfg.FormatDSN()
	if len(q) > 0 {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + q.Encode()
	}
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return "", err
	}
	return dsn, nil
}

func (d dialectName) columnType(t colType) string {
	switch t {
	case colName:
		return "VARCHAR(255)"
	case colBigInt:
		return "BIGINT"
	case colInt:
		return "INTEGER"
	case colText:
		return "TEXT"
	case colString50:
		return "VARCHAR(50)"
	case colString36:
		return "VARCHAR(36)"
	}
	switch d {
	case postgres:
		return "BYTEA"
	case mysqlDialect:
		return "LONGBLOB"
	default:
		return "BLOB"
	}
}

// createStatements returns the DDL that creates every missing table and
// index of the layout.
func (d dialectName) createStatements() []string {
	var out []string
	for _, t := range tableDefs {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", t.name)
		for i, c := range t.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", c.name, d.columnType(c.typ))
			if !c.nullable {
				b.WriteString(" NOT NULL")
			}
		}
		fmt.Fprintf(&b, ", PRIMARY KEY (%s)", strings.Join(t.pk, ", "))
		if t.index && d == mysqlDialect {
			// MySQL has no CREATE INDEX IF NOT EXISTS; declare it with the table.
			fmt.Fprintf(&b, ", INDEX idx_%s_project_id (project_id)", t.name)
		}
		b.WriteString(")")
		out = append(out, b.String())
		if t.index && d != mysqlDialect {
			out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS idx_%s_project_id ON %s (project_id)", t.name, t.name))
		}
	}
	return out
}

// textAsBytes converts a TEXT column to the binary type of the proto
// columns, so that feast_metadata fits into the load query's UNION.
func (d dialectName) textAsBytes(col string) string {
	switch d {
	case postgres:
		return "convert_to(" + col + ", 'UTF8')"
	case mysqlDialect:
		return "CAST(" + col + " AS BINARY)"
	default:
		return "CAST(" + col + " AS BLOB)"
	}
}

// rebind rewrites ? placeholders as $1, $2, ... for PostgreSQL. The
// statements of this package hold no ? inside literals.
func (d dialectName) rebind(q string) string {
	if d != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lockKey derives a project's 64-bit PostgreSQL advisory lock key.
func lockKey(project string) int64 {
	h := fnv.New64a()
	h.Write([]byte("feast-registry:"))
	h.Write([]byte(project))
	return int64(h.Sum64())
}

// lockName derives a project's MySQL GET_LOCK name (at most 64 characters;
// named locks are server-wide, not per database).
func lockName(project string) string {
	return fmt.Sprintf("feast_registry_%016x", uint64(lockKey(project)))
}

// schemaLockKey serializes schema creation across processes on PostgreSQL.
var schemaLockKey = lockKey("\x00schema")

// errLockTimeout is returned when MySQL's GET_LOCK gives up; it is retried.
var errLockTimeout = errors.New("wait for registry lock timed out")

// lockTimeoutSeconds bounds one wait for the MySQL named lock.
const lockTimeoutSeconds = 30

// beginLocked starts a transaction on conn that holds the project's
// exclusive update lock. release must be called after the transaction ends.
func (d dialectName) beginLocked(ctx context.Context, conn *sql.Conn, project string) (tx *sql.Tx, release func(), err error) {
	release = func() {}
	switch d {
	case mysqlDialect:
		// A session-level named lock, taken before the transaction starts so
		// that the transaction's snapshot includes the previous holder's commit.
		var got sql.NullInt64
		name := lockName(project)
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, lockTimeoutSeconds).Scan(&got); err != nil {
			return nil, release, fmt.Errorf("lock registry project %s: %w", project, err)
		}
		if !got.Valid || got.Int64 != 1 {
			return nil, release, fmt.Errorf("lock registry project %s: %w", project, errLockTimeout)
		}
		release = func() {
			var ok sql.NullInt64
			if err := conn.QueryRowContext(context.Background(), "SELECT RELEASE_LOCK(?)", name).Scan(&ok); err != nil {
				// Never hand a connection that may still hold the lock back
				// to the pool: discard it, which releases the lock.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
		tx, err = conn.BeginTx(ctx, nil)
		if err != nil {
			release()
			return nil, func() {}, fmt.Errorf("begin registry transaction: %w", err)
		}
		return tx, release, nil
	case postgres:
		tx, err = conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, release, fmt.Errorf("begin registry transaction: %w", err)
		}
		// Transaction-scoped: released by COMMIT or ROLLBACK. Statements after
		// it run at READ COMMITTED and see the previous holder's commit.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(project)); err != nil {
			_ = tx.Rollback()
			return nil, release, fmt.Errorf("lock registry project %s: %w", project, err)
		}
		return tx, release, nil
	default:
		// The DSN's _txlock=immediate makes this BEGIN IMMEDIATE.
		tx, err = conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, release, fmt.Errorf("begin registry transaction: %w", err)
		}
		return tx, release, nil
	}
}

// retryable reports whether err is a transient conflict after which the
// whole Update may run again: serialization failures, deadlocks, lock
// timeouts and SQLite's busy/locked errors.
func retryable(err error) bool {
	if errors.Is(err, errLockTimeout) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01" || pgErr.Code == "55P03"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == 1213 || myErr.Number == 1205
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code() & 0xff
		return code == 5 || code == 6 // SQLITE_BUSY, SQLITE_LOCKED
	}
	return false
}
