package definitions_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/feastgo/feast/definitions"
)

var updatePython = flag.Bool("update-python", false, "rewrite the Python import goldens")

// readPython reads every *.py file of a fixture folder.
func readPython(t *testing.T, dir string) []definitions.PythonSource {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Python files in %s: %v", dir, err)
	}
	sort.Strings(files)
	var out []definitions.PythonSource
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, definitions.PythonSource{Path: filepath.Base(f), Data: data})
	}
	return out
}

// renderPythonImport is the written files, one after the other, then the
// gaps: what a golden compares.
func renderPythonImport(imp *definitions.PythonImport) string {
	files := imp.Files(definitions.LayoutKind)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString("=== " + n + "\n")
		b.Write(files[n])
	}
	b.WriteString("=== gaps\n")
	for _, g := range imp.Gaps() {
		b.WriteString(g.String() + "\n")
	}
	return b.String()
}

func TestPythonImportGoldens(t *testing.T) {
	for _, name := range []string{"driver_repo", "dynamic", "local_template", "postgres_template", "spark_sources"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "python", name)
			imp := definitions.FromPython(readPython(t, dir), "p")
			got := renderPythonImport(imp)
			golden := filepath.Join("testdata", "python", name+".golden")
			if *updatePython {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-python to write it)", err)
			}
			if got != string(want) {
				t.Errorf("import of %s differs from %s:\n%s", name, golden, got)
			}
			// What is written loads as definitions.
			in := map[string]string{}
			for n, d := range imp.Files(definitions.LayoutKind) {
				in[n] = string(d)
			}
			if _, err := definitions.ParseFiles(in, definitions.Options{}); err != nil {
				t.Errorf("written definitions do not load: %v", err)
			}
		})
	}
}

// TestPythonImportSyntax covers the parts of the Python subset the
// fixtures do not: docstrings, comments, parenthesized imports, module
// aliases, line continuations, implicit string concatenation, triple
// quotes, annotated assignments, classes and main guards.
func TestPythonImportSyntax(t *testing.T) {
	src := `"""A docstring with "quotes", a # that is not a comment,
and Entity(name="not_read") inside."""
import datetime
import feast
import feast.types as ft
from feast import (
    Entity,  # the key
    FeatureView,
    Field,
)
from feast.value_type import ValueType
from feast.data_format import AvroFormat

PATH = "data/" \
    "trips" '.parquet'
user = feast.Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING, tags={"a#b": "x, y", 'q': 'it\'s'})
trips_src = feast.FileSource(name="trips", path=PATH, timestamp_field="ts", field_mapping={"uid": "user_id"})
pg = feast.PostgreSQLSource(name="pg", query="""SELECT *
  FROM trips""", timestamp_field="ts")
stream = feast.KafkaSource(name="stream", kafka_bootstrap_servers="k:9092", topic="t", timestamp_field="ts",
    message_format=AvroFormat(schema_json='{"type": "record"}'), batch_source=pg, watermark_delay_threshold=datetime.timedelta(minutes=5))

class Helper:
    hidden = Entity(name="hidden", join_keys=["h"])

trips: FeatureView = FeatureView(
    name="trips",
    entities=[user],
    ttl=datetime.timedelta(weeks=1, days=-1),
    schema=[Field(name="km", dtype=ft.Float64), Field(name="stops", dtype=ft.Array(ft.String)), Field(name="n", dtype=feast.types.Int32)],
    source=trips_src,
    online=False,
    enable_validation=True,
)
trips_stream = FeatureView(name="trips_stream", entities=["user"], schema=[Field(name="speed", dtype=ft.Float32)], source=stream, ttl=3600)
no_schema = FeatureView(name="no_schema", entities=[user], source=trips_src)
counter += 1
a, b = 1, 2

if __name__ == "__main__":
    print("not read")
`
	imp := definitions.FromPython([]definitions.PythonSource{{Path: "repo.py", Data: []byte(src)}}, "p")
	got := renderPythonImport(imp)
	for _, want := range []string{
		"path: data/trips.parquet", "tags: {a#b: 'x, y', q: it's}", "value_type: STRING", "field_mapping: {uid: user_id}",
		"query: |-\n      SELECT *\n        FROM trips", "message_format: avro", "schema_json: '{\"type\": \"record\"}'", "watermark_delay_threshold: 5m",
		"ttl: 6d", "online: false", "{name: stops, dtype: Array(String)}", "{name: \"n\", dtype: Int32}",
		"- name: trips_stream\n    entities: [user]\n    ttl: 1h\n    source: stream",
		`repo.py:23: a class definition is not read`,
		`feature view "trips": argument enable_validation (repo.py:33) is not carried over`,
		`feature view "no_schema": it has no schema (repo.py:36)`,
		"repo.py:37: statement `counter += 1` is not read",
		"repo.py:38: statement `a, b = 1, 2` is not read",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"not_read", "hidden", "__main__", "main guard"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("%q should not appear:\n%s", unwanted, got)
		}
	}
	in := map[string]string{}
	for n, d := range imp.Files(definitions.LayoutObject) {
		in[n] = string(d)
	}
	if _, err := definitions.ParseFiles(in, definitions.Options{}); err != nil {
		t.Errorf("written definitions do not load: %v", err)
	}
}

