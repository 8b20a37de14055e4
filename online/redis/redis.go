// Package redis is the Redis online store, in exactly Feast's layout
// (feast-formats.md §3.2), so a Feast deployment and this one can share a
// Redis:
//
//   - key: serialized entity key (v3) followed by the project name's bytes;
//     one HASH per entity and project, shared by every view with the same
//     join keys;
//   - field of a feature: online.RedisFieldHash(view, feature), 4 bytes;
//   - value: serialized feast.types.Value (empty bytes for null);
//   - field "_ts:<view>": serialized google.protobuf.Timestamp of the row's
//     event timestamp.
//
// Writes are conditional: a row replaces a view's values for an entity only
// when its event timestamp is strictly newer than the stored "_ts:<view>".
// Feast checks this client-side between two pipelines, which lets
// concurrent writers overwrite newer data with older; here the check and the
// HSET run atomically in a Lua script, one EVALSHA per entity, all in one
// pipeline. With skip_dedup: true writes are unconditional HSETs, as in
// Feast.
//
// The client is rueidis: commands issued concurrently (reads of concurrent
// online requests, say) are pipelined together on a few shared connections,
// so a busy server makes fewer system calls per request than it would with
// one connection per request.
package redis

import (
	"context"
	"crypto/sha1" //nolint:gosec // EVALSHA names scripts by SHA-1
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/redis/rueidis"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// Redis types of config.RedisOnlineConfig.RedisType.
const (
	TypeRedis    = "redis"
	TypeCluster  = "redis_cluster"
	TypeSentinel = "redis_sentinel"
)

// writeScript sets a view's fields in entity hashes whose stored event
// timestamp is older than the row's, and returns one 1 (written) or 0
// (skipped) per key.
//
//	KEYS       entity hash keys, one per row
//	ARGV[1]    TTL seconds (0 = none)
//	ARGV[2]    "_ts:<view>"
//	ARGV[3]    number of features nf
//	ARGV[4..]  nf feature fields
//	then per key: event seconds, event nanos (decimal), serialized
//	Timestamp, nf serialized values
//
// The stored Timestamp is decoded from its protobuf varints (fields 1 and
// 2); negative seconds are ten-byte two's complement varints.
const writeScript = `
local function decode(cur)
  local s, n, i, len = 0, 0, 1, #cur
  while i <= len do
    local tag = string.byte(cur, i)
    i = i + 1
    local v, m, start, b = 0, 1, i, 0
    repeat
      b = string.byte(cur, i)
      i = i + 1
      v = v + (b % 128) * m
      m = m * 128
    until b < 128 or i > len
    if i - start >= 10 then
      v, m = 0, 1
      for j = start, start + 8 do
        v = v + (127 - string.byte(cur, j) % 128) * m
        m = m * 128
      end
      v = -v - 1
    end
    if tag == 8 then s = v elseif tag == 16 then n = v end
  end
  return s, n
end
local ttl, tsf, nf = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local stride, off = 3 + nf, 4 + nf
local h = {tsf, ''}
for f = 1, nf do h[2 * f + 1] = ARGV[3 + f] end
local out = {}
for k = 1, #KEYS do
  local b = off + (k - 1) * stride
  local ok = 1
  local cur = redis.call('HGET', KEYS[k], tsf)
  if cur then
    local s, n = decode(cur)
    local ns, nn = tonumber(ARGV[b]), tonumber(ARGV[b + 1])
    if ns < s or (ns == s and nn <= n) then ok = 0 end
  end
  if ok == 1 then
    h[2] = ARGV[b + 2]
    for f = 1, nf do h[2 * f + 2] = ARGV[b + 2 + f] end
    local last, i = #h, 1
    while i <= last do
      local j = i + 199
      if j > last then j = last end
      redis.call('HSET', KEYS[k], unpack(h, i, j))
      i = j + 1
    end
    if ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) end
  end
  out[k] = ok
end
return out
`

// scriptKeys is the number of rows one script call writes on a single
// server. A script blocks the server while it runs; 100 rows take well
// under a millisecond. Cluster clients send one row per call, since the
// keys of one call must live in one slot.
const scriptKeys = 100

// scriptSHA is the SHA-1 of writeScript, as EVALSHA names it.
var scriptSHA = func() string {
	sum := sha1.Sum([]byte(writeScript))
	return hex.EncodeToString(sum[:])
}()

// Store is the Redis online store. It is safe for concurrent use.
type Store struct {
	client rueidis.Client
	// cluster is set for redis_cluster: script calls then hold one key
	// each, and SCAN runs on every node.
	cluster   bool
	ttl       int64
	skipDedup bool
	// readTimeout bounds each Read and Ping (socket_timeout).
	readTimeout time.Duration
	fields      fieldCache
}

var _ online.Store = (*Store)(nil)

// Open connects to the servers of cfg and checks that they answer.
func Open(ctx context.Context, cfg config.RedisOnlineConfig) (*Store, error) {
	co, err := ParseConnectionString(cfg.ConnectionString)
	if err != nil {
		return nil, fmt.Errorf("redis: open: %w", err)
	}
	s := &Store{ttl: int64(cfg.KeyTTLSeconds), skipDedup: cfg.SkipDedup, readTimeout: co.ReadTimeout}
	if s.readTimeout == 0 {
		s.readTimeout = DefaultReadTimeout
	}
	dial := co.DialTimeout
	if dial == 0 {
		dial = DefaultDialTimeout
	}
	opt := rueidis.ClientOption{
		InitAddress: co.Addrs, Username: co.Username, Password: co.Password, SelectDB: co.DB,
		TLSConfig: co.TLSConfig(),
		// Client-side caching (CLIENT TRACKING) is off: reads go to the
		// server, so a value is never older than the last write.
		DisableCache: true,
		Dialer:       net.Dialer{Timeout: dial},
		// rueidis retries read-only commands on network errors until the
		// context is done: against a server that is down, a read would
		// take its whole timeout and report only the deadline. Two quick
		// retries ride out a dropped connection; then the cause is returned.
		RetryDelay: retryDelay,
	}
	switch cfg.RedisType {
	case "", TypeRedis:
		opt.InitAddress = co.Addrs[:1]
		opt.ForceSingleClient = true
	case TypeCluster:
		s.cluster = true
		// Redis Cluster has only database 0 and refuses SELECT; a db in the
		// connection string is ignored, as Feast's cluster client does.
		opt.SelectDB = 0
	case TypeSentinel:
		if cfg.SentinelMaster == "" {
			return nil, errors.New("redis: open: redis_sentinel needs sentinel_master")
		}
		opt.Sentinel = rueidis.SentinelOption{MasterSet: cfg.SentinelMaster, TLSConfig: co.TLSConfig()}
	default:
		return nil, fmt.Errorf("redis: open: unknown redis_type %q (want %s, %s or %s)", cfg.RedisType, TypeRedis, TypeCluster, TypeSentinel)
	}
	if s.client, err = rueidis.NewClient(opt); err != nil {
		return nil, fmt.Errorf("redis: open %s: %w", strings.Join(co.Addrs, ","), markUnavailable(ctx, err))
	}
	if err := s.ping(ctx); err != nil {
		s.client.Close()
		return nil, fmt.Errorf("redis: open %s: %w", strings.Join(co.Addrs, ","), err)
	}
	if !s.skipDedup {
		if err := s.loadScript(ctx); err != nil {
			s.client.Close()
			return nil, fmt.Errorf("redis: open: %w", markUnavailable(ctx, err))
		}
	}
	return s, nil
}

// maxReadRetries is how often rueidis retries a read-only command after a
// network error.
const maxReadRetries = 2

func retryDelay(attempts int, _ rueidis.Completed, _ error) time.Duration {
	if attempts >= maxReadRetries {
		return -1
	}
	return time.Duration(attempts+1) * 20 * time.Millisecond
}

// Ping sends PING, bounded by the read timeout.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

func (s *Store) ping(ctx context.Context) error {
	tctx, cancel, check := online.WithTimeout(ctx, s.readTimeout, "socket_timeout in the redis connection_string")
	defer cancel()
	return check(markUnavailable(ctx, s.client.Do(tctx, s.client.B().Ping().Build()).Error()))
}

// markUnavailable marks the errors of a server that cannot be reached or
// cannot serve yet (online.ErrUnavailable): network errors and timeouts
// (the dial's, the read's), a closed client, and the replies LOADING
// (restarting with a dataset to load), MASTERDOWN, CLUSTERDOWN and
// TRYAGAIN. Other errors stay as they are, and so does every error once
// ctx is done: then the caller gave up, not the server.
func markUnavailable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if re, ok := rueidis.IsRedisErr(err); ok {
		msg := re.Error()
		for _, prefix := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN"} {
			if strings.HasPrefix(msg, prefix) {
				return online.Unavailable(err)
			}
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, rueidis.ErrClosing) ||
		errors.Is(err, rueidis.ErrNoSlot) || errors.Is(err, net.ErrClosed) {
		return online.Unavailable(err)
	}
	return err
}

