// Package offline defines the offline store: point-in-time correct training
// data (historical retrieval), the reads materialization streams from, and
// offline push.
//
// Backends live in subpackages: offline/duckdb joins file sources (Parquet,
// CSV) in an embedded DuckDB, offline/postgres pushes the join down into
// PostgreSQL. Both build their SQL with offline/sqlgen, the one seam where
// the point-in-time query is written, and both run through the conformance
// suite in offline/offlinetest.
package offline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
)

// ErrNotSupported is returned for inputs a backend cannot handle, such as a
// SQL entity query given to a store without SQL.
var ErrNotSupported = errors.New("not supported by this offline store")

// EventTimestampColumn is the entity column holding each row's point in
// time when present; otherwise the single timestamp column is used.
const EventTimestampColumn = "event_timestamp"

// Column names of PullLatest and PullAll results besides keys and features.
const (
	PullEventTimestamp   = "event_timestamp"
	PullCreatedTimestamp = "created_timestamp"
)

// Store reads feature history and accepts offline pushes. Implementations
// are safe for concurrent use.
type Store interface {
	// GetHistoricalFeatures validates the request and prepares the
	// point-in-time join. Entity input is consumed (uploaded or staged)
	// before it returns; the join itself runs when the job is read or
	// written. The caller must Close the job.
	GetHistoricalFeatures(ctx context.Context, req HistoricalRequest) (Job, error)
	// PullLatest streams the latest row per entity (greatest event
	// timestamp, ties broken by greatest created timestamp) among rows with
	// event timestamp in [start, end]. Columns: join keys and features
	// (named as in the view, after field mapping), event_timestamp and, when
	// the source has one, created_timestamp. The caller must Release the
	// reader.
	PullLatest(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error)
	// PullAll streams every row with event timestamp in [start, end], with
	// the columns of PullLatest, in no particular order.
	PullAll(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error)
	// WriteBatch appends rows to a source (offline push). Columns are named
	// as the view names them (features, join keys, timestamp field); field
	// mapping is applied in reverse before writing. A file source that
	// receives pushes must be a folder or a glob: each batch becomes a new
	// Parquet file in it.
	WriteBatch(ctx context.Context, source *model.DataSource, rec arrow.RecordBatch) error
	// Close releases the store's connections and temporary files.
	Close() error
}

// KeyOrderedPuller is a Store that can stream PullLatest's rows in the
// byte order of their serialized entity keys (online.SerializeEntityKey),
// for online stores that keep rows in a B-tree on that key: SQLite writes
// rows in that order several times faster than in the hashed order of the
// latest-row query, because each batch then touches a few adjacent pages
// of the index instead of pages all over it. The order holds when the
// source columns have the declared key types; a column the sort's cast
// refuses fails the pull, also over a window without rows.
type KeyOrderedPuller interface {
	// PullLatestInKeyOrder is PullLatest with the rows in key order when
	// the view's join keys are INT32, INT64 or STRING; with other key
	// types the rows come in no particular order.
	PullLatestInKeyOrder(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error)
}

// EntitySource is the entity table of a historical request: set exactly one
// field, or none for entity-less retrieval.
type EntitySource struct {
	// Records is an Arrow stream of entity rows. It is consumed by
	// GetHistoricalFeatures; the caller still owns (and releases) it.
	Records array.RecordReader
	// Path is a Parquet or CSV file (by extension: .parquet, .csv, .tsv,
	// optionally .gz).
	Path string
	// Query is a SQL query run by the store's engine (SQL stores only).
	Query string
}

// IsZero reports whether no entity input is set (entity-less retrieval).
func (e EntitySource) IsZero() bool {
	return e.Records == nil && e.Path == "" && e.Query == ""
}

func (e EntitySource) validate() error {
	n := 0
	for _, set := range []bool{e.Records != nil, e.Path != "", e.Query != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("entity source: set only one of records, path and query")
	}
	return nil
}

// ViewRequest selects features of one feature view.
type ViewRequest struct {
	View *model.FeatureView
	// Alias replaces the view name in full feature names; empty means none.
	Alias string
	// Features are the selected feature names; empty means all of them.
	Features []string
	// JoinKeyMap maps a view join key to the entity column holding it
	// (feature service join_key_map); keys not listed use their own name.
	JoinKeyMap map[string]string
}

// Name is the alias when set, else the view name.
func (v ViewRequest) Name() string {
	if v.Alias != "" {
		return v.Alias
	}
	return v.View.Name
}

// EntityColumn returns the entity column holding a join key.
func (v ViewRequest) EntityColumn(joinKey string) string {
	if c, ok := v.JoinKeyMap[joinKey]; ok && c != "" {
		return c
	}
	return joinKey
}

// HistoricalRequest asks for point-in-time correct feature values.
type HistoricalRequest struct {
	// Entities are the entity rows. When zero, retrieval is entity-less: the
	// entity rows are the distinct (join keys, event timestamp) pairs found
	// in the views' sources between Start and End.
	Entities EntitySource
	Views    []ViewRequest
	// FullFeatureNames names output columns view__feature (alias__feature).
	FullFeatureNames bool
	// Start and End bound entity-less retrieval; they must be zero when
	// Entities is set. A zero End means now; a zero Start means End minus the
	// largest view ttl (unbounded when a view has ttl 0).
	Start, End time.Time
	// FilterByCreatedTimestamp also requires created timestamp <= T for
	// sources that have a created timestamp column; rows whose created
	// timestamp is null are not filtered.
	FilterByCreatedTimestamp bool
}

// Validate checks the parts of a request that do not depend on the data.
func (r *HistoricalRequest) Validate() error {
	if err := r.Entities.validate(); err != nil {
		return err
	}
	if len(r.Views) == 0 {
		return errors.New("no feature views requested")
	}
	if !r.Entities.IsZero() && (!r.Start.IsZero() || !r.End.IsZero()) {
		return errors.New("start and end apply only to entity-less retrieval; do not combine them with entity rows")
	}
	if !r.Start.IsZero() && !r.End.IsZero() && r.Start.After(r.End) {
		return fmt.Errorf("start %s is after end %s", r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339))
	}
	for i, v := range r.Views {
		if v.View == nil {
			return fmt.Errorf("view request %d has no feature view", i)
		}
		if v.View.Source == nil {
			return fmt.Errorf("feature view %s has no batch source", v.View.Name)
		}
	}
	return nil
}

// Job is a prepared historical retrieval. Reading or writing it runs the
// join; each call runs it again. A Job is not safe for concurrent use and
// must be closed.
type Job interface {
	// Columns are the output column names: the entity columns in input
	// order, then the features of each view in request order.
	Columns() []string
	// Schema returns the Arrow schema of the result.
	Schema(ctx context.Context) (*arrow.Schema, error)
	// Reader streams the result as Arrow record batches, in entity row
	// order. The caller must Release it before the next call on the job.
	Reader(ctx context.Context) (array.RecordReader, error)
	// WriteParquet writes the result to a Parquet file, streaming.
	WriteParquet(ctx context.Context, path string) error
	// WriteCSV writes the result to a CSV file with a header, streaming.
	WriteCSV(ctx context.Context, path string) error
	// Close releases the job's temporary tables, files and connection.
	Close() error
}
