// Package registrytest is the conformance suite every registry.Store
// implementation runs: file, object-store and SQL stores alike.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
)

// Run runs the conformance suite. open must return a new Store over the
// same backing storage every time it is called during one Run (the suite
// opens several to act as separate processes/connections); the suite closes
// every store it opens. Subtests isolate themselves with unique project
// names, so the backing storage may also hold other projects.
func Run(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Helper()
	opener := func(t *testing.T) registry.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
	t.Run("EmptyLoadsEmpty", func(t *testing.T) { testEmpty(t, opener) })
	t.Run("ApplyAndLoad", func(t *testing.T) { testApplyAndLoad(t, opener) })
	t.Run("UpdateAndRemove", func(t *testing.T) { testUpdateAndRemove(t, opener) })
	t.Run("ProjectsAreIsolated", func(t *testing.T) { testProjects(t, opener) })
	t.Run("UnknownFieldsSurvive", func(t *testing.T) { testUnknownFields(t, opener) })
	t.Run("MaterializationIntervals", func(t *testing.T) { testIntervals(t, opener) })
	t.Run("FailingUpdateChangesNothing", func(t *testing.T) { testFailingUpdate(t, opener) })
	t.Run("ConcurrentUpdatesLoseNothing", func(t *testing.T) { testConcurrent(t, opener) })
}

// Objects returns a Registry holding only project's objects of r, each list
// sorted by name, for comparison with proto.Equal. Registry-level fields
// (version, timestamps, projects, infra) are left out.
func Objects(r *core.Registry, project string) *core.Registry {
	out := &core.Registry{}
	for _, m := range r.GetEntities() {
		if m.GetSpec().GetProject() == project {
			out.Entities = append(out.Entities, m)
		}
	}
	for _, m := range r.GetDataSources() {
		if m.GetProject() == project {
			out.DataSources = append(out.DataSources, m)
		}
	}
	for _, m := range r.GetFeatureViews() {
		if m.GetSpec().GetProject() == project {
			out.FeatureViews = append(out.FeatureViews, m)
		}
	}
	for _, m := range r.GetStreamFeatureViews() {
		if m.GetSpec().GetProject() == project {
			out.StreamFeatureViews = append(out.StreamFeatureViews, m)
		}
	}
	for _, m := range r.GetOnDemandFeatureViews() {
		if m.GetSpec().GetProject() == project {
			out.OnDemandFeatureViews = append(out.OnDemandFeatureViews, m)
		}
	}
	for _, m := range r.GetFeatureServices() {
		if m.GetSpec().GetProject() == project {
			out.FeatureServices = append(out.FeatureServices, m)
		}
	}
	for _, m := range r.GetSavedDatasets() {
		if m.GetSpec().GetProject() == project {
			out.SavedDatasets = append(out.SavedDatasets, m)
		}
	}
	for _, m := range r.GetValidationReferences() {
		if m.GetProject() == project {
			out.ValidationReferences = append(out.ValidationReferences, m)
		}
	}
	for _, m := range r.GetPermissions() {
		if m.GetSpec().GetProject() == project {
			out.Permissions = append(out.Permissions, m)
		}
	}
	for _, m := range r.GetLabelViews() {
		if m.GetSpec().GetProject() == project {
			out.LabelViews = append(out.LabelViews, m)
		}
	}
	sortBy(out.Entities, func(m *core.Entity) string { return m.GetSpec().GetName() })
	sortBy(out.DataSources, func(m *core.DataSource) string { return m.GetName() })
	sortBy(out.FeatureViews, func(m *core.FeatureView) string { return m.GetSpec().GetName() })
	sortBy(out.StreamFeatureViews, func(m *core.StreamFeatureView) string { return m.GetSpec().GetName() })
	sortBy(out.OnDemandFeatureViews, func(m *core.OnDemandFeatureView) string { return m.GetSpec().GetName() })
	sortBy(out.FeatureServices, func(m *core.FeatureService) string { return m.GetSpec().GetName() })
	sortBy(out.SavedDatasets, func(m *core.SavedDataset) string { return m.GetSpec().GetName() })
	sortBy(out.ValidationReferences, func(m *core.ValidationReference) string { return m.GetName() })
	sortBy(out.Permissions, func(m *core.Permission) string { return m.GetSpec().GetName() })
	sortBy(out.LabelViews, func(m *core.LabelView) string { return m.GetSpec().GetName() })
	return out
}

