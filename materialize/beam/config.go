package beam

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/feastgo/feast/config"
)

// Runner names accepted in batch_engine.runner.
const (
	// RunnerPrism runs the pipeline on Beam's prism runner inside this
	// process: a job server on a loopback port and the workers in loopback mode.
	RunnerPrism = "prism"
	// RunnerDirect is accepted as an alias of prism (Beam's Go direct runner
	// is deprecated and does not run combiners across bundles).
	RunnerDirect = "direct"
	// RunnerUniversal submits to a Beam job service (Flink's or Spark's job
	// server, or a standalone prism) at Endpoint.
	RunnerUniversal = "universal"
	// RunnerDataflow submits to Google Cloud Dataflow.
	RunnerDataflow = "dataflow"
)

// BeamConfig is the batch_engine section for type: beam. Zero values pick
// the documented defaults.
type BeamConfig struct {
	// Runner is prism (default), direct (alias of prism), universal or dataflow.
	Runner string
	// Endpoint is the job service address (host:port) for the universal
	// runner, for example a Flink job server on localhost:8099. Required for
	// universal; ignored otherwise.
	Endpoint string
	// EnvironmentType is how the runner starts the Go SDK workers:
	// LOOPBACK (workers inside the submitting process; default for prism),
	// DOCKER (Beam's default for universal and dataflow), PROCESS or EXTERNAL.
	EnvironmentType string
	// EnvironmentConfig is the container image for DOCKER, the boot command
	// for PROCESS or the worker pool address for EXTERNAL.
	EnvironmentConfig string
	// WorkerBinary is the linux/amd64 feast-beam binary the runner ships to
	// its workers. Empty means this executable when it is linux/amd64.
	WorkerBinary string
	// JobName names the job on the runner; default feast-materialize-<view>.
	JobName string
	// Parallelism hints the runner's parallelism (Flink); 0 = runner default.
	Parallelism int
	// Project, Region, TempLocation and StagingLocation configure Dataflow.
	// TempLocation is required for dataflow (gs://bucket/tmp); StagingLocation
	// defaults to TempLocation.
	Project         string
	Region          string
	TempLocation    string
	StagingLocation string
	// WriteBatchSize is the number of rows per online write on a worker;
	// default 5,000 (materialization.online_write_batch_size overrides it).
	WriteBatchSize int
	// ReadBatchRows is the number of Parquet rows decoded at a time in a
	// worker; default 16,384. A worker holds about one such batch per split.
	ReadBatchRows int
	// SplitRows is the target number of rows per Parquet split: consecutive
	// row groups of one file are grouped up to this size, and a row group
	// is never divided. Default 1,000,000.
	SplitRows int64
	// PostgresSplits is the number of key-hash splits of a PostgreSQL source;
	// default 16.
	PostgresSplits int
	// Flags sets any other Beam pipeline flag by name (for example
	// num_workers, worker_machine_type, experiments).
	Flags map[string]string
}

// knownKeys are the batch_engine keys ParseConfig reads.
var knownKeys = []string{"runner", "endpoint", "job_endpoint", "environment_type", "environment_config", "worker_binary",
	"job_name", "parallelism", "project", "region", "temp_location", "staging_location", "write_batch_size",
	"read_batch_rows", "split_rows", "postgres_splits", "flags"}

// ParseConfig reads a BeamConfig from the batch_engine section. Unknown keys
// are an error, so a misspelt option does not silently fall back to a default.
func ParseConfig(c config.BatchEngineConfig) (BeamConfig, error) {
	var cfg BeamConfig
	if c.Type != "" && c.Type != "beam" {
		return cfg, fmt.Errorf("batch_engine: type %q is not beam", c.Type)
	}
	var errs []string
	str := func(k string) string {
		v, ok := c.Options[k]
		if !ok || v == nil {
			return ""
		}
		switch v := v.(type) {
		case string:
			return v
		case int, int64, float64, bool:
			return fmt.Sprint(v)
		}
		errs = append(errs, fmt.Sprintf("%s: want a string, got %T", k, v))
		return ""
	}
	num := func(k string) int64 {
		s := str(k)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s: want a non-negative integer, got %q", k, s))
		}
		return n
	}
	for k := range c.Options {
		if !slices.Contains(knownKeys, k) && k != "type" {
			errs = append(errs, fmt.Sprintf("unknown key %q (known: %s)", k, strings.Join(knownKeys, ", ")))
		}
	}
	cfg.Runner = strings.ToLower(str("runner"))
	cfg.Endpoint = str("endpoint")
	if cfg.Endpoint == "" {
		cfg.Endpoint = str("job_endpoint")
	}
	cfg.EnvironmentType = str("environment_type")
	cfg.EnvironmentConfig = str("environment_config")
	cfg.WorkerBinary = str("worker_binary")
	cfg.JobName = str("job_name")
	cfg.Parallelism = int(num("parallelism"))
	cfg.Project = str("project")
	cfg.Region = str("region")
	cfg.TempLocation = str("temp_location")
	cfg.StagingLocation = str("staging_location")
	cfg.WriteBatchSize = int(num("write_batch_size"))
	cfg.ReadBatchRows = int(num("read_batch_rows"))
	cfg.SplitRows = num("split_rows")
	cfg.PostgresSplits = int(num("postgres_splits"))
	if f, ok := c.Options["flags"]; ok && f != nil {
		m, ok := f.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("flags: want a mapping, got %T", f))
		}
		cfg.Flags = map[string]string{}
		for k, v := range m {
			cfg.Flags[k] = fmt.Sprint(v)
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return cfg, fmt.Errorf("batch_engine (beam): %s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

// Validate checks the runner-specific required fields.
func (c BeamConfig) Validate() error {
	switch c.Runner {
	case "", RunnerPrism, RunnerDirect:
	case RunnerUniversal, "portable", "flink", "spark":
		if c.Endpoint == "" {
			return fmt.Errorf("runner %s needs endpoint (the job server's host:port, for example localhost:8099)", c.Runner)
		}
	case RunnerDataflow:
		var missing []string
		if c.Project == "" {
			missing = append(missing, "project")
		}
		if c.Region == "" {
			missing = append(missing, "region")
		}
		if c.TempLocation == "" {
			missing = append(missing, "temp_location")
		}
		if len(missing) > 0 {
			return fmt.Errorf("runner dataflow needs %s", strings.Join(missing, ", "))
		}
	default:
		return fmt.Errorf("unknown runner %q (supported: prism, direct, universal, dataflow)", c.Runner)
	}
	return nil
}

// withDefaults fills the zero values.
func (c BeamConfig) withDefaults() BeamConfig {
	switch c.Runner {
	case "", RunnerDirect:
		c.Runner = RunnerPrism
	case "portable", "flink", "spark":
		c.Runner = RunnerUniversal
	}
	if c.WriteBatchSize <= 0 {
		c.WriteBatchSize = 5000
	}
	if c.ReadBatchRows <= 0 {
		c.ReadBatchRows = 16384
	}
	if c.SplitRows <= 0 {
		c.SplitRows = 1_000_000
	}
	if c.PostgresSplits <= 0 {
		c.PostgresSplits = 16
	}
	if c.StagingLocation == "" {
		c.StagingLocation = c.TempLocation
	}
	return c
}
