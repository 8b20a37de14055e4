package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// equalSink keeps compareBytes's comparison from being dead code.
var equalSink bool

// compareBytes panics as the plan of a PostgreSQL source once did.
func compareBytes() {
	var a, b any = []byte("{}"), []byte("{}")
	equalSink = a == b
}

func TestPanicEndsAsAnErrorNamingTheCommand(t *testing.T) {
	const want = "Error: feast %s: internal error: runtime error: comparing uncomparable type []uint8 (please report this)\n"
	for _, tc := range []struct {
		name, path string
		cmd        *cobra.Command
	}{
		{"RunE", "boom", &cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error { compareBytes(); return nil }}},
		{"Run", "boom", &cobra.Command{Use: "boom", Run: func(*cobra.Command, []string) { compareBytes() }}},
		{"PreRun", "boom", &cobra.Command{Use: "boom", PreRun: func(*cobra.Command, []string) { compareBytes() }, RunE: func(*cobra.Command, []string) error { return nil }}},
		{"Args", "boom", &cobra.Command{Use: "boom", Args: func(*cobra.Command, []string) error { compareBytes(); return nil }, RunE: func(*cobra.Command, []string) error { return nil }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, logs, stderr bytes.Buffer
			root := newRootCmd(&out, &logs)
			root.AddCommand(tc.cmd)
			code := execute(context.Background(), root, []string{tc.path}, &stderr)
			if code == 0 {
				t.Fatal("a panicking command exited 0")
			}
			name := tc.path
			if tc.name == "Args" {
				name = "" // outside the command's hooks: the root is named
			}
			w := strings.Replace(want, "feast %s:", strings.TrimSpace("feast "+name)+":", 1)
			if stderr.String() != w {
				t.Errorf("stderr:\n%q\nwant:\n%q", stderr.String(), w)
			}
			if strings.Contains(logs.String(), "goroutine") {
				t.Errorf("stack trace printed at the default log level:\n%s", logs.String())
			}
		})
	}
}

func TestPanicStackAtDebugLevel(t *testing.T) {
	var out, logs, stderr bytes.Buffer
	root := newRootCmd(&out, &logs)
	root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error { compareBytes(); return nil }})
	if code := execute(context.Background(), root, []string{"--log-level", "debug", "boom"}, &stderr); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "command=\"feast boom\"") || !strings.Contains(logs.String(), "compareBytes") {
		t.Errorf("debug log lacks the command and stack:\n%s", logs.String())
	}
}

func TestExecuteExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	root := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	root.AddCommand(&cobra.Command{Use: "two", RunE: func(*cobra.Command, []string) error { return &exitCodeError{code: 2} }})
	if code := execute(context.Background(), root, []string{"two"}, &stderr); code != 2 || stderr.Len() != 0 {
		t.Errorf("exit code %d, stderr %q; want 2 and nothing", code, stderr.String())
	}
	if code := execute(context.Background(), newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}), []string{"no-such-command"}, &stderr); code != 1 || !strings.HasPrefix(stderr.String(), "Error: unknown command") {
		t.Errorf("exit code %d, stderr %q", code, stderr.String())
	}
}

// TestReplanWithPostgresSource is CI's "plan on every pull request" after
// the first apply: with a PostgreSQL source (whose registry options are
// bytes) the second plan once panicked.
func TestReplanWithPostgresSource(t *testing.T) {
	dir := t.TempDir()
	defs, err := os.ReadFile(filepath.Join("..", "..", "definitions", "testdata", "good", "features.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := "project: pg\nregistry: data/registry.db\nprovider: local\nonline_store:\n  type: sqlite\n  path: data/online.db\noffline_store:\n  type: duckdb\n"
	for name, data := range map[string][]byte{"feature_store.yaml": []byte(cfg), "features.yaml": defs} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// plan and apply check that the source's file exists.
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "driver_stats.parquet"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "-c", dir, "apply")
	if got := mustRun(t, "-c", dir, "plan", "--exit-code"); got != "No changes to registry\nNo changes to infrastructure\n" {
		t.Errorf("plan after apply:\n%s", got)
	}
}
