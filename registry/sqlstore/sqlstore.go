// Package sqlstore keeps Feast's registry in a SQL database (PostgreSQL,
// MySQL/MariaDB or SQLite) with the table layout of Feast's SQL registry
// (sdk/python/feast/infra/registry/sql.py): one row per object holding the
// object's serialized protobuf, keyed by (name, project_id). A Python Feast
// deployment and this store can share one registry database.
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/internal/redact"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// Options configures a Store.
type Options struct {
	// SchemaMode is Feast's schema_mode: "auto" (the zero value "" means
	// auto) creates missing tables and indexes on Open, "verify" only checks
	// that every table exists, "skip" does neither.
	SchemaMode string
	// Now returns the current time for last_updated_timestamp columns and
	// project metadata; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds how many times Update and Delete run when the
	// database reports a serialization failure, deadlock or busy lock;
	// 0 means 5.
	MaxAttempts int
}

// Store is a registry.Store over Feast's SQL registry tables. It is safe for
// concurrent use. Update takes a per-project lock in the database
// (pg_advisory_xact_lock on PostgreSQL, GET_LOCK on MySQL/MariaDB, BEGIN
// IMMEDIATE on SQLite), so Updates from any number of Store instances and
// processes on one database are serialized. Writers that do not take the
// lock (Python Feast) are not serialized with it.
type Store struct {
	db          *sql.DB
	dialect     dialectName
	now         func() time.Time
	maxAttempts int
	loadQuery   string
	loadArgs    int
}

var _ registry.Store = (*Store)(nil)

// Open connects to the registry database at url and, in schema mode auto,
// creates Feast's tables if they are missing. url is a SQLAlchemy-style URL
// as Feast writes it: postgresql://user:pass@host:port/db?sslmode=disable
// (also postgres://, postgresql+psycopg://, postgresql+psycopg2://),
// mysql://user:pass@host:port/db (also mysql+pymysql://), or
// sqlite:///relative/path.db and sqlite:////absolute/path.db.
// Relative SQLite paths are relative to the working directory.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWithOptions(ctx, url, Options{})
}

// OpenWithOptions is Open with options.
func OpenWithOptions(ctx context.Context, url string, opts Options) (*Store, error) {
	tgt, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	if tgt.file != "" {
		// As the file registry does, create the database's folder; SQLite
		// would only say "unable to open database file".
		if dir := filepath.Dir(tgt.file); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open registry database %s: folder %s is missing and cannot be created (%w); create it or change the registry path",
					redact.String(url), dir, err)
			}
		}
	}
	db, err := sql.Open(tgt.driver, tgt.dsn)
	if err != nil {
		return nil, fmt.Errorf("open registry database %s: %w", redact.String(url), redact.Error(err, url, tgt.dsn))
	}
	s := &Store{db: db, dialect: tgt.dialect, now: opts.Now, maxAttempts: opts.MaxAttempts}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 5
	}
	s.loadQuery, s.loadArgs = buildLoadQuery(s.dialect)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect registry database %s: %w", redact.String(url), redact.Error(err, url, tgt.dsn))
	}
	switch opts.SchemaMode {
	case "", "auto":
		err = s.createSchema(ctx)
	case "verify":
		err = s.verifySchema(ctx)
	case "skip":
	default:
		err = fmt.Errorf("registry schema_mode %q: want auto, verify or skip", opts.SchemaMode)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database connections.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) createSchema(ctx context.Context) error {
	stmts := s.dialect.createStatements()
	if s.dialect != postgres {
		// MySQL's DDL is not transactional but CREATE ... IF NOT EXISTS is
		// safe under concurrency; SQLite serializes writers.
		for _, q := range stmts {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("create registry schema: %s: %w", q, err)
			}
		}
		return nil
	}
	// Concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL (unique
	// violation in pg_type); serialize schema creation with an advisory lock.
	return s.retry(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("create registry schema: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // no-op after Commit
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", schemaLockKey); err != nil {
			return fmt.Errorf("create registry schema: %w", err)
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("create registry schema: %s: %w", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("create registry schema: %w", err)
		}
		return nil
	})
}

func (s *Store) verifySchema(ctx context.Context) error {
	var missing []string
	for _, t := range tableDefs {
		rows, err := s.db.QueryContext(ctx, "SELECT 1 FROM "+t.name+" WHERE 1 = 0")
		if err != nil {
			missing = append(missing, t.name)
			continue
		}
		rows.Close()
	}
	if len(missing) > 0 {
		return fmt.Errorf("verify registry schema: missing tables %s (run with schema_mode auto or `feast registry create-schema`)", strings.Join(missing, ", "))
	}
	return nil
}