// retryBroken runs f, and once more when it failed on a broken connection
// and ctx is live. Only for idempotent work: conditional writes, deletes.
func retryBroken(ctx context.Context, f func() error) error {
	err := f()
	if err != nil && ctx.Err() == nil && brokenConnection(err) {
		err = f()
	}
	return err
}

// brokenConnection reports whether err is a connection that broke under
// the command (not a refused connection or a timeout, which a retry right
// away would only repeat).
func brokenConnection(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// loadScript loads writeScript on every node.
func (s *Store) loadScript(ctx context.Context) error {
	for addr, n := range s.client.Nodes() {
		if err := n.Do(ctx, n.B().ScriptLoad().Script(writeScript).Build()).Error(); err != nil {
			return fmt.Errorf("load write script on %s: %w", addr, err)
		}
	}
	return nil
}

// Close closes the connections.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}

// InfraName is empty: Redis creates nothing per view.
func (s *Store) InfraName(string, *model.FeatureView) string { return "" }

// Update deletes the data of the dropped views; kept views need nothing.
func (s *Store) Update(ctx context.Context, project string, _, drop []*model.FeatureView) error {
	for _, fv := range drop {
		if err := retryBroken(ctx, func() error { return s.deleteView(ctx, project, fv) }); err != nil {
			return fmt.Errorf("redis: update %s: %w", fv.Name, err)
		}
	}
	return nil
}

// Teardown deletes the fields and timestamps of views from every entity
// hash of project; a hash left empty disappears.
func (s *Store) Teardown(ctx context.Context, project string, views []*model.FeatureView) error {
	for _, fv := range views {
		if err := retryBroken(ctx, func() error { return s.deleteView(ctx, project, fv) }); err != nil {
			return fmt.Errorf("redis: teardown %s: %w", fv.Name, err)
		}
	}
	return nil
}

// Key returns the Redis key of an entity in project: the serialized entity
// key followed by the project name.
func Key(entityKey []byte, project string) []byte {
	return append(append(make([]byte, 0, len(entityKey)+len(project)), entityKey...), project...)
}

// TimestampField is the hash field holding a view's event timestamp.
func TimestampField(view string) string { return "_ts:" + view }

// Write stores the rows; see the package comment for the conditions. A
// write that fails on a broken connection (EOF, reset: typically the first
// use of a pooled connection after Redis restarted) is tried once more on
// a fresh one (retryBroken): the writes are conditional on the event
// timestamp (or plain HSETs of the same values), so a row applied by the
// first try is not applied twice. Deleting a view's fields is retried the
// same way.
func (s *Store) Write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	var st online.WriteStats
	err := retryBroken(ctx, func() (err error) {
		st, err = s.write(ctx, b)
		return err
	})
	if err != nil {
		return online.WriteStats{}, fmt.Errorf("redis: write %s: %w", b.View.Name, markUnavailable(ctx, err))
	}
	return st, nil
}

