package materialize

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/redact"

	// Registers the "pgx" database/sql driver used for PostgreSQL registries.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Lock is a held materialization lock. Unlock releases it; it is safe to
// call more than once.
type Lock interface {
	Unlock() error
}

// Locker takes exclusive, cross-process locks on names. Two materialization
// runs of the same view, on any machine sharing the registry, must not write
// concurrently: the caller holds the view's lock (ViewLockName) from before
// reading the last recorded interval until after recording the new one.
type Locker interface {
	// Lock takes the named lock. When another holder has it, Lock returns a
	// *LockedError at once, or with opts.Wait blocks until the lock is free
	// or ctx is done.
	Lock(ctx context.Context, name string, opts LockOptions) (Lock, error)
	// Close releases the locker's resources (database connections). Held
	// locks must be unlocked first.
	Close() error
}

// LockOptions tunes Locker.Lock.
type LockOptions struct {
	// Wait blocks until the lock is free instead of failing with a
	// *LockedError. The zero value fails at once.
	Wait bool
	// PollInterval is how often a waiting file or MySQL lock retries;
	// default 250ms. PostgreSQL waits inside the server and ignores it.
	PollInterval time.Duration
}

func (o LockOptions) poll() time.Duration {
	if o.PollInterval <= 0 {
		return 250 * time.Millisecond
	}
	return o.PollInterval
}

// ErrLocked matches (errors.Is) every *LockedError.
var ErrLocked = errors.New("lock is held by another process")

// LockedError reports that another run holds a lock.
type LockedError struct {
	// Name is what is locked, such as "driver_hourly_stats".
	Name string
	// Holder describes the holder when the backend can tell ("pid 42 since
	// 2024-05-01T12:00:00Z on host worker-1"), else "".
	Holder string
}

func (e *LockedError) Error() string {
	holder := ""
	if e.Holder != "" {
		holder = " (" + e.Holder + ")"
	}
	return fmt.Sprintf("materialization of %s is already running%s; wait for it to finish, or pass --wait to queue behind it", e.Name, holder)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// ViewLockName is the lock name of one feature view of a project.
func ViewLockName(project, view string) string { return project + "/" + view }

// viewOf returns the view part of a lock name, for messages.
func viewOf(name string) string {
	if _, v, ok := strings.Cut(name, "/"); ok {
		return v
	}
	return name
}

// NewLocker returns the locker that fits the registry of cfg: a PostgreSQL
// advisory lock or a MySQL/MariaDB named lock (GET_LOCK) on the registry's
// database when the registry is SQL on one of those, and otherwise an flock
// on a file in the ".feast-locks" directory next to the registry file (or
// the SQLite registry database). A registry in an object store (s3://,
// gs://) has no shared file system: its locks are files under the system
// temporary directory and only exclude runs on the same machine.
func NewLocker(ctx context.Context, cfg *config.RepoConfig) (Locker, error) {
	reg := cfg.Registry
	if reg.RegistryType == "sql" {
		scheme, rest, ok := strings.Cut(reg.Path, "://")
		if !ok {
			return nil, fmt.Errorf("open materialization locker: registry url: want scheme://host/database")
		}
		scheme = strings.ToLower(scheme)
		switch {
		case strings.HasPrefix(scheme, "postgres"):
			return openSQLLocker(ctx, "pgx", "postgres://"+rest, pgLockerDialect{})
		case strings.HasPrefix(scheme, "mysql"), strings.HasPrefix(scheme, "mariadb"):
			dsn, err := mysqlLockDSN(rest)
			if err != nil {
				return nil, fmt.Errorf("open materialization locker: registry url: %w", redact.Error(err, reg.Path, "mysql://"+rest))
			}
			return openSQLLocker(ctx, "mysql", dsn, mysqlLockerDialect{})
		case strings.HasPrefix(scheme, "sqlite"):
			path := strings.TrimPrefix(rest, "/")
			path, _, _ = strings.Cut(path, "?")
			if !filepath.IsAbs(path) {
				path = cfg.ResolvePath(path)
			}
			return NewFileLocker(filepath.Join(filepath.Dir(path), ".feast-locks")), nil
		}
		return nil, fmt.Errorf("open materialization locker: registry url scheme %q is not supported", scheme)
	}
	if strings.Contains(reg.Path, "://") {
		return NewFileLocker(filepath.Join(os.TempDir(), "feast-locks")), nil
	}
	return NewFileLocker(filepath.Join(filepath.Dir(cfg.ResolvePath(reg.Path)), ".feast-locks")), nil
}

// mysqlLockDSN converts mysql://user:pass@host:port/db?params into a
// go-sql-driver DSN, as the SQL registry does.
func mysqlLockDSN(rest string) (string, error) {
	u, err := url.Parse("mysql://" + rest)
	if err != nil {
		return "", err
	}
	c := mysql.NewConfig()
	if u.User != nil {
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
	}
	c.DBName = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if sock := q.Get("unix_socket"); sock != "" {
		c.Net, c.Addr = "unix", sock
	} else {
		c.Net, c.Addr = "tcp", u.Host
		if u.Port() == "" {
			c.Addr = u.Hostname() + ":3306"
		}
	}
	return c.FormatDSN(), nil
}

// holderInfo describes this process for lock holders' messages.
func holderInfo(now time.Time) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d since %s on host %s", os.Getpid(), now.UTC().Format(time.RFC3339), host)
}

