package feast

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// silentStore is a registry store whose updates never answer: they ignore
// their context and wait until the test ends, as a database call on a
// connection whose host went silent may.
type silentStore struct {
	registry.Store
	release chan struct{}
}

func (s silentStore) Update(ctx context.Context, project string, fn func(*core.Registry) error) error {
	<-s.release
	return errors.New("released")
}

// noRowsEngine writes nothing and succeeds.
type noRowsEngine struct{}

func (noRowsEngine) Materialize(context.Context, materialize.Task, materialize.Progress) (materialize.Stats, error) {
	return materialize.Stats{}, nil
}

// Recording the interval runs without the run's deadline (see
// TestIntervalRecordedWhenDeadlineEndsAfterWrite) but not without any: a
// registry that never answers ends the view with a *RegistryTimeoutError
// that names the timeout and how to raise it, marked unavailable (the
// server's 503), instead of hanging forever.
func TestRecordIntervalTimeout(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	dir := t.TempDir()
	if err := examples.WriteRepo(dir, "demo", now); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs, err := Open(ctx, Options{RepoPath: dir, Now: func() time.Time { return now }, RegistryTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	fs.registry = registry.New(silentStore{Store: fs.registry.Store(), release: release}, fs.cfg.Project, registry.Options{Now: fs.now})

	start := time.Now()
	res, err := fs.MaterializeIncremental(ctx, now, MaterializeOptions{Engine: noRowsEngine{}, Views: []string{"driver_hourly_stats"}})
	took := time.Since(start)
	var te *RegistryTimeoutError
	var down *UnavailableError
	if !errors.As(err, &te) || te.Timeout != 300*time.Millisecond || !errors.As(err, &down) || down.Component != "registry" {
		t.Fatalf("materialize with a silent registry: %v", err)
	}
	for _, want := range []string{`record the materialized interval of feature view "driver_hourly_stats"`, "registry timeout of 300ms", EnvRegistryTimeout + "=2m", "the interval was not recorded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(res) != 1 || res[0].Err == nil {
		t.Errorf("results %+v", res)
	}
	if took > 10*time.Second {
		t.Errorf("took %v with a 300ms registry timeout", took)
	}
}

// FEAST_REGISTRY_TIMEOUT sets the registry timeout; a value that is not a
// duration is refused naming the variable.
func TestRegistryTimeoutFromEnvironment(t *testing.T) {
	t.Setenv(EnvRegistryTimeout, "2m")
	if d, err := registryTimeout(Options{}); err != nil || d != 2*time.Minute {
		t.Fatalf("2m: %v, %v", d, err)
	}
	if d, _ := registryTimeout(Options{RegistryTimeout: time.Second}); d != time.Second {
		t.Fatalf("the option wins over the environment: %v", d)
	}
	t.Setenv(EnvRegistryTimeout, "")
	if d, _ := registryTimeout(Options{}); d != DefaultRegistryTimeout {
		t.Fatalf("default: %v", d)
	}
	t.Setenv(EnvRegistryTimeout, "30")
	if _, err := registryTimeout(Options{}); err == nil || !strings.Contains(err.Error(), EnvRegistryTimeout+`="30" is not a duration`) {
		t.Fatalf("30: %v", err)
	}
}