func (s *Store) write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	if len(b.Rows) == 0 {
		return online.WriteStats{}, nil
	}
	nf := len(b.Features)
	for i := range b.Rows {
		if len(b.Rows[i].Values) != nf {
			return online.WriteStats{}, fmt.Errorf("row %d has %d values for %d features", i, len(b.Rows[i].Values), nf)
		}
	}
	vf := s.fields.view(b.View.Name, b.Features)
	winners := online.NewestPerEntity(b.Rows)

	if s.skipDedup {
		return s.writeUnconditional(ctx, &b, vf, winners)
	}
	perCall := scriptKeys
	if s.cluster {
		perCall = 1
	}
	// Split the calls over a few goroutines so that building commands
	// overlaps with the server running them.
	ncalls := (len(winners) + perCall - 1) / perCall
	workers := min(maxWriteWorkers, max(1, len(winners)/minRowsPerWorker))
	per := (ncalls + workers - 1) / workers
	written := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := min(w*per*perCall, len(winners)), min((w+1)*per*perCall, len(winners))
		if lo == hi {
			continue
		}
		run := func() {
			written[w], errs[w] = s.writeScripted(ctx, &b, vf, winners[lo:hi], perCall)
		}
		if workers == 1 {
			run()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	wg.Wait()
	total := 0
	for w := range workers {
		if errs[w] != nil {
			return online.WriteStats{}, errs[w]
		}
		total += written[w]
	}
	return online.WriteStats{Written: total, Skipped: len(b.Rows) - total}, nil
}

