// Package offlinetest is the conformance suite every offline store runs:
// a golden corpus of point-in-time cases (testdata/*.txt), randomized
// comparisons against a brute-force reference implementation, and the same
// for the materialization reads (PullLatest, PullAll).
package offlinetest

import (
	"context"
	"embed"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
)

//go:embed testdata/*.txt
var testdata embed.FS

// Backend is an offline store under test and a way to give it sources.
type Backend struct {
	Store offline.Store
	// CreateSource stores a table as a new data source the store can read
	// (a Parquet file, a PostgreSQL table) and returns it with Kind and the
	// location set; the suite fills the name, timestamp columns and field
	// mapping.
	CreateSource func(t *testing.T, name string, tbl *Table) *model.DataSource
}

// Cases returns the golden corpus.
func Cases() ([]*Case, error) {
	files, err := testdata.ReadDir("testdata")
	if err != nil {
		return nil, err
	}
	var all []*Case
	for _, f := range files {
		b, err := testdata.ReadFile(path.Join("testdata", f.Name()))
		if err != nil {
			return nil, err
		}
		cases, err := ParseCases(f.Name(), string(b))
		if err != nil {
			return nil, err
		}
		all = append(all, cases...)
	}
	return all, nil
}

// Run runs the whole suite against a backend made once by newBackend.
func Run(t *testing.T, newBackend func(t *testing.T) *Backend) {
	b := newBackend(t)
	t.Run("golden", func(t *testing.T) {
		cases, err := Cases()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(strings.TrimSuffix(c.Pos[:strings.Index(c.Pos, ":")], ".txt")+"/"+c.Name, func(t *testing.T) {
				RunCase(t, b, c, true)
			})
		}
	})
	t.Run("random", func(t *testing.T) {
		for seed := uint64(1); seed <= uint64(RandomSeeds()); seed++ {
			c := RandomCase(seed)
			exp, err := Reference(c)
			if err != nil {
				t.Fatalf("seed %d: reference: %v", seed, err)
			}
			c.Expect = exp.Render()
			t.Run(fmt.Sprint(seed), func(t *testing.T) { RunCase(t, b, c, false) })
		}
	})
	if sampler, ok := b.Store.(offline.Sampler); ok {
		t.Run("sample", func(t *testing.T) { runSample(t, b, sampler) })
	}
	if p, ok := b.Store.(offline.KeyOrderedPuller); ok {
		t.Run("key order", func(t *testing.T) { runKeyOrder(t, b, p) })
	}
	t.Run("decimals", func(t *testing.T) { runDecimals(t, b) })
	t.Run("pull", func(t *testing.T) {
		for seed := uint64(1); seed <= uint64(RandomSeeds()); seed++ {
			c := RandomCase(seed)
			r := rand.New(rand.NewPCG(seed, 99))
			v := c.Views[r.IntN(len(c.Views))]
			c.Pull = &PullDef{View: v.Name, Latest: r.IntN(4) != 0, Start: base.Add(hours(r.IntN(3))), End: base.Add(hours(2 + r.IntN(5)))}
			exp, err := ReferencePull(c)
			if err != nil {
				t.Fatalf("seed %d: reference: %v", seed, err)
			}
			c.Expect = exp.Render()
			t.Run(fmt.Sprint(seed), func(t *testing.T) { RunCase(t, b, c, false) })
		}
	})
}

// RandomSeeds is how many random cases each random test runs:
// FEAST_OFFLINE_SEEDS when set, else 60.
func RandomSeeds() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("FEAST_OFFLINE_SEEDS"), &n); err == nil && n > 0 {
		return n
	}
	return 60
}