// FileLocker locks with flock(2) on one file per name in a directory. The
// lock is released by Unlock or when the process dies, so a crashed run
// never leaves a stale lock. The files are never deleted (deleting a lock
// file races with a concurrent locker).
type FileLocker struct {
	dir string
}

// NewFileLocker returns a locker keeping its lock files in dir, which is
// created on first use.
func NewFileLocker(dir string) *FileLocker { return &FileLocker{dir: dir} }

var _ Locker = (*FileLocker)(nil)

// Close does nothing.
func (l *FileLocker) Close() error { return nil }

// fileName maps a lock name to a safe file name.
func fileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteString("~")
		}
	}
	return fmt.Sprintf("%s-%08x.lock", b.String(), uint32(lockKey(name)))
}

// Lock takes the named lock.
func (l *FileLocker) Lock(ctx context.Context, name string, opts LockOptions) (Lock, error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	path := filepath.Join(l.dir, fileName(name))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	var ticker *time.Ticker
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !opts.Wait {
			holder, _ := os.ReadFile(path)
			f.Close()
			return nil, &LockedError{Name: viewOf(name), Holder: strings.TrimSpace(string(holder))}
		}
		if ticker == nil {
			ticker = time.NewTicker(opts.poll())
			defer ticker.Stop()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", name, ctx.Err())
		case <-ticker.C:
		}
	}
	// Record the holder ("pid 42 since ... on host worker-1") for the
	// messages of runs that find the lock taken.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holderInfo(time.Now())+"\n"), 0)
	}
	return &fileLock{f: f}, nil
}

type fileLock struct {
	f *os.File
}

func (l *fileLock) Unlock() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	_ = f.Truncate(0)
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, f.Close())
}

// lockKey derives a 64-bit lock key from a name (PostgreSQL advisory lock
// keys, MySQL lock names and file names).
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("feast-materialize:"))
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// sqlLockerDialect is what differs between PostgreSQL and MySQL session locks.
type sqlLockerDialect interface {
	// tag labels the session so that others can name the holder.
	tag(ctx context.Context, conn *sql.Conn, info string) error
	// try takes the lock without waiting (wait false) or waiting up to
	// about one poll (wait true, MySQL) or until ctx is done (PostgreSQL).
	try(ctx context.Context, conn *sql.Conn, name string, wait bool, poll time.Duration) (bool, error)
	// holder describes the session holding name, or "".
	holder(ctx context.Context, db *sql.DB, name string) string
	// unlock releases the lock.
	unlock(ctx context.Context, conn *sql.Conn, name string) error
}

// SQLLocker holds session-level locks on the registry's database, one
// dedicated connection per held lock: a PostgreSQL advisory lock
// (pg_advisory_lock) or a MySQL/MariaDB named lock (GET_LOCK). The server
// releases a lock when its session ends, so a crashed run never leaves a
// stale lock.
type SQLLocker struct {
	db      *sql.DB
	dialect sqlLockerDialect
}

var _ Locker = (*SQLLocker)(nil)

func openSQLLocker(ctx context.Context, driverName, dsn string, d sqlLockerDialect) (*SQLLocker, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open materialization locker: %w", redact.Error(err, dsn))
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open materialization locker: %w", redact.Error(err, dsn))
	}
	return &SQLLocker{db: db, dialect: d}, nil
}

// NewPostgresLocker returns a locker using advisory locks on the
// PostgreSQL database at dsn (a postgres:// URL or libpq key=value string).
func NewPostgresLocker(ctx context.Context, dsn string) (*SQLLocker, error) {
	return openSQLLocker(ctx, "pgx", dsn, pgLockerDialect{})
}

// NewMySQLLocker returns a locker using GET_LOCK on the MySQL or MariaDB
// server at dsn (a go-sql-driver DSN).
func NewMySQLLocker(ctx context.Context, dsn string) (*SQLLocker, error) {
	return openSQLLocker(ctx, "mysql", dsn, mysqlLockerDialect{})
}

// Close closes the locker's connection pool.
func (l *SQLLocker) Close() error { return l.db.Close() }