// bstr views b as a string without copying, for command arguments; b must
// not change while the command is in use (the arenas below only grow).
func bstr(b []byte) string { return rueidis.BinaryString(b) }

// writeUnconditional is Feast's skip_dedup: HSET (+ EXPIRE) without
// comparing timestamps.
func (s *Store) writeUnconditional(ctx context.Context, b *online.WriteBatch, vf *viewFields, winners []int) (online.WriteStats, error) {
	nf := len(b.Features)
	// One arena for keys, timestamps and values: views into it stay valid
	// when append reallocates, since the old arrays remain referenced.
	arena := make([]byte, 0, len(winners)*(len(b.Rows[0].EntityKey)+len(b.Project)+16+nf*12))
	ttl := strconv.FormatInt(s.ttl, 10)
	cmds := make(rueidis.Commands, 0, 2*len(winners))
	args := make([]string, 0, 2+2*nf)
	for _, ri := range winners {
		r := &b.Rows[ri]
		k := len(arena)
		arena = append(arena, r.EntityKey...)
		arena = append(arena, b.Project...)
		key := bstr(arena[k:len(arena):len(arena)])
		k = len(arena)
		arena = appendTimestamp(arena, r.EventTS)
		args = append(args[:0], vf.ts, bstr(arena[k:len(arena):len(arena)]))
		for fi, v := range r.Values {
			k := len(arena)
			var err error
			if arena, err = online.AppendValue(arena, v); err != nil {
				return online.WriteStats{}, fmt.Errorf("serialize %s: %w", b.Features[fi], err)
			}
			args = append(args, vf.fields[fi], bstr(arena[k:len(arena):len(arena)]))
		}
		cmds = append(cmds, s.client.B().Arbitrary("HSET").Keys(key).Args(args...).Build())
		if s.ttl > 0 {
			cmds = append(cmds, s.client.B().Arbitrary("EXPIRE").Keys(key).Args(ttl).Build())
		}
	}
	for _, r := range s.client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return online.WriteStats{}, err
		}
	}
	return online.WriteStats{Written: len(winners), Skipped: len(b.Rows) - len(winners)}, nil
}

// Write parallelism: at most maxWriteWorkers pipelines per Write, each with
// at least minRowsPerWorker rows.
const (
	maxWriteWorkers  = 4
	minRowsPerWorker = 1000
)

// scriptCall is the keys and arguments of one writeScript call.
type scriptCall struct{ keys, args []string }

func (s *Store) evalsha(c scriptCall) rueidis.Completed {
	return s.client.B().Evalsha().Sha1(scriptSHA).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
}

