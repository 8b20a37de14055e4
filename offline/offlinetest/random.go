package offlinetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/feastgo/feast/model"
)

var base = time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }

// RandomCase makes a small random case from a seed: two views (one keyed by
// an integer, one by a string and an integer) over few keys and
// hour-aligned timestamps, so that exact-T, exact-T-minus-ttl and
// created-timestamp ties are frequent. Rows never tie on both timestamps
// within a key, so the expected result is always defined. In about one case
// in five the first view has no entities (Feast's entity-less view).
func RandomCase(seed uint64) *Case {
	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(n int) int { return r.IntN(n) }
	chance := func(p float64) bool { return r.Float64() < p }
	tsType := func() string {
		if chance(0.5) {
			return "timestamp"
		}
		return "timestamptz"
	}
	featTime := func() time.Time {
		t := base.Add(hours(pick(7)))
		if chance(0.15) {
			t = t.Add(30 * time.Minute)
		}
		return t
	}
	created := func(ts time.Time) any {
		switch {
		case chance(0.15):
			return nil
		case chance(0.15):
			return ts.Add(2 * time.Hour) // created after many entity times
		}
		return ts.Add(time.Duration(pick(4)) * time.Minute)
	}
	c := &Case{Name: fmt.Sprintf("random_%d", seed), Pos: fmt.Sprintf("seed %d:0", seed)}
	// Drawn from a second stream so that the other draws stay as they were.
	keyless := rand.New(rand.NewPCG(seed, 11)).Float64() < 0.2

	// View 1: driver_id -> conv (float64), trips (int64, maybe mapped).
	s1 := SourceDef{Name: "s1", Timestamp: "event_timestamp"}
	tripsCol := "trips"
	if chance(0.5) {
		tripsCol = "trips_src"
		s1.FieldMapping = map[string]string{"trips_src": "trips"}
	}
	s1.Table.Cols = []Col{{"driver_id", "int64"}, {"event_timestamp", tsType()}, {"conv", "float64"}, {tripsCol, "int64"}}
	if chance(0.7) {
		s1.Created = "created"
		s1.Table.Cols = append(s1.Table.Cols, Col{"created", "timestamptz"})
	}
	seen := map[string]bool{}
	for i, n := 0, pick(26); i < n; i++ {
		key := int64(1 + pick(4))
		ts := featTime()
		row := []any{key, ts, float64(pick(40)) / 4, int64(pick(100))}
		if chance(0.1) {
			row[2] = nil
		}
		if chance(0.03) {
			row[0] = nil
		}
		id := fmt.Sprint(row[0], ts)
		if keyless { // one series: rows must not tie across keys either
			id = fmt.Sprint(ts)
		}
		if s1.Created != "" {
			cr := created(ts)
			row = append(row, cr)
			id += fmt.Sprint(cr)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		s1.Table.Rows = append(s1.Table.Rows, row)
	}

	// View 2: (customer_id, driver_id) -> score (float32).
	s2 := SourceDef{Name: "s2", Timestamp: "ts", Created: "created_at"}
	s2.Table.Cols = []Col{{"customer_id", "string"}, {"driver_id", "int64"}, {"ts", tsType()}, {"created_at", "timestamptz"}, {"score", "float32"}}
	customers := []string{"a", "b", "c"}
	for i, n := 0, pick(26); i < n; i++ {
		ts := featTime()
		row := []any{customers[pick(3)], int64(1 + pick(3)), ts, created(ts), float64(pick(20)) / 4}
		id := fmt.Sprint(row[0], row[1], ts, row[3])
		if seen[id] {
			continue
		}
		seen[id] = true
		s2.Table.Rows = append(s2.Table.Rows, row)
	}
	c.Sources = []SourceDef{s1, s2}
	v1Keys := []model.Field{{Name: "driver_id", Type: model.Int64}}
	if keyless {
		v1Keys = nil
	}
	ttls1 := []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour}
	ttls2 := []time.Duration{0, time.Hour, 90 * time.Minute, 2 * time.Hour}
	c.Views = []ViewDef{
		{Name: "v1", Source: "s1", TTL: ttls1[pick(4)], Keys: v1Keys,
			Features: []model.Field{{Name: "conv", Type: model.Double}, {Name: "trips", Type: model.Int64}}},
		{Name: "v2", Source: "s2", TTL: ttls2[pick(4)], Keys: []model.Field{{Name: "customer_id", Type: model.String}, {Name: "driver_id", Type: model.Int64}},
			Features: []model.Field{{Name: "score", Type: model.Float}}},
	}

	// Request.
	useDrv := chance(0.3)
	switch pick(3) {
	case 0:
		c.Fetch = []FetchDef{{View: "v1"}}
	case 1:
		c.Fetch = []FetchDef{{View: "v2"}}
	default:
		c.Fetch = []FetchDef{{View: "v1"}, {View: "v2"}}
	}
	for i := range c.Fetch {
		if c.Fetch[i].View == "v1" && chance(0.3) {
			c.Fetch[i].Features = []string{[]string{"conv", "trips"}[pick(2)]}
		}
		if c.Fetch[i].View == "v2" && useDrv {
			c.Fetch[i].JoinKeyMap = map[string]string{"driver_id": "drv"}
		}
		if chance(0.2) {
			c.Fetch[i].Alias = c.Fetch[i].View + "_alias"
		}
	}
	c.FullNames = chance(0.5)
	c.FilterCreate = chance(0.3)

	if chance(0.1) {
		c.End = base.Add(hours(5))
		if chance(0.5) {
			c.Start = base.Add(hours(1))
		}
		return c
	}
	ent := &Table{Cols: []Col{{"driver_id", "int64"}, {"customer_id", "string"}}}
	if useDrv {
		ent.Cols = append(ent.Cols, Col{"drv", "int64"})
	}
	tsName := "event_timestamp"
	if chance(0.2) {
		tsName = "ts_at" // the single timestamp column is inferred
	}
	ent.Cols = append(ent.Cols, Col{tsName, tsType()}, Col{"label", "int64"})
	offsets := []time.Duration{0, 0, 30 * time.Minute, time.Second, -time.Second}
	for i, n := 0, 1+pick(15); i < n; i++ {
		row := []any{int64(pick(5)), []string{"a", "b", "c", "d"}[pick(4)]}
		if chance(0.05) {
			row[0] = nil
		}
		if chance(0.05) {
			row[1] = nil
		}
		if useDrv {
			row = append(row, int64(1+pick(3)))
		}
		var T any = base.Add(hours(pick(8))).Add(offsets[pick(len(offsets))])
		if chance(0.03) {
			T = nil
		}
		row = append(row, T, int64(i))
		ent.Rows = append(ent.Rows, row)
		if chance(0.1) { // an exact duplicate entity row
			dup := append([]any{}, row...)
			ent.Rows = append(ent.Rows, dup)
		}
	}
	c.Entities = ent
	return c
}