func sortBy[T any](xs []T, key func(T) string) {
	sort.SliceStable(xs, func(i, j int) bool { return key(xs[i]) < key(xs[j]) })
}

func countObjects(r *core.Registry) int {
	return len(r.Entities) + len(r.DataSources) + len(r.FeatureViews) + len(r.StreamFeatureViews) +
		len(r.OnDemandFeatureViews) + len(r.FeatureServices) + len(r.SavedDatasets) +
		len(r.ValidationReferences) + len(r.Permissions) + len(r.LabelViews)
}

func load(t *testing.T, s registry.Store, project string) *core.Registry {
	t.Helper()
	r, err := s.Load(context.Background(), project)
	if err != nil {
		t.Fatalf("Load(%s): %v", project, err)
	}
	if r == nil {
		t.Fatalf("Load(%s) returned a nil registry", project)
	}
	return r
}

func update(t *testing.T, s registry.Store, project string, fn func(*core.Registry) error) {
	t.Helper()
	if err := s.Update(context.Background(), project, fn); err != nil {
		t.Fatalf("Update(%s): %v", project, err)
	}
}

func requireEqual(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Fatalf("%s differs:\n got: %v\nwant: %v", what, got, want)
	}
}

// Fixtures. Each returns a fresh message; tests compare stored objects with
// a second call of the same fixture.

var (
	created = time.Date(2025, 3, 4, 5, 6, 7, 890000000, time.UTC)
	ts      = timestamppb.New(created)
)

// Entity returns an entity of project.
func Entity(project, name string) *core.Entity {
	return &core.Entity{
		Spec: &core.EntitySpecV2{Name: name, Project: project, ValueType: types.ValueType_INT64, JoinKey: name + "_id",
			Description: "a " + name, Tags: map[string]string{"team": "t1", "tier": "gold"}, Owner: "o@example.com"},
		Meta: &core.EntityMeta{CreatedTimestamp: ts, LastUpdatedTimestamp: ts},
	}
}

// FileSource returns a batch file data source of project.
func FileSource(project, name string) *core.DataSource {
	return &core.DataSource{
		Name: name, Project: project, Type: core.DataSource_BATCH_FILE,
		TimestampField: "event_timestamp", CreatedTimestampColumn: "created",
		FieldMapping:        map[string]string{"a": "b"},
		DataSourceClassType: "feast.infra.offline_stores.file_source.FileSource",
		Options: &core.DataSource_FileOptions_{FileOptions: &core.DataSource_FileOptions{
			Uri: "data/" + name + ".parquet",
		}},
	}
}

// FeatureView returns a feature view of project over source with features.
func FeatureView(project, name, source string, features ...string) *core.FeatureView {
	fv := &core.FeatureView{
		Spec: &core.FeatureViewSpec{
			Name: name, Project: project, Entities: []string{"driver"},
			EntityColumns: []*core.FeatureSpecV2{{Name: "driver_id", ValueType: types.ValueType_INT64}},
			Ttl:           durationpb.New(24 * time.Hour), Online: true, Offline: true,
			BatchSource: FileSource(project, source), Tags: map[string]string{"k": "v"},
		},
		Meta: &core.FeatureViewMeta{CreatedTimestamp: ts, LastUpdatedTimestamp: ts},
	}
	for _, f := range features {
		fv.Spec.Features = append(fv.Spec.Features, &core.FeatureSpecV2{Name: f, ValueType: types.ValueType_FLOAT})
	}
	return fv
}

func streamView(project, name string) *core.StreamFeatureView {
	return &core.StreamFeatureView{
		Spec: &core.StreamFeatureViewSpec{
			Name: name, Project: project, Entities: []string{"driver"},
			Features: []*core.FeatureSpecV2{{Name: "clicks", ValueType: types.ValueType_INT64}},
			Ttl:      durationpb.New(time.Hour), Online: true, Mode: "spark", TimestampField: "ts",
			BatchSource: FileSource(project, "clicks_batch"),
		},
		Meta: &core.FeatureViewMeta{CreatedTimestamp: ts},
	}
}