// writeScripted writes rows (indexes into b.Rows) with writeScript calls of
// perCall rows each, in one pipeline, and returns how many were written.
func (s *Store) writeScripted(ctx context.Context, b *online.WriteBatch, vf *viewFields, rows []int, perCall int) (int, error) {
	nf := len(b.Features)
	arena := make([]byte, 0, len(rows)*(len(b.Rows[rows[0]].EntityKey)+len(b.Project)+16+nf*12))
	ttlArg := strconv.FormatInt(s.ttl, 10)
	nfArg := strconv.Itoa(nf)
	calls := make([]scriptCall, 0, (len(rows)+perCall-1)/perCall)
	for start := 0; start < len(rows); start += perCall {
		chunk := rows[start:min(start+perCall, len(rows))]
		c := scriptCall{keys: make([]string, 0, len(chunk)), args: make([]string, 0, 3+nf+len(chunk)*(3+nf))}
		for _, ri := range chunk {
			k := len(arena)
			arena = append(arena, b.Rows[ri].EntityKey...)
			arena = append(arena, b.Project...)
			c.keys = append(c.keys, bstr(arena[k:len(arena):len(arena)]))
		}
		c.args = append(c.args, ttlArg, vf.ts, nfArg)
		c.args = append(c.args, vf.fields...)
		for _, ri := range chunk {
			r := &b.Rows[ri]
			k := len(arena)
			arena = appendTimestamp(arena, r.EventTS)
			c.args = append(c.args, strconv.FormatInt(r.EventTS.Unix(), 10), strconv.Itoa(r.EventTS.Nanosecond()), bstr(arena[k:len(arena):len(arena)]))
			for fi, v := range r.Values {
				k := len(arena)
				var err error
				if arena, err = online.AppendValue(arena, v); err != nil {
					return 0, fmt.Errorf("serialize %s: %w", b.Features[fi], err)
				}
				c.args = append(c.args, bstr(arena[k:len(arena):len(arena)]))
			}
		}
		calls = append(calls, c)
	}
	cmds := make(rueidis.Commands, len(calls))
	for i, c := range calls {
		cmds[i] = s.evalsha(c)
	}
	resps := s.client.DoMulti(ctx, cmds...)
	// Scripts are flushed by SCRIPT FLUSH and lost on failover: load the
	// script and retry the calls that found none. The script is
	// conditional, so a retry cannot apply a row twice.
	var retry []int
	for i, r := range resps {
		if isNoScript(r.Error()) {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		if err := s.loadScript(ctx); err != nil {
			return 0, err
		}
		cmds = cmds[:0]
		for _, i := range retry {
			cmds = append(cmds, s.evalsha(calls[i]))
		}
		for j, r := range s.client.DoMulti(ctx, cmds...) {
			resps[retry[j]] = r
		}
	}
	written := 0
	for _, r := range resps {
		res, err := r.AsIntSlice()
		if err != nil {
			return 0, err
		}
		for _, n := range res {
			written += int(n)
		}
	}
	return written, nil
}

func isNoScript(err error) bool {
	e, ok := rueidis.IsRedisErr(err)
	return ok && e.IsNoScript()
}

// appendTimestamp appends the serialized google.protobuf.Timestamp of t.
func appendTimestamp(dst []byte, t time.Time) []byte {
	if sec := t.Unix(); sec != 0 {
		dst = protowire.AppendTag(dst, 1, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(sec))
	}
	if nanos := t.Nanosecond(); nanos != 0 {
		dst = protowire.AppendTag(dst, 2, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(nanos))
	}
	return dst
}

// parseTimestamp decodes a serialized google.protobuf.Timestamp.
func parseTimestamp(b []byte) (time.Time, error) {
	var sec, nanos int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return time.Time{}, protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.VarintType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return time.Time{}, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return time.Time{}, protowire.ParseError(n)
		}
		b = b[n:]
		switch num {
		case 1:
			sec = int64(v)
		case 2:
			nanos = int64(int32(v))
		}
	}
	return time.Unix(sec, nanos).UTC(), nil
}

// unsafeBytes views s as bytes without copying; the result must not be
// modified. online.UnmarshalValue copies what it keeps.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Read serves all requests in one pipeline of HMGETs, one per entity:
// HMGET key <field of each feature> _ts:<view>. A feature whose field is
// absent is not found.
func (s *Store) Read(ctx context.Context, reqs []online.ReadRequest) ([]online.ReadResult, error) {
	out := make([]online.ReadResult, len(reqs))
	resps, nValues, check, cancel := s.hmget(ctx, reqs)
	defer cancel()
	if resps == nil {
		return out, nil
	}
	slab := valueSlab{size: nValues}
	c := 0
	for i := range reqs {
		req := &reqs[i]
		nf := len(req.Features)
		res := make(online.ReadResult, len(req.EntityKeys))
		flat := make([]online.FeatureValue, len(req.EntityKeys)*nf)
		values := make([]types.Value, len(req.EntityKeys)*nf)
		for e := range res {
			row := flat[e*nf : (e+1)*nf : (e+1)*nf]
			res[e] = row
			reply, ts, err := entityReply(ctx, check, req, resps[c])
			c++
			if err != nil {
				return nil, err
			}
			for f := range nf {
				raw, found, err := fieldBytes(req, &reply[f], f)
				if err != nil {
					return nil, err
				}
				if !found {
					continue
				}
				v := &values[e*nf+f]
				if err := slab.unmarshal(raw, v); err != nil {
					return nil, fmt.Errorf("redis: read %s: decode %s: %w", req.View.Name, req.Features[f], err)
				}
				row[f] = online.FeatureValue{Value: v, EventTS: ts, Found: true}
			}
		}
		out[i] = res
	}
	return out, nil
}

