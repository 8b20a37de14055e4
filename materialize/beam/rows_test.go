package beam

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/proto/feast/types"
)

func TestEncodeRowGolden(t *testing.T) {
	ets := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC).UnixNano()
	b, err := encodeRow(nil, ets, noCreated, []*types.Value{
		{Val: &types.Value_Int64Val{Int64Val: 7}},
		nil,
		{},
	})
	if err != nil {
		t.Fatal(err)
	}
	// event ts 1704164645000006000 ns (0x17a668b730014970) with the sign bit flipped | created "none" (all zero after the
	// flip) | len+1=3, int64_val field 4 varint 7 | nil | empty value (len+1=1).
	const want = "97a668b730014970" + "0000000000000000" + "03" + "2007" + "00" + "01"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encodeRow = %s, want %s", got, want)
	}
	gotE, gotC, vals, err := decodeRow(b, 3)
	if err != nil {
		t.Fatal(err)
	}
	if gotE.UnixNano() != ets || !gotC.IsZero() {
		t.Errorf("decoded timestamps %v, %v", gotE, gotC)
	}
	if vals[0].GetInt64Val() != 7 || vals[1] != nil || vals[2] == nil || vals[2].Val != nil {
		t.Errorf("decoded values %v", vals)
	}
	if _, _, _, err := decodeRow(b[:len(b)-3], 3); err == nil {
		t.Error("decoding a truncated row succeeded")
	}
}

// TestLatestOrder is the combine's time semantics: greater event ts wins,
// then greater created ts, a missing created ts losing; negative (pre-1970)
// timestamps order correctly.
func TestLatestOrder(t *testing.T) {
	sec := int64(time.Second)
	row := func(ets, cts int64, v int64) []byte {
		b, err := encodeRow(nil, ets, cts, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: v}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		a, b []byte
		want int64
	}{
		{"later event wins", row(10*sec, 0, 1), row(20*sec, 0, 2), 2},
		{"later event wins over later created", row(20*sec, 1*sec, 1), row(10*sec, 99*sec, 2), 1},
		{"same event, later created wins", row(10*sec, 5*sec, 1), row(10*sec, 6*sec, 2), 2},
		{"same event, created beats none", row(10*sec, noCreated, 1), row(10*sec, -5*sec, 2), 2},
		{"pre-1970 is older", row(-10*sec, 0, 1), row(1, 0, 2), 2},
		{"full tie is order independent", row(10*sec, 5*sec, 1), row(10*sec, 5*sec, 2), 2},
	}
	for _, c := range cases {
		for _, order := range [][2][]byte{{c.a, c.b}, {c.b, c.a}} {
			_, _, vals, err := decodeRow(Latest(order[0], order[1]), 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := vals[0].GetInt64Val(); got != c.want {
				t.Errorf("%s: kept %d, want %d", c.name, got, c.want)
			}
		}
	}
	// Latest must return one of its inputs unchanged.
	a, b := row(1, 1, 1), row(2, 2, 2)
	ac := append([]byte(nil), a...)
	_ = Latest(a, b)
	if string(a) != string(ac) {
		t.Error("Latest modified its input")
	}
}

func TestParseConfig(t *testing.T) {
	good := []struct {
		opts map[string]any
		want BeamConfig
	}{
		{nil, BeamConfig{}},
		{map[string]any{"runner": "universal", "endpoint": "localhost:8099", "environment_type": "DOCKER", "parallelism": 4},
			BeamConfig{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "DOCKER", Parallelism: 4}},
		{map[string]any{"runner": "dataflow", "project": "p", "region": "europe-west1", "temp_location": "gs://b/tmp", "flags": map[string]any{"num_workers": 5}},
			BeamConfig{Runner: "dataflow", Project: "p", Region: "europe-west1", TempLocation: "gs://b/tmp", Flags: map[string]string{"num_workers": "5"}}},
	}
	for _, g := range good {
		got, err := ParseConfig(config.BatchEngineConfig{Type: "beam", Options: g.opts})
		if err != nil {
			t.Errorf("%v: %v", g.opts, err)
			continue
		}
		if got.Runner != g.want.Runner || got.Endpoint != g.want.Endpoint || got.Parallelism != g.want.Parallelism ||
			got.Project != g.want.Project || got.TempLocation != g.want.TempLocation || len(got.Flags) != len(g.want.Flags) {
			t.Errorf("%v: got %+v, want %+v", g.opts, got, g.want)
		}
	}
	bad := []struct {
		opts map[string]any
		err  string
	}{
		{map[string]any{"runner": "universal"}, "needs endpoint"},
		{map[string]any{"runner": "dataflow", "project": "p"}, "needs region, temp_location"},
		{map[string]any{"runner": "spork"}, `unknown runner "spork"`},
		{map[string]any{"runnr": "prism"}, `unknown key "runnr"`},
		{map[string]any{"split_rows": "many"}, "split_rows: want a non-negative integer"},
	}
	for _, b := range bad {
		_, err := ParseConfig(config.BatchEngineConfig{Type: "beam", Options: b.opts})
		if err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("%v: got %v, want an error containing %q", b.opts, err, b.err)
		}
	}
}