func onDemandView(project, name string) *core.OnDemandFeatureView {
	return &core.OnDemandFeatureView{
		Spec: &core.OnDemandFeatureViewSpec{
			Name: name, Project: project,
			Features: []*core.FeatureSpecV2{{Name: "conv_plus", ValueType: types.ValueType_DOUBLE}},
			Mode:     "python", Description: "odfv", Tags: map[string]string{"x": "y"},
		},
		Meta: &core.OnDemandFeatureViewMeta{CreatedTimestamp: ts},
	}
}

func featureService(project, name string) *core.FeatureService {
	return &core.FeatureService{
		Spec: &core.FeatureServiceSpec{
			Name: name, Project: project, Description: "svc",
			Features: []*core.FeatureViewProjection{{
				FeatureViewName: "driver_stats",
				FeatureColumns:  []*core.FeatureSpecV2{{Name: "conv_rate", ValueType: types.ValueType_FLOAT}},
			}},
		},
		Meta: &core.FeatureServiceMeta{CreatedTimestamp: ts},
	}
}

// fullRegistry returns one object of every kind the stores persist per project.
func fullRegistry(project string) *core.Registry {
	return &core.Registry{
		Entities:             []*core.Entity{Entity(project, "driver"), Entity(project, "customer")},
		DataSources:          []*core.DataSource{FileSource(project, "driver_src")},
		FeatureViews:         []*core.FeatureView{FeatureView(project, "driver_stats", "driver_src", "conv_rate", "acc_rate")},
		StreamFeatureViews:   []*core.StreamFeatureView{streamView(project, "clicks")},
		OnDemandFeatureViews: []*core.OnDemandFeatureView{onDemandView(project, "plus_one")},
		FeatureServices:      []*core.FeatureService{featureService(project, "svc_v1")},
		SavedDatasets: []*core.SavedDataset{{Spec: &core.SavedDatasetSpec{
			Name: "ds1", Project: project, Features: []string{"driver_stats:conv_rate"}, JoinKeys: []string{"driver_id"},
		}}},
		ValidationReferences: []*core.ValidationReference{{Name: "vr1", ReferenceDatasetName: "ds1", Project: project}},
		Permissions:          []*core.Permission{{Spec: &core.PermissionSpec{Name: "perm1", Project: project}}},
		LabelViews:           []*core.LabelView{{Spec: &core.LabelViewSpec{Name: "labels1", Project: project}}},
	}
}

// putAll adds every object of src to r (replacing same-named ones of the
// kinds registry.Put knows, appending the others).
func putAll(r, src *core.Registry) {
	for _, m := range src.Entities {
		registry.Put(r, registry.Object{Kind: registry.KindEntity, Name: m.GetSpec().GetName(), Msg: proto.Clone(m)})
	}
	for _, m := range src.DataSources {
		registry.Put(r, registry.Object{Kind: registry.KindDataSource, Name: m.GetName(), Msg: proto.Clone(m)})
	}
	for _, m := range src.FeatureViews {
		registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: m.GetSpec().GetName(), Msg: proto.Clone(m)})
	}
	for _, m := range src.StreamFeatureViews {
		registry.Put(r, registry.Object{Kind: registry.KindStreamView, Name: m.GetSpec().GetName(), Msg: proto.Clone(m)})
	}
	for _, m := range src.OnDemandFeatureViews {
		registry.Put(r, registry.Object{Kind: registry.KindOnDemandView, Name: m.GetSpec().GetName(), Msg: proto.Clone(m)})
	}
	for _, m := range src.FeatureServices {
		registry.Put(r, registry.Object{Kind: registry.KindFeatureService, Name: m.GetSpec().GetName(), Msg: proto.Clone(m)})
	}
	for _, m := range src.SavedDatasets {
		r.SavedDatasets = append(r.SavedDatasets, proto.Clone(m).(*core.SavedDataset))
	}
	for _, m := range src.ValidationReferences {
		r.ValidationReferences = append(r.ValidationReferences, proto.Clone(m).(*core.ValidationReference))
	}
	for _, m := range src.Permissions {
		r.Permissions = append(r.Permissions, proto.Clone(m).(*core.Permission))
	}
	for _, m := range src.LabelViews {
		r.LabelViews = append(r.LabelViews, proto.Clone(m).(*core.LabelView))
	}
}

