package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
)

// MaxPreviewRows bounds the rows a preview page shows (?rows=).
const MaxPreviewRows = 500

// previewable reports whether a source holds rows the offline store can
// sample (feast.PreviewData).
func previewable(s *model.DataSource) bool {
	_, ok := feast.PreviewData(s)
	return ok
}

type previewData struct {
	Source  *model.DataSource
	Preview *offline.Preview
	Sample  int
	Rows    int
}

// previewPage shows a bounded sample of a data source: its first rows and
// each column's statistics over the sample (FeatureStore.PreviewSource).
// The user needs DESCRIBE (to see the source) and READ_OFFLINE on it.
func (u *UI) previewPage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, rest string, api bool) error {
	name, err := url.PathUnescape(strings.TrimPrefix(rest, "/"))
	if err != nil || name == "" {
		return badRequest("preview: give a data source, as in /preview/driver_stats_source")
	}
	it := c.find(kindSources, name)
	if it == nil || !v.ok(it) {
		return notFound("no data source %s", name)
	}
	src := c.snap.DataSources[name]
	if !previewable(src) {
		return &httpError{http.StatusUnprocessableEntity, "data source " + name + " is a " + string(src.Kind) + " source: it holds no rows to preview"}
	}
	if user := auth.UserFrom(r.Context()); user != nil {
		if err := c.perms.Decide(user, it.res, model.ActionReadOffline); err != nil {
			return &httpError{http.StatusForbidden, err.Error()}
		}
	}
	q := r.URL.Query()
	d := previewData{Source: src, Sample: offline.DefaultSampleRows, Rows: offline.DefaultPreviewRows}
	if n, err := strconv.Atoi(q.Get("sample")); err == nil && n > 0 {
		d.Sample = min(n, offline.MaxSampleRows)
	}
	if n, err := strconv.Atoi(q.Get("rows")); err == nil && n > 0 {
		d.Rows = min(n, MaxPreviewRows)
	}
	d.Preview, err = u.fs.PreviewSource(r.Context(), name, feast.PreviewOptions{SampleRows: d.Sample, ShowRows: d.Rows})
	if err != nil {
		if errors.Is(err, feast.ErrNoPreview) || errors.Is(err, offline.ErrNotSupported) {
			return &httpError{http.StatusUnprocessableEntity, err.Error()}
		}
		return err
	}
	if api {
		writeJSON(w, http.StatusOK, map[string]any{"source": name, "preview": d.Preview})
		return nil
	}
	return u.render(w, r, "preview", &page{Title: "Preview of " + name, Section: string(kindSources), Data: d})
}
