package stream

import (
	"context"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// FuzzStreamMessage feeds arbitrary bytes as a Kafka message to the JSON
// and the Avro consumer of a repository: each message decodes to exactly
// one row or is classified as poison (decode or invalid) with an error,
// never a panic.
func FuzzStreamMessage(f *testing.F) {
	fs := streamRepo(f, sqliteOnline)
	r, err := New(context.Background(), fs, Options{})
	if err != nil {
		f.Fatal(err)
	}
	if len(r.consumers) != 2 {
		f.Fatalf("%d consumers, want the JSON and the Avro one", len(r.consumers))
	}
	type avroRow struct {
		DriverID int64     `avro:"driver_id"`
		TS       time.Time `avro:"event_timestamp"`
		ConvRate *float32  `avro:"conv_rate"`
		Trips    int64     `avro:"trips"`
		Note     string    `avro:"note"`
	}
	as := avro.MustParse(avroSchema)
	rate := float32(0.5)
	for _, row := range []avroRow{
		{DriverID: 1, TS: time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC), ConvRate: &rate, Trips: 3, Note: "x"},
		{DriverID: -1, TS: time.Unix(0, 0).UTC()},
		{DriverID: 2, TS: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Trips: 1 << 62},
	} {
		b, err := avro.Marshal(as, row)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, seed := range []string{
		`{"driver_id":1,"event_timestamp":"2024-05-01T11:00:00Z","conv_rate":0.5,"avg_daily_trips":3}`,
		`{"driver_id":"1","event_timestamp":1714561200123,"conv_rate":"NaN","avg_daily_trips":null,"extra":[1,2]}`,
		`{"driver_id":[1,2],"event_timestamp":["2024-05-01T11:00:00Z"]}`,
		`{}`, `null`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, c := range r.consumers {
			b, reason, err := c.decodeRecord(msg)
			switch {
			case err == nil && b.Len() != 1:
				t.Fatalf("%s: decoded %d rows from one message", c.source.Name, b.Len())
			case err != nil && reason != "decode" && reason != "invalid":
				t.Fatalf("%s: error %v with poison reason %q", c.source.Name, err, reason)
			}
		}
	})
}