func testEmpty(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	project := testenv.UniqueName("empty")
	r := load(t, s, project)
	if n := countObjects(Objects(r, project)); n != 0 {
		t.Fatalf("new project %s loads %d objects, want 0", project, n)
	}
	for _, p := range r.Projects {
		if p.GetSpec().GetName() == project {
			t.Fatalf("new project %s already has a Project record", project)
		}
	}
}

func testApplyAndLoad(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	project := testenv.UniqueName("apply")
	want := fullRegistry(project)
	const uuid = "0b9ad2c2-7f59-4a5e-8d2a-6ad0d7d6b1a1"
	update(t, s, project, func(r *core.Registry) error {
		putAll(r, want)
		registry.EnsureProject(r, project, "the description", uuid, created)
		return nil
	})
	// A second store instance reads what the first wrote.
	got := load(t, open(t), project)
	requireEqual(t, "loaded objects", Objects(got, project), Objects(want, project))

	var proj *core.Project
	for _, p := range got.Projects {
		if p.GetSpec().GetName() == project {
			proj = p
		}
	}
	if proj == nil || proj.GetSpec().GetDescription() != "the description" {
		t.Fatalf("Project record of %s = %v, want description %q", project, proj, "the description")
	}
	found := false
	//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
	for _, m := range got.ProjectMetadata {
		if m.GetProject() == project {
			found = true
			if m.GetProjectUuid() != uuid {
				t.Errorf("project uuid = %q, want %q", m.GetProjectUuid(), uuid)
			}
		}
	}
	if !found {
		t.Errorf("no ProjectMetadata for %s", project)
	}
}

func testUpdateAndRemove(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	project := testenv.UniqueName("upd")
	update(t, s, project, func(r *core.Registry) error { putAll(r, fullRegistry(project)); return nil })

	changed := FeatureView(project, "driver_stats", "driver_src", "conv_rate", "acc_rate", "avg_daily_trips")
	changed.Spec.Description = "now with trips"
	update(t, s, project, func(r *core.Registry) error {
		registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "driver_stats", Msg: changed})
		registry.Remove(r, project, registry.KindEntity, "customer")
		registry.Remove(r, project, registry.KindOnDemandView, "plus_one")
		r.SavedDatasets = nil
		r.Permissions = nil
		return nil
	})

	want := fullRegistry(project)
	want.FeatureViews = []*core.FeatureView{FeatureView(project, "driver_stats", "driver_src", "conv_rate", "acc_rate", "avg_daily_trips")}
	want.FeatureViews[0].Spec.Description = "now with trips"
	want.Entities = want.Entities[:1]
	want.OnDemandFeatureViews = nil
	want.SavedDatasets = nil
	want.Permissions = nil
	got := load(t, open(t), project)
	requireEqual(t, "objects after update", Objects(got, project), Objects(want, project))

	// Deleting the project leaves nothing behind.
	if err := s.Delete(context.Background(), project); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got = load(t, open(t), project)
	if n := countObjects(Objects(got, project)); n != 0 {
		t.Fatalf("after Delete, %s loads %d objects", project, n)
	}
	for _, p := range got.Projects {
		if p.GetSpec().GetName() == project {
			t.Fatalf("after Delete, Project %s is still there", project)
		}
	}
}

