package feast

import (
	"context"
	"errors"
	"fmt"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
)

// PreviewOptions sizes a data preview.
type PreviewOptions struct {
	// SampleRows bounds the rows read (default offline.DefaultSampleRows,
	// at most offline.MaxSampleRows); statistics cover them.
	SampleRows int
	// ShowRows is how many of them are returned as rows (default
	// offline.DefaultPreviewRows).
	ShowRows int
}

// ErrNoPreview is returned for sources that hold no rows to preview
// (request sources) or whose offline store cannot sample them.
var ErrNoPreview = errors.New("no preview")

// PreviewData returns the source whose rows a preview of src samples: src
// itself for file, PostgreSQL and Iceberg sources, the batch source of a
// push or Kafka source; ok is false for sources that hold no rows (request
// sources, push sources without a batch source).
func PreviewData(src *model.DataSource) (data *model.DataSource, ok bool) {
	if src == nil {
		return nil, false
	}
	if src.BatchSource != nil && (src.Kind == model.SourcePush || src.Kind == model.SourceKafka) {
		src = src.BatchSource
	}
	switch src.Kind {
	case model.SourceFile, model.SourcePostgres, model.SourceIceberg:
		return src, true
	}
	return nil, false
}

// PreviewSource reads a bounded sample of a data source through the offline
// store (never a full scan) and returns its first rows and per-column
// statistics (null rate, min/max, distinct values in the sample). A push
// or Kafka source is previewed through its batch source. The snapshot is
// the registry the store holds (Registry().Snapshot).
func (fs *FeatureStore) PreviewSource(ctx context.Context, name string, opts PreviewOptions) (*offline.Preview, error) {
	snap, err := fs.Registry().Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	src := snap.DataSources[name]
	if src == nil {
		return nil, fmt.Errorf("data source %q is not in project %s", name, snap.Project)
	}
	data, ok := PreviewData(src)
	if !ok {
		return nil, fmt.Errorf("data source %s is a %s source: it holds no rows to preview: %w", name, src.Kind, ErrNoPreview)
	}
	limit := opts.SampleRows
	if limit <= 0 {
		limit = offline.DefaultSampleRows
	}
	limit = min(limit, offline.MaxSampleRows)
	show := opts.ShowRows
	if show <= 0 {
		show = offline.DefaultPreviewRows
	}
	store, err := fs.OfflineStore(ctx)
	if err != nil {
		return nil, err
	}
	sampler, ok := store.(offline.Sampler)
	if !ok {
		return nil, fmt.Errorf("data source %s: the %s offline store cannot read samples: %w", name, fs.cfg.OfflineStore.Type, ErrNoPreview)
	}
	rr, err := sampler.Sample(ctx, data, limit)
	if err != nil {
		return nil, fmt.Errorf("preview of data source %s: %w", name, err)
	}
	defer rr.Release()
	p, err := offline.Profile(rr, limit, show)
	if err != nil {
		return nil, fmt.Errorf("preview of data source %s: %w", name, err)
	}
	return p, nil
}