// buildLoadQuery returns one statement that reads every row of a project:
// (kind number, name, bytes). One statement is one consistent snapshot on
// all three databases, so Load never sees half of a concurrent Update.
func buildLoadQuery(d dialectName) (string, int) {
	var parts []string
	for i, k := range kinds {
		parts = append(parts, fmt.Sprintf("SELECT %d, %s, %s FROM %s WHERE project_id = ?", i, k.nameCol, k.protoCol, k.table))
	}
	parts = append(parts,
		fmt.Sprintf("SELECT %d, project_id, project_proto FROM projects WHERE project_id = ?", kindProjects),
		fmt.Sprintf("SELECT %d, metadata_key, %s FROM feast_metadata WHERE project_id = ?", kindMetadata, d.textAsBytes("metadata_value")))
	if d == postgres {
		// One parameter, referenced by every branch.
		return strings.ReplaceAll(strings.Join(parts, " UNION ALL "), "?", "$1"), 1
	}
	return strings.Join(parts, " UNION ALL "), len(parts)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type rowKey struct {
	kind int
	name string
}

// loaded is what load read for one project.
type loaded struct {
	reg *core.Registry
	// rows maps every object row to the deterministic encoding of its
	// (decoded, normalized) object: the baseline Update diffs against.
	rows map[rowKey][]byte
	// project is the decoded projects row, or nil; projectBytes its
	// deterministic encoding.
	project      *core.Project
	projectBytes []byte
	uuid         string
	hasUpdated   bool
}

// Load returns the objects of project, its Project and ProjectMetadata
// (project_uuid from feast_metadata) and, as last_updated, the project's
// feast_metadata last_updated_timestamp. A project without rows loads as an
// empty Registry.
func (s *Store) Load(ctx context.Context, project string) (*core.Registry, error) {
	l, err := s.load(ctx, s.db, project, false)
	if err != nil {
		return nil, err
	}
	return l.reg, nil
}

func (s *Store) load(ctx context.Context, q querier, project string, baseline bool) (*loaded, error) {
	args := make([]any, s.loadArgs)
	for i := range args {
		args[i] = project
	}
	rows, err := q.QueryContext(ctx, s.loadQuery, args...)
	if err != nil {
		return nil, fmt.Errorf("load registry project %s: %w", project, err)
	}
	defer rows.Close()
	l := &loaded{reg: &core.Registry{RegistrySchemaVersion: registry.SchemaVersion}}
	if baseline {
		l.rows = map[rowKey][]byte{}
	}
	type item struct {
		name string
		msg  proto.Message
	}
	perKind := make([][]item, len(kinds))
	for rows.Next() {
		var (
			k    int
			name string
			data []byte
		)
		if err := rows.Scan(&k, &name, &data); err != nil {
			return nil, fmt.Errorf("load registry project %s: %w", project, err)
		}
		switch {
		case k == kindMetadata:
			switch name {
			case metaProjectUUID:
				l.uuid = string(data)
			case metaLastUpdated:
				l.hasUpdated = true
				if secs, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil {
					l.reg.LastUpdated = timestamppb.New(time.Unix(secs, 0))
				}
			}
		case k == kindProjects:
			p := &core.Project{}
			if err := proto.Unmarshal(data, p); err != nil {
				return nil, fmt.Errorf("decode projects row %s: %w", name, err)
			}
			l.project = p
		case k >= 0 && k < len(kinds):
			m := kinds[k].newMsg()
			if err := proto.Unmarshal(data, m); err != nil {
				return nil, fmt.Errorf("decode %s row %s of project %s: %w", kinds[k].table, name, project, err)
			}
			// As Feast's SQL registry does when it assembles a Registry, the
			// row's project_id is the object's project.
			if kinds[k].project != nil && kinds[k].project(m) != project {
				kinds[k].setProject(m, project)
			}
			perKind[k] = append(perKind[k], item{name, m})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load registry project %s: %w", project, err)
	}
	for k, items := range perKind {
		sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
		for _, it := range items {
			kinds[k].add(l.reg, it.msg)
			if baseline {
				b, err := marshal(it.msg)
				if err != nil {
					return nil, fmt.Errorf("encode %s %s: %w", kinds[k].table, it.name, err)
				}
				l.rows[rowKey{k, it.name}] = b
			}
		}
	}
	if l.project != nil {
		l.reg.Projects = []*core.Project{l.project}
		if baseline {
			if l.projectBytes, err = marshal(l.project); err != nil {
				return nil, fmt.Errorf("encode project %s: %w", project, err)
			}
		}
	}
	if l.uuid != "" {
		//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
		l.reg.ProjectMetadata = []*core.ProjectMetadata{{Project: project, ProjectUuid: l.uuid}}
	}
	return l, nil
}

// marshal encodes m deterministically, never as nil (NOT NULL columns).
func marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if b == nil {
		b = []byte{}
	}
	return b, err
}

// fnError marks an error returned by the caller's function: it is never
// retried and is returned unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// Update loads project, calls fn and writes back, in one transaction holding
// the project's lock, only the rows whose serialized bytes changed: inserted,
// updated and removed objects. When anything changed it also bumps the
// project's Project.meta.last_updated_timestamp (so Python readers refresh
// their caches) and feast_metadata's last_updated_timestamp, and creates the
// projects row and project_uuid if missing (taking the uuid from fn's
// ProjectMetadata when it set one). fn sees only project's objects; objects
// of other projects in the result are an error, objects with an empty
// project are given project. The projects row is never deleted by Update,
// only by Delete. On transient conflicts the whole Update, fn included, runs
// again, up to Options.MaxAttempts times.
func (s *Store) Update(ctx context.Context, project string, fn func(*core.Registry) error) error {
	err := s.retry(ctx, func() error { return s.updateOnce(ctx, project, fn) })
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	return err
}

// Delete removes every row of project from every table, in one transaction.
func (s *Store) Delete(ctx context.Context, project string) error {
	return s.retry(ctx, func() error {
		return s.inLockedTx(ctx, project, func(tx *sql.Tx) error {
			for _, t := range tableDefs {
				if _, err := tx.ExecContext(ctx, s.dialect.rebind("DELETE FROM "+t.name+" WHERE project_id = ?"), project); err != nil {
					return fmt.Errorf("delete registry project %s from %s: %w", project, t.name, err)
				}
			}
			return nil
		})
	})
}

func (s *Store) retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if attempt > 0 {
			backoff := time.Duration(attempt*attempt) * 20 * time.Millisecond
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
			case <-time.After(backoff):
			}
		}
		err = f()
		if err == nil || !retryable(err) {
			return err
		}
	}
	return fmt.Errorf("%w: gave up after %d attempts: %w", registry.ErrConflict, s.maxAttempts, err)
}

