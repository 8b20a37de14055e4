// Command feast-beam is the feast command line for materialization on
// Apache Beam: `feast-beam materialize` and `feast-beam materialize-incremental`
// behave like feast's, and run each view as a Beam pipeline when
// feature_store.yaml sets `batch_engine: {type: beam, ...}` (on prism
// in-process, a Flink or Spark job server, or Dataflow). It is a separate
// binary so that the Beam SDK stays out of the default feast binary.
//
// The same binary is the Beam worker: runners start it with --worker, and
// main then hands control to the Beam harness.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func main() {
	if workerMode(os.Args[1:]) {
		// Started by a runner as an SDK harness: Beam's flags, then the
		// harness, which does not return.
		flag.Parse()
		beam.Init()
		os.Exit(0)
	}
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd(os.Stdout, os.Stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// workerMode reports whether the arguments are a Beam worker invocation.
func workerMode(args []string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "worker" || a == "worker=true" {
			return true
		}
	}
	return false
}