// Build creates the case's sources in the backend and returns its views.
func Build(t *testing.T, b *Backend, c *Case) map[string]*model.FeatureView {
	t.Helper()
	sources := map[string]*model.DataSource{}
	for i := range c.Sources {
		s := &c.Sources[i]
		ds := b.CreateSource(t, s.Name, &s.Table)
		ds.Name = s.Name
		ds.TimestampField = s.Timestamp
		ds.CreatedTimestampColumn = s.Created
		ds.FieldMapping = s.FieldMapping
		sources[s.Name] = ds
	}
	views := map[string]*model.FeatureView{}
	for _, v := range c.Views {
		src, ok := sources[v.Source]
		if !ok {
			t.Fatalf("%s: view %s: unknown source %s", c.Pos, v.Name, v.Source)
		}
		views[v.Name] = &model.FeatureView{Name: v.Name, EntityColumns: v.Keys, Features: v.Features, TTL: v.TTL, Source: src, Online: true, Offline: true}
	}
	return views
}

// Request builds the historical request of a case (entity rows as Arrow).
func Request(t *testing.T, c *Case, views map[string]*model.FeatureView) offline.HistoricalRequest {
	t.Helper()
	req := offline.HistoricalRequest{FullFeatureNames: c.FullNames, FilterByCreatedTimestamp: c.FilterCreate, Start: c.Start, End: c.End}
	if c.Entities != nil {
		rr, err := c.Entities.Reader()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rr.Release)
		req.Entities.Records = rr
	}
	for _, f := range c.Fetch {
		v, ok := views[f.View]
		if !ok {
			t.Fatalf("%s: fetch of unknown view %s", c.Pos, f.View)
		}
		req.Views = append(req.Views, offline.ViewRequest{View: v, Alias: f.Alias, Features: f.Features, JoinKeyMap: f.JoinKeyMap})
	}
	return req
}