func (s *Store) inLockedTx(ctx context.Context, project string, f func(tx *sql.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect registry database: %w", err)
	}
	defer conn.Close()
	tx, release, err := s.dialect.beginLocked(ctx, conn, project)
	if err != nil {
		return err
	}
	defer release()
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit registry project %s: %w", project, err)
	}
	return nil
}

type change struct {
	key  rowKey
	data []byte
}

func (s *Store) updateOnce(ctx context.Context, project string, fn func(*core.Registry) error) error {
	return s.inLockedTx(ctx, project, func(tx *sql.Tx) error {
		l, err := s.load(ctx, tx, project, true)
		if err != nil {
			return err
		}
		if err := fn(l.reg); err != nil {
			return fnError{err}
		}
		cur, err := collect(l.reg, project)
		if err != nil {
			return err
		}
		var inserts, updates, deletes []change
		for k, b := range cur {
			old, ok := l.rows[k]
			switch {
			case !ok:
				inserts = append(inserts, change{k, b})
			case !bytes.Equal(old, b):
				updates = append(updates, change{k, b})
			}
		}
		for k := range l.rows {
			if _, ok := cur[k]; !ok {
				deletes = append(deletes, change{key: k})
			}
		}
		objChanged := len(inserts)+len(updates)+len(deletes) > 0

		now := s.now()
		secs := now.Unix()
		proj, uid, err := projectOf(l, project, now)
		if err != nil {
			return err
		}
		if objChanged {
			proj.Meta.LastUpdatedTimestamp = timestamppb.New(now)
		}
		projBytes, err := marshal(proj)
		if err != nil {
			return fmt.Errorf("encode project %s: %w", project, err)
		}
		projChanged := l.project == nil || !bytes.Equal(projBytes, l.projectBytes)
		if !objChanged && !projChanged && l.uuid != "" {
			return nil
		}

		exec := func(q string, args ...any) error {
			if _, err := tx.ExecContext(ctx, s.dialect.rebind(q), args...); err != nil {
				return fmt.Errorf("update registry project %s: %w", project, err)
			}
			return nil
		}
		// Deletes first: a rename that only changes case must not collide
		// with the old row under MySQL's case-insensitive collation.
		sortChanges(deletes)
		sortChanges(updates)
		sortChanges(inserts)
		for _, c := range deletes {
			k := kinds[c.key.kind]
			if err := exec("DELETE FROM "+k.table+" WHERE "+k.nameCol+" = ? AND project_id = ?", c.key.name, project); err != nil {
				return err
			}
		}
		for _, c := range updates {
			k := kinds[c.key.kind]
			if err := exec("UPDATE "+k.table+" SET "+k.protoCol+" = ?, last_updated_timestamp = ? WHERE "+k.nameCol+" = ? AND project_id = ?",
				c.data, secs, c.key.name, project); err != nil {
				return err
			}
		}
		for _, c := range inserts {
			k := kinds[c.key.kind]
			if err := exec("INSERT INTO "+k.table+" ("+k.nameCol+", project_id, last_updated_timestamp, "+k.protoCol+") VALUES (?, ?, ?, ?)",
				c.key.name, project, secs, c.data); err != nil {
				return err
			}
		}
		if l.project == nil {
			err = exec("INSERT INTO projects (project_id, project_name, last_updated_timestamp, project_proto) VALUES (?, ?, ?, ?)", project, project, secs, projBytes)
		} else {
			err = exec("UPDATE projects SET project_name = ?, last_updated_timestamp = ?, project_proto = ? WHERE project_id = ?", project, secs, projBytes, project)
		}
		if err != nil {
			return err
		}
		if l.uuid == "" {
			if err := exec("INSERT INTO feast_metadata (project_id, metadata_key, metadata_value, last_updated_timestamp) VALUES (?, ?, ?, ?)",
				project, metaProjectUUID, uid, secs); err != nil {
				return err
			}
		}
		stamp := strconv.FormatInt(secs, 10)
		if l.hasUpdated {
			err = exec("UPDATE feast_metadata SET metadata_value = ?, last_updated_timestamp = ? WHERE project_id = ? AND metadata_key = ?", stamp, secs, project, metaLastUpdated)
		} else {
			err = exec("INSERT INTO feast_metadata (project_id, metadata_key, metadata_value, last_updated_timestamp) VALUES (?, ?, ?, ?)", project, metaLastUpdated, stamp, secs)
		}
		return err
	})
}

