// Command train_serve is the Go counterpart of the production guide's
// training and serving flow: a model is trained on point-in-time correct
// training data and the feature references it was trained on are saved
// next to it; the serving side loads both and asks the online store for
// exactly those features, so model and features ship together.
//
// From a clone of the repository:
//
//	feast init /tmp/demo && feast -c /tmp/demo apply && feast -c /tmp/demo materialize-incremental now
//	go run -tags duckdb_arrow ./examples/train_serve -repo /tmp/demo -model /tmp/demo/model train
//	go run -tags duckdb_arrow ./examples/train_serve -repo /tmp/demo -model /tmp/demo/model serve 1001 1002 1003
//
// The "model" is deliberately small: it learns each feature's mean and
// standard deviation and scores a driver by the sum of its z-scores. What
// matters here is the plumbing: features.json travels with model.json.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/offline"
)

// DefaultFeatures are the feature references the example trains on.
var DefaultFeatures = []string{
	"driver_hourly_stats:conv_rate",
	"driver_hourly_stats:acc_rate",
	"driver_hourly_stats:avg_daily_trips",
}

// Model scores a feature vector: the sum over features of
// (value - Mean) / Std. Mean and Std are keyed by output column name.
type Model struct {
	Mean map[string]float64 `json:"mean"`
	Std  map[string]float64 `json:"std"`
}

// Score scores one row of feature values (nil for missing: it counts as
// the mean).
func (m *Model) Score(row map[string]any) float64 {
	s := 0.0
	// A fixed order: the same row always gets the same score.
	for _, name := range slices.Sorted(maps.Keys(m.Mean)) {
		v, ok := toFloat(row[name])
		if !ok || m.Std[name] == 0 {
			continue
		}
		s += (v - m.Mean[name]) / m.Std[name]
	}
	return s
}

// featureFile is what is saved next to the model.
type featureFile struct {
	Features []string `json:"features"`
}

// SaveModel writes model.json and features.json (the feature references
// the model was trained on) into dir.
func SaveModel(dir string, m *Model, refs []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "model.json"), m); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "features.json"), featureFile{Features: refs})
}

// LoadModel reads what SaveModel wrote.
func LoadModel(dir string) (*Model, []string, error) {
	var m Model
	if err := readJSON(filepath.Join(dir, "model.json"), &m); err != nil {
		return nil, nil, err
	}
	var f featureFile
	if err := readJSON(filepath.Join(dir, "features.json"), &f); err != nil {
		return nil, nil, err
	}
	if len(f.Features) == 0 {
		return nil, nil, fmt.Errorf("%s lists no features", filepath.Join(dir, "features.json"))
	}
	return &m, f.Features, nil
}

// Train retrieves training data for the entity rows in entities (a
// Parquet or CSV file with driver_id and event_timestamp), streams it as
// Arrow batches to fit the model, and saves model and feature references
// into modelDir.
func Train(ctx context.Context, store *feast.FeatureStore, entities string, refs []string, modelDir string) (*Model, error) {
	job, err := store.GetHistoricalFeatures(ctx, offline.EntitySource{Path: entities}, feast.Features{Refs: refs}, feast.HistoricalOptions{})
	if err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	defer job.Close()
	rr, err := job.Reader(ctx)
	if err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	defer rr.Release()
	type acc struct{ n, sum, sq float64 }
	accs := map[string]*acc{}
	for _, ref := range refs {
		_, name, _ := strings.Cut(ref, ":")
		accs[name] = &acc{}
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		for i, f := range rec.Schema().Fields() {
			a, ok := accs[f.Name]
			if !ok {
				continue
			}
			col := rec.Column(i)
			for r := 0; r < col.Len(); r++ {
				if col.IsNull(r) {
					continue
				}
				v, ok := toFloat(col.GetOneForMarshal(r))
				if !ok {
					return nil, fmt.Errorf("training data: column %s is not numeric", f.Name)
				}
				a.n++
				a.sum += v
				a.sq += v * v
			}
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	m := &Model{Mean: map[string]float64{}, Std: map[string]float64{}}
	for name, a := range accs {
		if a.n == 0 {
			return nil, fmt.Errorf("training data: no values of %s; materialize or check the entity times", name)
		}
		mean := a.sum / a.n
		m.Mean[name], m.Std[name] = mean, math.Sqrt(math.Max(a.sq/a.n-mean*mean, 0))
	}
	return m, SaveModel(modelDir, m, refs)
}

// Prediction is the score of one driver.
type Prediction struct {
	DriverID int64
	Score    float64
}

// Serve loads the model and its feature references from modelDir, reads
// those features online for the drivers and returns them ranked by score.
func Serve(ctx context.Context, store *feast.FeatureStore, modelDir string, drivers []int64) ([]Prediction, error) {
	m, refs, err := LoadModel(modelDir)
	if err != nil {
		return nil, err
	}
	rows := make([]map[string]any, len(drivers))
	for i, d := range drivers {
		rows[i] = map[string]any{"driver_id": d}
	}
	resp, err := store.GetOnlineFeatures(ctx, feast.OnlineRequest{Features: refs, EntityRows: rows})
	if err != nil {
		return nil, fmt.Errorf("online features: %w", err)
	}
	cols := resp.ToMap() // column name -> one value per entity row, as Feast's to_dict()
	out := make([]Prediction, len(drivers))
	for i, d := range drivers {
		row := map[string]any{}
		for name, vals := range cols {
			row[name] = vals[i]
		}
		out[i] = Prediction{DriverID: d, Score: m.Score(row)}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out, nil
}

func main() {
	repo := flag.String("repo", ".", "feature repository")
	modelDir := flag.String("model", "model", "directory of model.json and features.json")
	entities := flag.String("entities", "data/driver_entities.csv", "training entity rows (train)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: train_serve [-repo DIR] [-model DIR] train | serve DRIVER_ID...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*repo, *modelDir, *entities, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(repo, modelDir, entities string, args []string) error {
	if len(args) == 0 {
		flag.Usage()
		return errors.New("name a step: train or serve")
	}
	ctx := context.Background()
	store, err := feast.Open(ctx, feast.Options{RepoPath: repo})
	if err != nil {
		return err
	}
	defer store.Close()
	switch args[0] {
	case "train":
		if !filepath.IsAbs(entities) {
			entities = filepath.Join(repo, entities)
		}
		m, err := Train(ctx, store, entities, DefaultFeatures, modelDir)
		if err != nil {
			return err
		}
		fmt.Printf("trained on %d features; saved %s and %s\n", len(m.Mean), filepath.Join(modelDir, "model.json"), filepath.Join(modelDir, "features.json"))
	case "serve":
		var drivers []int64
		for _, a := range args[1:] {
			d, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return fmt.Errorf("driver id %q: %w", a, err)
			}
			drivers = append(drivers, d)
		}
		if len(drivers) == 0 {
			return errors.New("serve needs driver ids")
		}
		preds, err := Serve(ctx, store, modelDir, drivers)
		if err != nil {
			return err
		}
		for _, p := range preds {
			fmt.Printf("driver %d: %.3f\n", p.DriverID, p.Score)
		}
	default:
		return fmt.Errorf("unknown step %q: train or serve", args[0])
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