var _ online.RawReader = (*Store)(nil)

// ReadRaw is Read without decoding: it sends the same pipeline, checks the
// replies and event timestamps as Read does, and lends visit the reply
// bytes of rueidis, copying none of them.
func (s *Store) ReadRaw(ctx context.Context, reqs []online.ReadRequest, visit func(online.RawResult) error) error {
	resps, _, check, cancel := s.hmget(ctx, reqs)
	defer cancel()
	res := &rawResult{reqs: reqs, first: make([]int, len(reqs)+1)}
	if resps != nil {
		res.rows = make([]rawRow, len(resps))
	}
	c := 0
	for i := range reqs {
		res.first[i] = c
		for range reqs[i].EntityKeys {
			reply, ts, err := entityReply(ctx, check, &reqs[i], resps[c])
			if err != nil {
				return err
			}
			res.rows[c] = rawRow{reply: reply, ts: ts}
			c++
		}
	}
	res.first[len(reqs)] = c
	return visit(res)
}

// rawResult is the online.RawResult of ReadRaw: the HMGET replies, one
// row per entity, with the parsed event timestamps.
type rawResult struct {
	reqs []online.ReadRequest
	// first[r] indexes the row of request r's first entity.
	first []int
	rows  []rawRow
}

type rawRow struct {
	reply []rueidis.RedisMessage // the fields of the request, then _ts
	ts    time.Time
}

func (r *rawResult) Value(req, e, f int) ([]byte, bool, error) {
	return fieldBytes(&r.reqs[req], &r.rows[r.first[req]+e].reply[f], f)
}

func (r *rawResult) EventTS(req, e, _ int) time.Time { return r.rows[r.first[req]+e].ts }

// hmget sends one HMGET per entity of reqs in one pipeline, bounded by the
// read timeout, and returns the replies in order (nil when there are no
// entities), the number of values asked for, the timeout's error check
// and its cancel function, which the caller calls when done with the
// replies.
func (s *Store) hmget(ctx context.Context, reqs []online.ReadRequest) (resps []rueidis.RedisResult, nValues int, check func(error) error, cancel context.CancelFunc) {
	nCmds, keyLen := 0, 0
	for i := range reqs {
		nCmds += len(reqs[i].EntityKeys)
		nValues += len(reqs[i].EntityKeys) * len(reqs[i].Features)
		for _, k := range reqs[i].EntityKeys {
			keyLen += len(k) + len(reqs[i].Project)
		}
	}
	if nCmds == 0 {
		return nil, 0, func(err error) error { return err }, func() {}
	}
	cmds := make(rueidis.Commands, 0, nCmds)
	arena := make([]byte, 0, keyLen)
	for i := range reqs {
		req := &reqs[i]
		vf := s.fields.view(req.View.Name, req.Features)
		for _, k := range req.EntityKeys {
			start := len(arena)
			arena = append(arena, k...)
			arena = append(arena, req.Project...)
			key := bstr(arena[start:len(arena):len(arena)])
			if s.cluster {
				cmds = append(cmds, s.client.B().Hmget().Key(key).Field(vf.hmget...).Build())
			} else {
				// The same HMGET without the key's cluster slot, which
				// the builder computes (a CRC16 of the key) even when
				// nothing reads it: a tenth of the cost of a read's
				// commands.
				cmds = append(cmds, s.client.B().Arbitrary("HMGET").Args(key).Args(vf.hmget...).ReadOnly())
			}
		}
	}
	tctx, cancel, check := online.WithTimeout(ctx, s.readTimeout, "socket_timeout in the redis connection_string")
	return s.client.DoMulti(tctx, cmds...), nValues, check, cancel
}

// entityReply checks the HMGET reply of one entity of req and returns its
// elements (the features' fields, then _ts:<view>) and the decoded event
// timestamp (zero when _ts is absent).
func entityReply(ctx context.Context, check func(error) error, req *online.ReadRequest, resp rueidis.RedisResult) ([]rueidis.RedisMessage, time.Time, error) {
	nf := len(req.Features)
	reply, err := resp.ToArray()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("redis: read %s: %w", req.View.Name, check(markUnavailable(ctx, err)))
	}
	if len(reply) != nf+1 {
		return nil, time.Time{}, fmt.Errorf("redis: read %s: HMGET returned %d values for %d fields", req.View.Name, len(reply), nf+1)
	}
	var ts time.Time
	if !reply[nf].IsNil() {
		raw, err := reply[nf].ToString()
		if err == nil {
			ts, err = parseTimestamp(unsafeBytes(raw))
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("redis: read %s: decode %s: %w", req.View.Name, TimestampField(req.View.Name), err)
		}
	}
	return reply, ts, nil
}