func testProjects(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	p1, p2 := testenv.UniqueName("proj_a"), testenv.UniqueName("proj_b")
	update(t, s, p1, func(r *core.Registry) error { putAll(r, fullRegistry(p1)); return nil })
	want2 := fullRegistry(p2)
	want2.FeatureViews[0].Spec.Description = "the p2 one" // same names, different content
	update(t, open(t), p2, func(r *core.Registry) error { putAll(r, want2); return nil })

	// Updating one project does not touch the other's same-named objects.
	update(t, s, p1, func(r *core.Registry) error {
		registry.Remove(r, p1, registry.KindFeatureView, "driver_stats")
		return nil
	})
	want1 := fullRegistry(p1)
	want1.FeatureViews = nil
	requireEqual(t, p1+" objects", Objects(load(t, s, p1), p1), Objects(want1, p1))
	requireEqual(t, p2+" objects", Objects(load(t, s, p2), p2), Objects(want2, p2))

	if err := s.Delete(context.Background(), p1); err != nil {
		t.Fatalf("Delete(%s): %v", p1, err)
	}
	if n := countObjects(Objects(load(t, s, p1), p1)); n != 0 {
		t.Fatalf("deleted project %s loads %d objects", p1, n)
	}
	requireEqual(t, p2+" objects after deleting "+p1, Objects(load(t, open(t), p2), p2), Objects(want2, p2))
}

// withUnknown appends an unknown field (number 999, bytes) to m.
func withUnknown(m proto.Message, payload string) {
	raw := m.ProtoReflect().GetUnknown()
	raw = protowire.AppendTag(raw, 999, protowire.BytesType)
	raw = protowire.AppendString(raw, payload)
	m.ProtoReflect().SetUnknown(raw)
}

func testUnknownFields(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	project := testenv.UniqueName("unknown")
	mk := func() (*core.FeatureView, *core.Entity) {
		fv := FeatureView(project, "future_view", "src", "pdf")
		// PDF_BYTES (30) is a Python-only ValueType number the Go enum lacks.
		fv.Spec.Features[0].ValueType = types.ValueType_Enum(30)
		withUnknown(fv, "top-level from a newer Feast")
		withUnknown(fv.Spec, "spec field from a newer Feast")
		withUnknown(fv.Spec.Features[0], "feature field")
		e := Entity(project, "driver")
		withUnknown(e.Spec, "entity spec field")
		return fv, e
	}
	fv, e := mk()
	update(t, s, project, func(r *core.Registry) error {
		r.FeatureViews = append(r.FeatureViews, fv)
		r.Entities = append(r.Entities, e)
		return nil
	})
	check := func(when string) {
		t.Helper()
		got := Objects(load(t, open(t), project), project)
		wantFV, wantE := mk()
		if len(got.FeatureViews) != 1 || len(got.Entities) != 1 {
			t.Fatalf("%s: loaded %d views, %d entities", when, len(got.FeatureViews), len(got.Entities))
		}
		requireEqual(t, when+": view with unknown fields", got.FeatureViews[0], wantFV)
		requireEqual(t, when+": entity with unknown fields", got.Entities[0], wantE)
		if len(got.FeatureViews[0].Spec.ProtoReflect().GetUnknown()) == 0 {
			t.Fatalf("%s: unknown spec field was dropped", when)
		}
		if v := got.FeatureViews[0].Spec.Features[0].ValueType; v != 30 {
			t.Fatalf("%s: value type = %d, want 30", when, v)
		}
	}
	check("after apply")
	// An unrelated update (which rewrites the file store entirely) keeps them.
	update(t, s, project, func(r *core.Registry) error {
		r.DataSources = append(r.DataSources, FileSource(project, "other"))
		return nil
	})
	check("after an unrelated update")
	// Rewriting the view itself, as materialization does, keeps them too.
	update(t, s, project, func(r *core.Registry) error {
		if !registry.AppendInterval(r, project, "future_view", created, created.Add(time.Hour), created) {
			return errors.New("future_view not found")
		}
		return nil
	})
	got := Objects(load(t, open(t), project), project)
	if len(got.FeatureViews) != 1 || len(got.FeatureViews[0].ProtoReflect().GetUnknown()) == 0 ||
		len(got.FeatureViews[0].Spec.ProtoReflect().GetUnknown()) == 0 || got.FeatureViews[0].Spec.Features[0].ValueType != 30 {
		t.Fatalf("after rewriting the view, unknown data was lost: %v", got.FeatureViews)
	}
}

func intervals(r *core.Registry, project, view string) []*core.MaterializationInterval {
	for _, fv := range r.FeatureViews {
		if fv.GetSpec().GetProject() == project && fv.GetSpec().GetName() == view {
			return fv.GetMeta().GetMaterializationIntervals()
		}
	}
	return nil
}

