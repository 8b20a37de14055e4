package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
)

// checkpointer copies committed WAL frames into the database file on a
// connection of its own, so that a bulk load's writer does not stop for it.
//
// In WAL mode every commit appends the pages it changed to the WAL, and a
// checkpoint later copies them into the database file and syncs both files.
// Left to SQLite, the connection that commits past wal_autocheckpoint pages
// runs that checkpoint itself, inside Write, and a bulk load's single writer
// spent a third of its time there, much of it waiting for fsync
// (BENCHMARKS.md, "SQLite online store"). After every checkpointRows rows the
// writer kicks this goroutine instead, which runs a PASSIVE checkpoint: it
// copies what is committed without taking a lock that writers or readers
// wait for, and it syncs the same files in the same order, so durability is
// unchanged.
//
// SQLite starts the WAL over from its beginning only when a write
// transaction begins on a fully copied WAL, which a writer that never pauses
// (the next batch is always waiting) does not find while a pass is still
// copying the previous batch. The writer's wal_autocheckpoint (65,536 pages)
// therefore still bounds the WAL: past it, the writer checkpoints what the
// passes have not copied yet, usually the last batch, and the WAL starts
// over. Waiting for the passes before each write instead measured slower.
//
// The writer kicks after every checkpointRows rows and at least every
// checkpointEvery while rows trickle in, so a slow stream of pushes is
// checkpointed too. A pass that fails (a lock another process holds past
// the read timeout, a file it cannot open) is dropped with a warning at the
// first of a run of failures: the next kick or the writer's own checkpoint
// covers its frames.
type checkpointer struct {
	db    *sql.DB
	kicks chan struct{}
	done  chan struct{}
	// passes counts the passes that ran.
	passes atomic.Int64
	// path names the database in the warning of a failing pass.
	path string
}

func startCheckpointer(db *sql.DB, path string) *checkpointer {
	c := &checkpointer{db: db, path: path, kicks: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// kick asks for a pass; kicks while one is pending are merged into it. The
// caller holds the store's writeMu (stop runs under it too).
func (c *checkpointer) kick() {
	select {
	case c.kicks <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	failing := false
	for range c.kicks {
		// The result row (busy, WAL frames, frames copied) is not needed:
		// a pass that could not copy everything is finished by the next.
		var busy, frames, copied int64
		err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		switch {
		case err == nil:
			c.passes.Add(1)
			failing = false
		case !failing:
			// Once per run of failures: the writer's own checkpoints still
			// bound the WAL, but the writes wait for them again.
			failing = true
			slog.Warn("sqlite online store: background checkpoint failed; the writer checkpoints by itself until one succeeds",
				"path", c.path, "error", err)
		}
	}
}

// stop ends the goroutine after a pass in progress and closes its
// connection; it is called once, under the store's writeMu (a pass takes no
// lock of the store).
func (c *checkpointer) stop() error {
	close(c.kicks)
	<-c.done
	return c.db.Close()
}
