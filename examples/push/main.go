// Command push is the Go counterpart of the production guide's Spark
// foreachBatch pattern: a stream consumer loop that pushes each micro-batch
// to the feature store with store.Push.
//
//	store = FeatureStore(...)
//	def feast_writer(spark_df):
//	    store.push("driver_stats_push_source", spark_df.to_pandas())
//	streamingDF.writeStream.foreachBatch(feast_writer).start()
//
// Here the stream is simulated: every -interval a micro-batch of random
// driver statistics is generated. In a real pipeline, Next would read from
// Kafka, Kinesis or Pub/Sub and commit its position after Push returned.
//
// From a clone of the repository:
//
//	feast init /tmp/demo && feast -c /tmp/demo apply
//	go run -tags duckdb_arrow ./examples/push -repo /tmp/demo -batches 10
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	feast "github.com/feastgo/feast"
)

// MicroBatches yields the micro-batches of a stream. Next returns io.EOF
// when the stream ends.
type MicroBatches interface {
	Next(ctx context.Context) (feast.Records, error)
}

// Pusher is what the loop needs from the feature store.
type Pusher interface {
	Push(ctx context.Context, source string, records feast.Records, mode feast.PushMode) (feast.PushResult, error)
}

// Run pushes every micro-batch of src to the push source until the stream
// ends or ctx is done, and returns the number of rows pushed. A rejected
// batch (*feast.InvalidPushError) is logged and skipped, as a stream job
// would route it to a dead-letter sink; any other error stops the loop so
// the caller can retry from the last committed position.
func Run(ctx context.Context, store Pusher, src MicroBatches, source string, mode feast.PushMode, logf func(string, ...any)) (int, error) {
	rows := 0
	for {
		if err := ctx.Err(); err != nil {
			return rows, nil
		}
		batch, err := src.Next(ctx)
		if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("read micro-batch: %w", err)
		}
		res, err := store.Push(ctx, source, batch, mode)
		var invalid *feast.InvalidPushError
		switch {
		case errors.As(err, &invalid):
			logf("skipping rejected micro-batch: %v", err)
			continue
		case err != nil:
			return rows, err
		}
		rows += res.Rows
		logf("pushed %d rows to %s (%s)", res.Rows, source, mode)
	}
}

// simulated generates micro-batches of driver statistics.
type simulated struct {
	drivers  []int64
	interval time.Duration
	left     int
	now      func() time.Time
}

func (s *simulated) Next(ctx context.Context) (feast.Records, error) {
	if s.left == 0 {
		return feast.Records{}, io.EOF
	}
	s.left--
	if s.interval > 0 {
		select {
		case <-ctx.Done():
			return feast.Records{}, ctx.Err()
		case <-time.After(s.interval):
		}
	}
	cols := map[string][]any{}
	now := s.now().UTC()
	for _, id := range s.drivers {
		cols["driver_id"] = append(cols["driver_id"], id)
		cols["event_timestamp"] = append(cols["event_timestamp"], now)
		cols["created"] = append(cols["created"], now)
		cols["conv_rate"] = append(cols["conv_rate"], rand.Float64())
		cols["acc_rate"] = append(cols["acc_rate"], rand.Float64())
		cols["avg_daily_trips"] = append(cols["avg_daily_trips"], rand.Int64N(1000))
	}
	return feast.Records{Columns: cols}, nil
}

func main() {
	repo := flag.String("repo", ".", "feature repository")
	source := flag.String("source", "driver_stats_push_source", "push source")
	to := flag.String("to", "online", "online, offline or online_and_offline")
	batches := flag.Int("batches", 5, "micro-batches to push (-1 = until interrupted)")
	interval := flag.Duration("interval", time.Second, "time between micro-batches")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	mode, err := feast.ParsePushMode(*to)
	if err != nil {
		log.Fatal(err)
	}
	store, err := feast.Open(ctx, feast.Options{RepoPath: *repo})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	src := &simulated{drivers: []int64{1001, 1002, 1003, 1004, 1005}, interval: *interval, left: *batches, now: time.Now}
	n, err := Run(ctx, store, src, *source, mode, log.Printf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pushed %d rows\n", n)
}