// RunCase runs one case against a backend. With writeFiles, successful
// historical cases also go through WriteParquet and WriteCSV.
func RunCase(t *testing.T, b *Backend, c *Case, writeFiles bool) {
	ctx := context.Background()
	views := Build(t, b, c)
	if c.Pull != nil {
		v := views[c.Pull.View]
		pull := b.Store.PullAll
		if c.Pull.Latest {
			pull = b.Store.PullLatest
		}
		rr, err := pull(ctx, v, c.Pull.Start, c.Pull.End)
		if err != nil {
			t.Fatalf("%s: pull: %v", c.Pos, err)
		}
		got, err := RenderReader(rr)
		rr.Release()
		if err != nil {
			t.Fatalf("%s: read pull: %v", c.Pos, err)
		}
		compare(t, c, sortRows(got), sortRows(c.Expect))
		return
	}
	job, err := b.Store.GetHistoricalFeatures(ctx, Request(t, c, views))
	if c.ExpectError != "" {
		if err == nil {
			job.Close()
			t.Fatalf("%s: want error containing %q, got none", c.Pos, c.ExpectError)
		}
		if !strings.Contains(err.Error(), c.ExpectError) {
			t.Fatalf("%s: want error containing %q, got %v", c.Pos, c.ExpectError, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: get historical features: %v", c.Pos, err)
	}
	defer job.Close()
	if h := strings.Join(job.Columns(), " "); h != c.Expect[0] {
		t.Errorf("%s: Columns() = %s, want %s", c.Pos, h, c.Expect[0])
	}
	rr, err := job.Reader(ctx)
	if err != nil {
		t.Fatalf("%s: read: %v", c.Pos, err)
	}
	got, err := RenderReader(rr)
	rr.Release()
	if err != nil {
		t.Fatalf("%s: read: %v", c.Pos, err)
	}
	compare(t, c, got, c.Expect)
	if !writeFiles {
		return
	}
	dir := t.TempDir()
	pq := filepath.Join(dir, "out.parquet")
	if err := job.WriteParquet(ctx, pq); err != nil {
		t.Fatalf("%s: write parquet: %v", c.Pos, err)
	}
	rr, err = offline.ReadParquet(ctx, pq, 1024, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err = RenderReader(rr)
	rr.Release()
	if err != nil {
		t.Fatal(err)
	}
	compare(t, c, got, c.Expect)
	csvPath := filepath.Join(dir, "out.csv")
	if err := job.WriteCSV(ctx, csvPath); err != nil {
		t.Fatalf("%s: write csv: %v", c.Pos, err)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != strings.Join(job.Columns(), ",") || len(lines) != len(c.Expect) {
		t.Errorf("%s: csv has header %q and %d lines, want %q and %d", c.Pos, lines[0], len(lines), strings.Join(job.Columns(), ","), len(c.Expect))
	}
}

func sortRows(lines []string) []string {
	if len(lines) == 0 {
		return lines
	}
	out := append([]string{lines[0]}, lines[1:]...)
	slices.Sort(out[1:])
	return out
}

func compare(t *testing.T, c *Case, got, want []string) {
	t.Helper()
	norm := func(ls []string) string {
		var out []string
		for _, l := range ls {
			out = append(out, strings.Join(tokens(l), " "))
		}
		return strings.Join(out, "\n")
	}
	g, w := norm(got), norm(want)
	if g != w {
		t.Errorf("%s: case %s: output differs\n--- got\n%s\n--- want\n%s%s", c.Pos, c.Name, g, w, describeCase(c))
	}
}

// describeCase prints a random case's inputs so a failure can be reproduced.
func describeCase(c *Case) string {
	if !strings.HasPrefix(c.Name, "random") {
		return ""
	}
	var b strings.Builder
	for _, s := range c.Sources {
		fmt.Fprintf(&b, "\n--- source %s ts=%s created=%s map=%v\n%s", s.Name, s.Timestamp, s.Created, s.FieldMapping, strings.Join(s.Table.Render(), "\n"))
	}
	for _, v := range c.Views {
		fmt.Fprintf(&b, "\n--- view %s ttl=%s", v.Name, v.TTL)
	}
	if c.Entities != nil {
		fmt.Fprintf(&b, "\n--- entities\n%s", strings.Join(c.Entities.Render(), "\n"))
	}
	fmt.Fprintf(&b, "\n--- filter_created=%v fetch=%+v pull=%+v", c.FilterCreate, c.Fetch, c.Pull)
	return b.String()
}

// runSample checks offline.Sampler: a sample has the source's columns and
// at most the rows asked for, and a sample larger than the source holds
// all of it (null counts as in the table).
func runSample(t *testing.T, b *Backend, sampler offline.Sampler) {
	ctx := context.Background()
	tbl := RandomCase(7).Sources[0].Table
	src := b.CreateSource(t, "sample_src", &tbl)
	src.Name = "sample_src"
	for _, limit := range []int{1, 3, len(tbl.Rows) + 10} {
		rr, err := sampler.Sample(ctx, src, limit)
		if err != nil {
			t.Fatalf("sample %d: %v", limit, err)
		}
		p, err := offline.Profile(rr, limit, limit)
		rr.Release()
		if err != nil {
			t.Fatalf("sample %d: %v", limit, err)
		}
		if want := int64(min(limit, len(tbl.Rows))); p.SampleRows != want || int64(len(p.Rows)) != want {
			t.Errorf("sample %d: %d rows (%d shown), want %d", limit, p.SampleRows, len(p.Rows), want)
		}
		var names []string
		for _, c := range p.Columns {
			names = append(names, c.Name)
		}
		if got, want := strings.Join(names, " "), strings.Join(colNames(tbl.Cols), " "); got != want {
			t.Errorf("sample %d columns %q, want %q", limit, got, want)
		}
		if limit < len(tbl.Rows) {
			continue
		}
		for i, c := range p.Columns {
			var nulls int64
			for _, row := range tbl.Rows {
				if row[i] == nil {
					nulls++
				}
			}
			if c.Nulls != nulls {
				t.Errorf("whole-source sample: column %s has %d nulls, the table %d", c.Name, c.Nulls, nulls)
			}
		}
	}
}
