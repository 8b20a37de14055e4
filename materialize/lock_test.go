package materialize_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/materialize"
)

// runLockerSuite checks mutual exclusion between two independent lockers
// (as two processes would have), the refusal message, waiting, and
// cancellation.
func runLockerSuite(t *testing.T, newLocker func(t *testing.T) materialize.Locker) {
	ctx := context.Background()
	a, b := newLocker(t), newLocker(t)
	project := testenv.UniqueName("lockproj")
	name := materialize.ViewLockName(project, "driver_hourly_stats")

	t.Run("refuse", func(t *testing.T) {
		l1, err := a.Lock(ctx, name, materialize.LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Lock(ctx, name, materialize.LockOptions{})
		var le *materialize.LockedError
		if !errors.As(err, &le) || !errors.Is(err, materialize.ErrLocked) {
			t.Fatalf("second acquirer: got %v, want a *LockedError", err)
		}
		if le.Name != "driver_hourly_stats" || !strings.Contains(err.Error(), "materialization of driver_hourly_stats is already running") {
			t.Errorf("message: %v", err)
		}
		if le.Holder == "" {
			t.Errorf("holder unknown in %v", err)
		}
		t.Logf("refusal: %v", err)
		// Another view of the same project is independent.
		other, err := b.Lock(ctx, materialize.ViewLockName(project, "other_view"), materialize.LockOptions{})
		if err != nil {
			t.Fatalf("lock of another view: %v", err)
		}
		if err := other.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := l1.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := l1.Unlock(); err != nil {
			t.Fatalf("second Unlock: %v", err)
		}
		l2, err := b.Lock(ctx, name, materialize.LockOptions{})
		if err != nil {
			t.Fatalf("lock after release: %v", err)
		}
		if err := l2.Unlock(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wait", func(t *testing.T) {
		l1, err := a.Lock(ctx, name, materialize.LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		var l2 materialize.Lock
		go func() {
			var err error
			l2, err = b.Lock(ctx, name, materialize.LockOptions{Wait: true, PollInterval: 20 * time.Millisecond})
			got <- err
		}()
		select {
		case err := <-got:
			t.Fatalf("waiter returned while the lock was held: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		if err := l1.Unlock(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("waiter did not get the lock after release")
		}
		if err := l2.Unlock(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		l1, err := a.Lock(ctx, name, materialize.LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer l1.Unlock()
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err = b.Lock(cctx, name, materialize.LockOptions{Wait: true, PollInterval: 20 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled wait: got %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("exclusion", func(t *testing.T) {
		// Many waiters over both lockers: never two inside at once.
		var inside, maxInside, done atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func(l materialize.Locker) {
				defer wg.Done()
				lk, err := l.Lock(ctx, name, materialize.LockOptions{Wait: true, PollInterval: 10 * time.Millisecond})
				if err != nil {
					errs <- err
					return
				}
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n)
				}
				time.Sleep(5 * time.Millisecond) // hold the critical section
				inside.Add(-1)
				done.Add(1)
				if err := lk.Unlock(); err != nil {
					errs <- err
				}
			}([]materialize.Locker{a, b}[i%2])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if maxInside.Load() != 1 || done.Load() != 8 {
			t.Fatalf("max holders at once %d (want 1), completed %d (want 8)", maxInside.Load(), done.Load())
		}
	})
}

func TestFileLocker(t *testing.T) {
	dir := t.TempDir()
	runLockerSuite(t, func(*testing.T) materialize.Locker { return materialize.NewFileLocker(dir) })
}

func TestFileLockerHolderRecorded(t *testing.T) {
	l := materialize.NewFileLocker(t.TempDir())
	lk, err := l.Lock(context.Background(), "p/v", materialize.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	_, err = l.Lock(context.Background(), "p/v", materialize.LockOptions{})
	if want := fmt.Sprintf("pid %d since ", os.Getpid()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want the holder %q", err, want)
	}
}

func TestPostgresLocker(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	runLockerSuite(t, func(t *testing.T) materialize.Locker {
		l, err := materialize.NewPostgresLocker(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}

func TestMySQLLocker(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	runLockerSuite(t, func(t *testing.T) materialize.Locker {
		l, err := materialize.NewMySQLLocker(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}

// TestNewLockerFromConfig checks that the registry configuration picks the
// backend: lockers made from the same config exclude each other, and file
// locks live next to the registry file.
func TestNewLockerFromConfig(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	cases := map[string]func(t *testing.T) config.RegistryConfig{
		"file": func(*testing.T) config.RegistryConfig {
			return config.RegistryConfig{Path: "data/registry.db"}
		},
		"sqlite": func(*testing.T) config.RegistryConfig {
			return config.RegistryConfig{RegistryType: "sql", Path: "sqlite:///data/registry.sqlite"}
		},
		"postgres": func(t *testing.T) config.RegistryConfig {
			u := strings.Replace(testenv.PostgresDSN(t), "postgres://", "postgresql://", 1)
			return config.RegistryConfig{RegistryType: "sql", Path: u}
		},
		"mysql": func(t *testing.T) config.RegistryConfig {
			c, err := mysql.ParseDSN(testenv.MySQLDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			return config.RegistryConfig{RegistryType: "sql", Path: fmt.Sprintf("mysql+pymysql://%s@%s/%s", c.User, c.Addr, c.DBName)}
		},
	}
	for name, reg := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := &config.RepoConfig{RepoPath: repo, Registry: reg(t)}
			a, err := materialize.NewLocker(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := materialize.NewLocker(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			lockName := materialize.ViewLockName(testenv.UniqueName("cfg"), "v")
			lk, err := a.Lock(ctx, lockName, materialize.LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer lk.Unlock()
			if _, err := b.Lock(ctx, lockName, materialize.LockOptions{}); !errors.Is(err, materialize.ErrLocked) {
				t.Fatalf("second locker from the same config: %v", err)
			}
			switch name {
			case "file", "sqlite":
				if m, _ := filepath.Glob(filepath.Join(repo, "data", ".feast-locks", "*.lock")); len(m) == 0 {
					t.Errorf("no lock file under %s/data/.feast-locks", repo)
				}
			}
		})
	}
}