func sortChanges(cs []change) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].key.kind != cs[j].key.kind {
			return cs[i].key.kind < cs[j].key.kind
		}
		return cs[i].key.name < cs[j].key.name
	})
}

// collect encodes every object of the updated registry by (kind, name),
// checking that each belongs to project and that names are unique.
func collect(r *core.Registry, project string) (map[rowKey][]byte, error) {
	cur := map[rowKey][]byte{}
	for i, k := range kinds {
		for _, m := range k.items(r) {
			name := k.name(m)
			if name == "" {
				return nil, fmt.Errorf("update registry project %s: a %s row without a name", project, k.table)
			}
			if k.project != nil {
				switch p := k.project(m); p {
				case project:
				case "":
					k.setProject(m, project)
				default:
					return nil, fmt.Errorf("update registry project %s: %s %q belongs to project %q", project, k.table, name, p)
				}
			}
			key := rowKey{i, name}
			if _, dup := cur[key]; dup {
				return nil, fmt.Errorf("update registry project %s: two %s named %q", project, k.table, name)
			}
			b, err := marshal(m)
			if err != nil {
				return nil, fmt.Errorf("encode %s %s: %w", k.table, name, err)
			}
			cur[key] = b
		}
	}
	return cur, nil
}

// projectOf returns the Project to write for project after fn ran (fn's, else
// the loaded one, else a new one) and the project uuid to use when none is
// stored yet. Its Meta is non-nil.
func projectOf(l *loaded, project string, now time.Time) (*core.Project, string, error) {
	var proj *core.Project
	for _, p := range l.reg.Projects {
		if p == nil {
			continue
		}
		if p.GetSpec().GetName() != project {
			return nil, "", fmt.Errorf("update registry project %s: Project %q belongs to another project", project, p.GetSpec().GetName())
		}
		if proj != nil {
			return nil, "", fmt.Errorf("update registry project %s: two Project records", project)
		}
		proj = p
	}
	if proj == nil {
		proj = l.project
	}
	if proj == nil {
		proj = &core.Project{Spec: &core.ProjectSpec{Name: project}, Meta: &core.ProjectMeta{CreatedTimestamp: timestamppb.New(now)}}
	}
	if proj.Meta == nil {
		proj.Meta = &core.ProjectMeta{}
	}
	if proj.Meta.LastUpdatedTimestamp == nil {
		proj.Meta.LastUpdatedTimestamp = timestamppb.New(now)
	}
	uid := l.uuid
	//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
	for _, m := range l.reg.ProjectMetadata {
		if m.GetProject() != project {
			return nil, "", fmt.Errorf("update registry project %s: ProjectMetadata of project %q", project, m.GetProject())
		}
		if uid == "" {
			uid = m.GetProjectUuid()
		}
	}
	if uid == "" {
		uid = uuid.NewString()
	}
	return proj, uid, nil
}