func testIntervals(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	project := testenv.UniqueName("intervals")
	update(t, s, project, func(r *core.Registry) error { putAll(r, fullRegistry(project)); return nil })
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		from, to := start.Add(time.Duration(i)*time.Hour), start.Add(time.Duration(i+1)*time.Hour)
		update(t, s, project, func(r *core.Registry) error {
			if !registry.AppendInterval(r, project, "driver_stats", from, to, to) {
				return errors.New("driver_stats not found")
			}
			return nil
		})
	}
	got := intervals(load(t, open(t), project), project, "driver_stats")
	if len(got) != 3 {
		t.Fatalf("loaded %d intervals, want 3: %v", len(got), got)
	}
	for i, iv := range got {
		wantStart, wantEnd := start.Add(time.Duration(i)*time.Hour), start.Add(time.Duration(i+1)*time.Hour)
		if !iv.GetStartTime().AsTime().Equal(wantStart) || !iv.GetEndTime().AsTime().Equal(wantEnd) {
			t.Errorf("interval %d = [%v, %v], want [%v, %v]", i, iv.GetStartTime().AsTime(), iv.GetEndTime().AsTime(), wantStart, wantEnd)
		}
	}
}

func testFailingUpdate(t *testing.T, open func(*testing.T) registry.Store) {
	s := open(t)
	project := testenv.UniqueName("failing")
	update(t, s, project, func(r *core.Registry) error { putAll(r, fullRegistry(project)); return nil })
	before := load(t, s, project)

	boom := errors.New("boom")
	err := s.Update(context.Background(), project, func(r *core.Registry) error {
		r.Entities = append(r.Entities, Entity(project, "half_applied"))
		registry.Remove(r, project, registry.KindFeatureView, "driver_stats")
		if !registry.AppendInterval(r, project, "clicks", created, created, created) {
			return errors.New("clicks not found")
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	after := load(t, open(t), project)
	requireEqual(t, "objects after a failed update", Objects(after, project), Objects(before, project))

	// A brand-new project whose first update fails stays empty.
	fresh := testenv.UniqueName("failing_new")
	if err := s.Update(context.Background(), fresh, func(r *core.Registry) error {
		r.Entities = append(r.Entities, Entity(fresh, "x"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	if n := countObjects(Objects(load(t, s, fresh), fresh)); n != 0 {
		t.Fatalf("failed first update left %d objects", n)
	}
}

func testConcurrent(t *testing.T, open func(*testing.T) registry.Store) {
	const (
		writers = 6
		rounds  = 4
	)
	project := testenv.UniqueName("concurrent")
	update(t, open(t), project, func(r *core.Registry) error { putAll(r, fullRegistry(project)); return nil })

	stores := make([]registry.Store, writers)
	for i := range stores {
		stores[i] = open(t) // separate instances: separate connections / file handles
	}
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				n := w*rounds + i
				name := fmt.Sprintf("entity_%03d", n)
				from := start.Add(time.Duration(n) * time.Hour)
				err := stores[w].Update(context.Background(), project, func(r *core.Registry) error {
					r.Entities = append(r.Entities, Entity(project, name))
					if !registry.AppendInterval(r, project, "driver_stats", from, from.Add(time.Hour), from) {
						return errors.New("driver_stats not found")
					}
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	got := load(t, open(t), project)
	names := map[string]bool{}
	for _, e := range Objects(got, project).Entities {
		names[e.GetSpec().GetName()] = true
	}
	seen := map[time.Time]bool{}
	for _, iv := range intervals(got, project, "driver_stats") {
		seen[iv.GetStartTime().AsTime()] = true
	}
	for n := range writers * rounds {
		if name := fmt.Sprintf("entity_%03d", n); !names[name] {
			t.Errorf("lost update: entity %s is missing", name)
		}
		if from := start.Add(time.Duration(n) * time.Hour); !seen[from] {
			t.Errorf("lost update: interval starting %v is missing", from)
		}
	}
	if n := len(intervals(got, project, "driver_stats")); n != writers*rounds {
		t.Errorf("driver_stats has %d intervals, want %d", n, writers*rounds)
	}
}