// Lock takes the named lock on a dedicated connection.
func (l *SQLLocker) Lock(ctx context.Context, name string, opts LockOptions) (Lock, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	fail := func(err error) (Lock, error) {
		// Discard the connection: it may hold the lock or a half-done wait.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		return nil, err
	}
	if err := l.dialect.tag(ctx, conn, "feast "+holderInfo(time.Now())); err != nil {
		return fail(fmt.Errorf("lock %s: %w", name, err))
	}
	for {
		got, err := l.dialect.try(ctx, conn, name, opts.Wait, opts.poll())
		if err != nil {
			if ctx.Err() != nil {
				return fail(fmt.Errorf("wait for lock %s: %w", name, ctx.Err()))
			}
			return fail(fmt.Errorf("lock %s: %w", name, err))
		}
		if got {
			return &sqlLock{conn: conn, name: name, dialect: l.dialect}, nil
		}
		if !opts.Wait {
			holder := l.dialect.holder(ctx, l.db, name)
			conn.Close()
			return nil, &LockedError{Name: viewOf(name), Holder: holder}
		}
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("wait for lock %s: %w", name, err))
		}
	}
}

type sqlLock struct {
	conn    *sql.Conn
	name    string
	dialect sqlLockerDialect
}

func (l *sqlLock) Unlock() error {
	if l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.dialect.unlock(ctx, conn, l.name); err != nil {
		// Never return a connection that may still hold the lock to the
		// pool: discarding it ends the session, which releases the lock.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		return fmt.Errorf("unlock %s: %w", l.name, err)
	}
	return conn.Close()
}

type pgLockerDialect struct{}

func (pgLockerDialect) tag(ctx context.Context, conn *sql.Conn, info string) error {
	if len(info) > 63 { // NAMEDATALEN - 1
		info = info[:63]
	}
	_, err := conn.ExecContext(ctx, "SELECT set_config('application_name', $1, false)", info)
	return err
}

func (pgLockerDialect) try(ctx context.Context, conn *sql.Conn, name string, wait bool, _ time.Duration) (bool, error) {
	if wait {
		// Blocks in the server; pgx cancels the query when ctx is done.
		_, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey(name))
		return err == nil, err
	}
	var got bool
	err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(name)).Scan(&got)
	return got, err
}

func (pgLockerDialect) holder(ctx context.Context, db *sql.DB, name string) string {
	// A bigint advisory lock appears in pg_locks as classid (high 32 bits),
	// objid (low 32 bits) and objsubid 1.
	key := uint64(lockKey(name))
	var app, addr sql.NullString
	var pid int64
	err := db.QueryRowContext(ctx, `SELECT a.pid, a.application_name, host(a.client_addr)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LIMIT 1`, int64(key>>32), int64(key&0xffffffff)).Scan(&pid, &app, &addr)
	if err != nil {
		return ""
	}
	s := app.String
	if s == "" {
		s = fmt.Sprintf("postgres backend %d", pid)
	}
	s = strings.TrimPrefix(s, "feast ")
	if addr.Valid && addr.String != "" {
		s += ", client " + addr.String
	}
	return s
}

func (pgLockerDialect) unlock(ctx context.Context, conn *sql.Conn, name string) error {
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", lockKey(name)).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errors.New("advisory lock was not held")
	}
	return nil
}

type mysqlLockerDialect struct{}

// mysqlLockName is the GET_LOCK name (at most 64 characters; named locks
// are server-wide, not per database).
func mysqlLockName(name string) string {
	return fmt.Sprintf("feast_materialize_%016x", uint64(lockKey(name)))
}

func (mysqlLockerDialect) tag(context.Context, *sql.Conn, string) error { return nil }

func (mysqlLockerDialect) try(ctx context.Context, conn *sql.Conn, name string, wait bool, poll time.Duration) (bool, error) {
	timeout := 0
	if wait {
		// GET_LOCK waits in the server; bound each wait so that a cancelled
		// ctx is noticed between attempts.
		timeout = max(1, int(poll.Round(time.Second)/time.Second))
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", mysqlLockName(name), timeout).Scan(&got); err != nil {
		return false, err
	}
	return got.Valid && got.Int64 == 1, nil
}

func (mysqlLockerDialect) holder(ctx context.Context, db *sql.DB, name string) string {
	var id sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", mysqlLockName(name)).Scan(&id); err != nil || !id.Valid {
		return ""
	}
	var host sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = ?", id.Int64).Scan(&host); err != nil || !host.Valid {
		return fmt.Sprintf("mysql connection %d", id.Int64)
	}
	return fmt.Sprintf("mysql connection %d from %s", id.Int64, host.String)
}

func (mysqlLockerDialect) unlock(ctx context.Context, conn *sql.Conn, name string) error {
	var ok sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", mysqlLockName(name)).Scan(&ok); err != nil {
		return err
	}
	if !ok.Valid || ok.Int64 != 1 {
		return errors.New("named lock was not held")
	}
	return nil
}