// fieldBytes returns the stored bytes of feature f of req from its reply
// element m, viewed without copying; found is false for an absent field.
func fieldBytes(req *online.ReadRequest, m *rueidis.RedisMessage, f int) ([]byte, bool, error) {
	if m.IsNil() {
		return nil, false, nil
	}
	raw, err := m.ToString()
	if err != nil {
		return nil, false, fmt.Errorf("redis: read %s: %s: %w", req.View.Name, req.Features[f], err)
	}
	return unsafeBytes(raw), true, nil
}

// deleteView removes a view's fields from every entity hash of project:
// SCAN on every node (masters and replicas of a cluster; a key seen twice
// is deleted twice, harmlessly), HDEL through the client.
func (s *Store) deleteView(ctx context.Context, project string, fv *model.FeatureView) error {
	joinKeys := fv.JoinKeys()
	prefix := online.SerializeEntityKeyPrefix(joinKeys)
	pattern := globEscape(prefix) + "*" + globEscape([]byte(project))
	names := make([]string, len(fv.Features))
	for i, f := range fv.Features {
		names[i] = f.Name
	}
	vf := s.fields.view(fv.Name, names)
	nodes := s.client.Nodes()
	if !s.cluster {
		nodes = map[string]rueidis.Client{"": s.client}
	}
	for _, n := range nodes {
		var cursor uint64
		for {
			entry, err := n.Do(ctx, n.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			var cmds rueidis.Commands
			for _, k := range entry.Elements {
				if !isEntityKeyOf(k, project, len(joinKeys)) {
					continue
				}
				cmds = append(cmds, s.client.B().Hdel().Key(k).Field(vf.hmget...).Build())
			}
			for _, r := range s.client.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					return fmt.Errorf("hdel: %w", err)
				}
			}
			if entry.Cursor == 0 {
				break
			}
			cursor = entry.Cursor
		}
	}
	return nil
}

// isEntityKeyOf reports whether key is a serialized entity key with nkeys
// join keys followed by exactly project (a SCAN pattern "*project" also
// matches projects whose names end with project).
func isEntityKeyOf(key, project string, nkeys int) bool {
	if !strings.HasSuffix(key, project) {
		return false
	}
	keys, _, err := online.DeserializeEntityKey([]byte(key[:len(key)-len(project)]))
	return err == nil && len(keys) == nkeys
}

// globEscape escapes the Redis glob metacharacters * ? [ ] \ in b.
func globEscape(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for _, c := range b {
		switch c {
		case '*', '?', '[', ']', '\\':
			sb.WriteByte('\\')
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// viewFields holds the pre-hashed fields of one feature list of one view,
// built once so that building commands allocates nothing per field.
type viewFields struct {
	ts     string   // "_ts:<view>"
	fields []string // 4-byte field of each feature, in request order
	hmget  []string // fields then ts: the fields of a read
}

// maxCachedLists bounds the cache; further feature lists are hashed per call.
const maxCachedLists = 10_000

// fieldCache maps (view, feature list) to hashed fields. Lookups are
// lock-free and allocation-free (copy-on-write map); misses take a mutex.
type fieldCache struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*viewFields]
}

// view returns the fields of features of view, in order.
func (c *fieldCache) view(view string, features []string) *viewFields {
	var buf [256]byte
	key := append(buf[:0], view...)
	for _, f := range features {
		key = append(key, 0)
		key = append(key, f...)
	}
	if m := c.m.Load(); m != nil {
		if vf, ok := (*m)[string(key)]; ok {
			return vf
		}
	}
	vf := &viewFields{ts: TimestampField(view), fields: make([]string, len(features))}
	for i, f := range features {
		vf.fields[i] = string(online.RedisFieldHash(view, f))
	}
	vf.hmget = append(append(make([]string, 0, len(features)+1), vf.fields...), vf.ts)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil && len(*old) >= maxCachedLists {
		return vf
	}
	next := make(map[string]*viewFields, 1+lenMap(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[string(key)] = vf
	c.m.Store(&next)
	return vf
}

func lenMap(m *map[string]*viewFields) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
