package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
)

// LockExclusive makes another connection hold an exclusive lock on the
// database at path, as a sqlite3 shell or a maintenance job in exclusive
// locking mode (PRAGMA locking_mode=EXCLUSIVE) does: no other connection
// can read until it lets go. It returns the function that releases the
// lock. Taking the lock needs every other connection closed (in WAL mode
// they share the lock index), so it is the state a store opened while that
// job runs meets.
func LockExclusive(t testing.TB, path string) (release func()) {
	t.Helper()
	// The same SQLite library must hold the lock: POSIX file locks do not
	// conflict within one process, so only the library's own bookkeeping
	// makes another connection of this process wait.
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE", "CREATE TABLE IF NOT EXISTS lock_holder (x)"} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("lock %s: %s: %v", path, q, err)
		}
	}
	return func() { db.Close() }
}

// TestOutageLocked opens the store on a database another process holds
// locked: Open fails after the read timeout with ErrUnavailable, where it
// used to wait the whole busy timeout (10s) while the pool connected, with
// no regard for the caller's context; once the lock is gone, it opens and
// reads.
func TestOutageLocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "online.db")
	s, err := Open(context.Background(), config.SQLiteOnlineConfig{Path: path}, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	release := LockExclusive(t, path)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	s, err = Open(ctx, config.SQLiteOnlineConfig{Path: path, ReadTimeout: 0.3}, dir)
	if err == nil {
		s.Close()
		t.Fatal("open of a locked database succeeded")
	}
	if !errors.Is(err, online.ErrUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("open of a locked database: %v after %v, want ErrUnavailable after about 0.3s", err, time.Since(start))
	}
	t.Logf("open of a locked database: %v after %v", err, time.Since(start))

	release()
	s, err = Open(ctx, config.SQLiteOnlineConfig{Path: path}, dir)
	if err != nil {
		t.Fatalf("open after the lock is released: %v", err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after the lock is released: %v", err)
	}
}

// TestMarkUnavailable: lock, open and I/O errors are outages, other
// SQLite errors and the caller's own deadline are not.
func TestMarkUnavailable(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), config.SQLiteOnlineConfig{Path: "online.db"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_, syntaxErr := s.db.ExecContext(ctx, "SELEKT 1")
	if syntaxErr == nil || errors.Is(markUnavailable(ctx, syntaxErr), online.ErrUnavailable) {
		t.Fatalf("a syntax error is not an outage: %v", syntaxErr)
	}
	cantOpen, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "missing", "dir", "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cantOpen.Close()
	openErr := cantOpen.PingContext(ctx)
	if openErr == nil || !errors.Is(markUnavailable(ctx, openErr), online.ErrUnavailable) {
		t.Fatalf("a database that cannot be opened is an outage: %v", openErr)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if errors.Is(markUnavailable(done, openErr), online.ErrUnavailable) {
		t.Fatal("errors after the caller gave up are not outages")
	}
}

// A read is bounded by the read pool's busy_timeout, which is the read
// timeout (readChunk runs without a deadline of its own): a read that meets
// another process's lock fails as unavailable after about the read timeout
// and names it, and reads again once the lock is gone. The writer keeps the
// long busy timeout writes need.
func TestReadWhileLocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "online.db")
	s, err := Open(context.Background(), config.SQLiteOnlineConfig{Path: path, ReadTimeout: 0.3}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	busy := func(db *sql.DB) int {
		var ms int
		if err := db.QueryRow("PRAGMA busy_timeout").Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	if got := busy(s.db); got != 300 {
		t.Fatalf("read pool busy_timeout %d ms, want the read timeout (300)", got)
	}
	if got := busy(s.wdb); got != int(writeBusyTimeout.Milliseconds()) {
		t.Fatalf("writer busy_timeout %d ms, want %d", got, writeBusyTimeout.Milliseconds())
	}
	// The lock needs every other connection of the file closed.
	s.db.SetMaxIdleConns(0)
	s.wdb.SetMaxIdleConns(0)
	release := LockExclusive(t, path)
	fv := onlinetest.View("locked", model.Field{Name: "f0", Type: model.Double})
	read := func() error {
		_, err := s.Read(context.Background(), []online.ReadRequest{{Project: "p", View: fv, Features: []string{"f0"}, EntityKeys: [][]byte{onlinetest.DriverKey(t, 1)}}})
		return err
	}
	start := time.Now()
	err = read()
	if !errors.Is(err, online.ErrUnavailable) || time.Since(start) > 2*time.Second || !strings.Contains(err.Error(), "read_timeout") {
		t.Fatalf("read of a locked database: %v after %v, want ErrUnavailable after about 0.3s", err, time.Since(start))
	}
	// Many reads at once: each waits at most the read timeout for a
	// connection, then at most the read timeout for the lock.
	var wg sync.WaitGroup
	errs := make([]error, 16)
	took := make([]time.Duration, len(errs))
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			errs[i] = read()
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, online.ErrUnavailable) || took[i] > 2*time.Second {
			t.Fatalf("read %d of 16 at once on a locked database: %v after %v, want ErrUnavailable within twice the read timeout", i, err, took[i])
		}
	}
	release()
	if err := read(); err != nil {
		t.Fatalf("read after the lock is released: %v", err)
	}
}

// A SELECT waits for a connection of the read pool at most the read timeout
// (then the store is unavailable) and no longer than its caller: with every
// slot taken, a read fails with the caller's deadline when that comes
// first, else as unavailable after the read timeout; once a slot is free it
// reads.
func TestReadSlotsBoundTheWait(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), config.SQLiteOnlineConfig{Path: "online.db", ReadTimeout: 0.3}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fv := onlinetest.View("slots", model.Field{Name: "f0", Type: model.Double})
	read := func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		_, err := s.Read(ctx, []online.ReadRequest{{Project: "p", View: fv, Features: []string{"f0"}, EntityKeys: [][]byte{onlinetest.DriverKey(t, 1)}}})
		return time.Since(start), err
	}
	for range cap(s.readSlots) {
		s.readSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if took, err := read(ctx); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Fatalf("read with a 100ms deadline, pool busy: %v after %v, want the caller's deadline", err, took)
	}
	took, err := read(context.Background())
	if !errors.Is(err, online.ErrUnavailable) || !strings.Contains(err.Error(), "read_timeout") || took < 250*time.Millisecond || took > 2*time.Second {
		t.Fatalf("read, pool busy: %v after %v, want ErrUnavailable naming read_timeout after about 0.3s", err, took)
	}
	<-s.readSlots
	if _, err := read(context.Background()); err != nil {
		t.Fatalf("read with a free slot: %v", err)
	}
}