func TestPythonImportUnreadableFile(t *testing.T) {
	imp := definitions.FromPython([]definitions.PythonSource{{Path: "bad.py", Data: []byte("x = 'unterminated\n")},
		{Path: "ok.py", Data: []byte("from feast import Entity\nu = Entity(name='u', join_keys=['id'], value_type=ValueType.INT64)\n")}}, "p")
	got := renderPythonImport(imp)
	if !strings.Contains(got, "bad.py: the file is not read: line 1: unterminated string") || !strings.Contains(got, "- name: u") {
		t.Errorf("got:\n%s", got)
	}
}

// FuzzPythonImport checks that no input makes the reader panic or hang,
// and that what it writes loads.
func FuzzPythonImport(f *testing.F) {
	for _, name := range []string{"driver_repo/driver_features.py", "driver_repo/driver_sources.py", "dynamic/dynamic_repo.py",
		"local_template/example_repo.py", "postgres_template/example_repo.py"} {
		data, err := os.ReadFile(filepath.Join("testdata", "python", filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("x = f(a=[1, {2: (3,)}], *b)\n@d\n@e(x)\ndef g():\n  pass\nclass C: pass\n")
	f.Add("x = (\ny = '''\n")
	f.Fuzz(func(t *testing.T, src string) {
		imp := definitions.FromPython([]definitions.PythonSource{{Path: "f.py", Data: []byte(src)}}, "p")
		in := map[string]string{}
		for n, d := range imp.Files(definitions.LayoutKind) {
			in[n] = string(d)
		}
		if _, err := definitions.ParseFiles(in, definitions.Options{}); err != nil {
			t.Fatalf("written definitions do not load: %v", err)
		}
	})
}

// TestPythonImportArithmetic checks number and timedelta arithmetic is
// computed as Python computes it, so views keep their ttl, and what is
// not computed is listed with file:line.
func TestPythonImportArithmetic(t *testing.T) {
	cases := []struct{ expr, ttl string }{
		{"timedelta(seconds=86400 * 1)", "1d"},
		{"timedelta(days=1) * 2", "2d"},
		{"2 * timedelta(hours=3)", "6h"},
		{"timedelta(hours=1) + timedelta(minutes=30)", "1h30m"},
		{"timedelta(days=1) - timedelta(hours=1)", "23h"},
		{"timedelta(days=1) / 4", "6h"},
		{"timedelta(days=1) // 5", "4h48m"},
		{"timedelta(seconds=DAY // 7)", "3h25m42s"},             // 86400 // 7 = 12342
		{"timedelta(seconds=DAY / 8)", "3h"},                    // true division
		{"timedelta(minutes=-7 % 60)", "53m"},                   // Python's modulo takes the divisor's sign
		{"timedelta(seconds=(DAY - 3600) % 7200 + 60)", "1h1m"}, // 82800 % 7200 = 3600
		{"timedelta(hours=1.5 * 2)", "3h"},
		{"timedelta(days=10) % timedelta(days=3)", "1d"},
		{"DAY * 2", "2d"}, // Feast takes seconds too
		{"-timedelta(hours=-2)", "2h"},
	}
	var b strings.Builder
	b.WriteString("from datetime import timedelta\nfrom feast import Entity, FeatureView, Field, FileSource\nfrom feast.types import Float32\n\n")
	b.WriteString("DAY = 86400\ne = Entity(name=\"e\", join_keys=[\"id\"])\nsrc = FileSource(name=\"src\", path=\"d.parquet\", timestamp_field=\"ts\")\n")
	for i, c := range cases {
		fmt.Fprintf(&b, "v%d = FeatureView(name=\"v%d\", entities=[e], ttl=%s, schema=[Field(name=\"f\", dtype=Float32)], source=src)\n", i, i, c.expr)
	}
	bad := []struct{ expr, gap string }{
		{"timedelta(seconds=DAY / 0)", "`DAY / 0` is not computed here: division by zero"},
		{"timedelta(days=1) // 1.5", "timedelta // float is an error in Python"},
		{"timedelta(days=1) + 1", "timedelta + int is computed only when Python runs"},
		{"timedelta(seconds=2 ** 10)", "operator ** is computed only when Python runs"},
	}
	first := len(cases)
	for i, c := range bad {
		fmt.Fprintf(&b, "w%d = FeatureView(name=\"w%d\", entities=[e], ttl=%s, schema=[Field(name=\"f\", dtype=Float32)], source=src)\n", first+i, first+i, c.expr)
	}
	imp := definitions.FromPython([]definitions.PythonSource{{Path: "repo.py", Data: []byte(b.String())}}, "p")
	got := renderPythonImport(imp)
	for i, c := range cases {
		want := fmt.Sprintf("- name: v%d\n    entities: [e]\n    ttl: %s\n", i, c.ttl)
		if !strings.Contains(got, want) {
			t.Errorf("ttl=%s: want ttl %s; got:\n%s", c.expr, c.ttl, got)
		}
	}
	for i, c := range bad {
		line := 8 + first + i // after the 7 lines before the views
		want := fmt.Sprintf("feature view \"w%d\": ttl is not read (repo.py:%d): ", first+i, line)
		if !strings.Contains(got, want) || !strings.Contains(got, c.gap) {
			t.Errorf("ttl=%s: want a gap %q ... %q in:\n%s", c.expr, want, c.gap, got)
		}
	}
}

// TestPythonImportUnnamedFileSource checks a FileSource without a name
// (Feast names it after its path, not a valid name here) is written under
// a derived name, listed as a note with file:line, and that the views
// using it are written.
func TestPythonImportUnnamedFileSource(t *testing.T) {
	src := `from feast import Entity, FeatureView, Field, FileSource, PushSource
from feast.types import Float32

e = Entity(name="e", join_keys=["id"])
shared = FileSource(path="data/shared.parquet", timestamp_field="ts")
taken = FileSource(name="v_source", path="data/other.parquet", timestamp_field="ts")
pushed = PushSource(name="pushed", batch_source=FileSource(path="s3://bucket/events/", timestamp_field="ts"))
a = FeatureView(name="a", entities=[e], schema=[Field(name="f", dtype=Float32)], source=shared)
b = FeatureView(name="b", entities=[e], schema=[Field(name="f", dtype=Float32)], source=shared)
v = FeatureView(name="v", entities=[e], schema=[Field(name="f", dtype=Float32)],
    source=FileSource(path="data/v.parquet", timestamp_field="ts"))
w = FeatureView(name="w", entities=[e], schema=[Field(name="f", dtype=Float32)], source=pushed)
`
	imp := definitions.FromPython([]definitions.PythonSource{{Path: "repo.py", Data: []byte(src)}}, "p")
	got := renderPythonImport(imp)
	for _, want := range []string{
		"  - name: shared\n    type: file\n    path: data/shared.parquet\n",
		"  - name: pushed_batch\n    type: file\n    path: s3://bucket/events/\n",
		"  - name: v_source_2\n    type: file\n    path: data/v.parquet\n",
		"  - name: a\n    entities: [e]\n    source: shared\n",
		"  - name: b\n    entities: [e]\n    source: shared\n",
		"  - name: v\n    entities: [e]\n    source: v_source_2\n",
		`data source "shared": it has no name (repo.py:5); Feast names it after its path "data/shared.parquet"`,
		`written as shared, after the variable it is assigned to`,
		`data source "pushed_batch": it has no name (repo.py:7)`,
		`written as pushed_batch, after the batch source of data source "pushed"`,
		`data source "v_source_2": it has no name (repo.py:11)`,
		`written as v_source_2, after the source of feature view "v"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not written") {
		t.Errorf("an object is not written:\n%s", got)
	}
	in := map[string]string{}
	for n, d := range imp.Files(definitions.LayoutKind) {
		in[n] = string(d)
	}
	if _, err := definitions.ParseFiles(in, definitions.Options{}); err != nil {
		t.Errorf("written definitions do not load: %v", err)
	}
}
