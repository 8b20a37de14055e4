package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	_ "github.com/mattn/go-sqlite3" // the C library the SQLite online store links
	"github.com/valyala/fasthttp"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// serveSQLiteFloor is the floor proxy of the SQLite online store: the
// cheapest HTTP server that runs the SELECT a request needs on the store's
// own file, to show what an HTTP hop and SQLite's side of a read cost on
// this machine by themselves. On POST /floor?nf=N it takes the driver ids
// of the body's "driver_id" list (the only part of the JSON it reads; the
// ids matter here, unlike in Redis, because a B-tree walk to random keys
// touches other pages than one to the same keys), and runs the store's
// prepared SELECT (online/sqlite readSQL: entity_key IN (...), the key list
// padded to a power of two by repeating its last key, AND feature_name IN
// (...) when N is less than half the view's features; otherwise the whole
// entities, whose rows of other features it skips, as the store does) for
// the first N features. It answers with the stored value bytes concatenated: no registry, no entity-key serialization (the 10,000
// keys are serialized at start), no decoding, no JSON encoding. GET /health
// answers 200.
//
// The database is opened read-only through database/sql and
// github.com/mattn/go-sqlite3, with the store's read pool size, page cache
// and connection flags (no SQLite mutex); the file is already in WAL mode (the store set it when it wrote
// the entities), so this reader does not block feast serve or the writer.
func serveSQLiteFloor(project, addr, dbPath string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=1000&_cache_size=-32768&_mutex=no")
	if err != nil {
		return err
	}
	defer db.Close()
	conns := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	// The arguments are boxed once: a []byte or string put into an
	// interface allocates.
	keys := make([]any, nEntities)
	for e := range keys {
		keys[e], _ = online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{i64(int64(e))})
	}
	names := featureNames()
	feats := make([]any, nFeatures)
	for i, n := range names {
		feats[i] = n
	}
	tbl := `"` + strings.ReplaceAll(project+"_"+view, `"`, `""`) + `"`
	// Prepared SELECTs by [padded keys, named features (0: whole
	// entities)], prepared on first use.
	var stmts sync.Map
	stmt := func(k, nf int) (*sql.Stmt, error) {
		if st, ok := stmts.Load([2]int{k, nf}); ok {
			return st.(*sql.Stmt), nil
		}
		var named string
		if nf > 0 {
			named = " AND feature_name IN (" + strings.Repeat("?,", nf-1) + "?)"
		}
		q := "SELECT entity_key, feature_name, value, CAST(event_ts AS INTEGER) FROM " + tbl +
			" WHERE entity_key IN (" + strings.Repeat("?,", k-1) + "?)" + named
		if k == 1 {
			// As the store does: one key is not read back.
			q = "SELECT feature_name, value, CAST(event_ts AS INTEGER) FROM " + tbl +
				" WHERE entity_key = ?" + named
		}
		st, err := db.Prepare(q)
		if err != nil {
			return nil, err
		}
		if prev, loaded := stmts.LoadOrStore([2]int{k, nf}, st); loaded {
			st.Close()
			return prev.(*sql.Stmt), nil
		}
		return st, nil
	}
	argPool := sync.Pool{New: func() any { return new([]any) }}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		if string(c.Path()) == "/health" {
			return
		}
		nf := c.QueryArgs().GetUintOrZero("nf")
		if nf < 1 || nf > nFeatures {
			c.SetStatusCode(400)
			return
		}
		ap := argPool.Get().(*[]any)
		defer argPool.Put(ap)
		args, ok := appendDriverKeys((*ap)[:0], c.PostBody(), keys)
		if !ok || len(args) == 0 {
			c.SetStatusCode(400)
			return
		}
		ne := len(args)
		k := 1
		for k < ne {
			k <<= 1
		}
		for len(args) < k {
			args = append(args, args[ne-1])
		}
		named := nf
		if 2*nf >= nFeatures {
			named = 0
		} else {
			args = append(args, feats[:nf]...)
		}
		*ap = args
		st, err := stmt(k, named)
		if err != nil {
			c.SetStatusCode(500)
			return
		}
		// context.Background: a context that can end makes the driver
		// watch it from a goroutine per query, which the floor skips.
		rs, err := st.QueryContext(context.Background(), args...)
		if err != nil {
			c.SetStatusCode(500)
			return
		}
		defer rs.Close()
		out := c.Response.BodyWriter()
		var key, name, value, ts sql.RawBytes
		dest := []any{&key, &name, &value, &ts}
		if k == 1 {
			dest = dest[1:]
		}
		for rs.Next() {
			if err := rs.Scan(dest...); err != nil {
				c.SetStatusCode(500)
				return
			}
			if named == 0 && nf < nFeatures && !slices.Contains(names[:nf], string(name)) {
				continue
			}
			out.Write(value)
		}
		if rs.Err() != nil {
			c.SetStatusCode(500)
		}
	}}
	return serveUntilDone(ctx, srv, addr)
}

// appendDriverKeys appends to args the serialized keys of the ids in the
// body's "driver_id":[...] list, the whole of the JSON the floor reads. ok
// is false when the list is missing, malformed or holds an id outside keys.
func appendDriverKeys(args []any, body []byte, keys []any) (_ []any, ok bool) {
	const field = `"driver_id":[`
	i := bytes.Index(body, []byte(field))
	if i < 0 {
		return args, false
	}
	list, _, found := bytes.Cut(body[i+len(field):], []byte("]"))
	if !found {
		return args, false
	}
	for len(list) > 0 {
		var num []byte
		num, list, _ = bytes.Cut(list, []byte(","))
		num = bytes.TrimSpace(num)
		if len(num) == 0 || len(num) > 9 {
			return args, false
		}
		id := 0
		for _, d := range num {
			if d < '0' || d > '9' {
				return args, false
			}
			id = id*10 + int(d-'0')
		}
		if id >= len(keys) {
			return args, false
		}
		args = append(args, keys[id])
	}
	return args, true
}
