package definitions_test

import (
	"strings"
	"testing"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
)

// A file source in an S3-compatible store keeps its endpoint (Feast's
// FileOptions.s3_endpoint_override) and date partition column through the
// registry and back to definitions.
func TestObjectStoreSourceRoundTrip(t *testing.T) {
	yml := `data_sources:
  - name: clicks
    type: file
    path: s3://clicks/daily/
    s3_endpoint_override: http://minio:9000
    date_partition_column: dt
    timestamp_field: event_timestamp
`
	reg := registryOf(t, map[string]string{"features.yaml": yml})
	if len(reg.DataSources) != 1 {
		t.Fatalf("sources: %v", reg.DataSources)
	}
	ds := reg.DataSources[0]
	if o := ds.GetFileOptions(); o.GetS3EndpointOverride() != "http://minio:9000" || o.GetUri() != "s3://clicks/daily/" || ds.GetDatePartitionColumn() != "dt" {
		t.Errorf("registry source: %v", ds)
	}
	files := definitions.FromRegistry(reg, "p").Files(definitions.LayoutKind)
	var out strings.Builder
	for _, d := range files {
		out.Write(d)
	}
	if !strings.Contains(out.String(), "s3_endpoint_override: http://minio:9000") {
		t.Errorf("exported definitions lack the endpoint:\n%s", out.String())
	}
	repo, err := definitions.ParseFiles(toStrings(files), definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := diff.Compute(reg, "p", diff.Desired(repo, "p")); p.HasChanges() {
		t.Errorf("re-imported definitions differ: %+v", p.Objects)
	}
}

// feast import carries a Python FileSource's s3_endpoint_override over.
func TestPythonImportS3Endpoint(t *testing.T) {
	src := `import feast
clicks = feast.FileSource(name="clicks", path="s3://clicks/daily/", timestamp_field="ts", s3_endpoint_override="http://minio:9000")
`
	imp := definitions.FromPython([]definitions.PythonSource{{Path: "repo.py", Data: []byte(src)}}, "p")
	got := renderPythonImport(imp)
	if !strings.Contains(got, "s3_endpoint_override: http://minio:9000") || strings.Contains(got, "not carried over") {
		t.Errorf("import:\n%s", got)
	}
}
