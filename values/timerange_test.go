package values

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

func TestDecodeTimeColumn(t *testing.T) {
	got, err := DecodeTimeColumn([]byte(` [ "2024-05-01T10:00:00.5Z", 1714557600, 1714557600.25, null, "0001-01-01T00:00:00Z", 253402300799 ] `))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{
		time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC),
		time.Unix(1714557600, 0).UTC(),
		time.Unix(1714557600, 25e7).UTC(),
		{},
		MinTime,
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d times", len(got))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("index %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// TestTimeRange covers the values that used to be stored as year 58897
// or wrap around int64: each is rejected, located, with a unit hint when
// one fits.
func TestTimeRange(t *testing.T) {
	for _, c := range []struct{ in, want, hint string }{
		{`[1, 1714557600123]`, "timestamp 1714557600123 (epoch seconds) is outside 0001-01-01..9999-12-31", "epoch milliseconds?"},
		{`[1714557600123456]`, "1714557600123456 (epoch seconds)", "epoch microseconds?"},
		{`[1714557600123456789]`, "1714557600123456789", "epoch nanoseconds?"},
		{`[1e19]`, "1e+19 (epoch seconds) is outside", ""},
		{`[9223372036854775807]`, "9223372036854775807 (epoch seconds) is outside", ""},
		{`[-9223372036854775808]`, "is outside", ""},
		{`[1e400]`, "+Inf (epoch seconds) is outside", ""},
		{`[-62135596801]`, "-62135596801 (epoch seconds) is outside", ""},
		{`[253402300800]`, "253402300800 (epoch seconds) is outside", "epoch milliseconds?"},
	} {
		_, err := DecodeTimeColumn([]byte(c.in))
		var ie *IndexError
		if !errors.Is(err, ErrTimeRange) || !errors.As(err, &ie) {
			t.Errorf("%s: got %v, want a located range error", c.in, err)
			continue
		}
		if strings.HasPrefix(c.in, "[1,") && ie.Index != 1 {
			t.Errorf("%s: index %d, want 1", c.in, ie.Index)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.hint) {
			t.Errorf("%s: %q lacks %q / %q", c.in, err, c.want, c.hint)
		}
		if c.hint == "" && strings.Contains(err.Error(), "epoch m") {
			t.Errorf("%s: unexpected hint in %q", c.in, err)
		}
	}
	if err := CheckTime(time.Date(58897, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrTimeRange) || !strings.Contains(err.Error(), "epoch milliseconds?") {
		t.Errorf("year 58897: %v", err)
	}
	if err := CheckTime(MaxTime); err != nil {
		t.Errorf("MaxTime: %v", err)
	}
	if err := CheckTime(MinTime.Add(-time.Nanosecond)); err == nil {
		t.Error("before MinTime accepted")
	}
	if _, err := DecodeTimeColumn([]byte(`["2024-05-01", true]`)); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "index 1") {
		t.Errorf("bool timestamp: %v", err)
	}
}

func TestObjectMembers(t *testing.T) {
	ms, err := ObjectMembers([]byte(` {"a": [1, 2], "b\u0022": {"x": [3]}, "a": []} `))
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{{"a", []byte(`[1, 2]`)}, {`b"`, []byte(`{"x": [3]}`)}, {"a", []byte(`[]`)}}
	if len(ms) != len(want) {
		t.Fatalf("got %d members", len(ms))
	}
	for i := range want {
		if ms[i].Key != want[i].Key || string(ms[i].Value) != string(want[i].Value) {
			t.Errorf("member %d: %q %s", i, ms[i].Key, ms[i].Value)
		}
	}
	for _, bad := range []string{`null`, `[]`, `{"a" 1}`, `{"a":1,}`, `{"a":1} x`, `{1:2}`, `{"a":[1,}`} {
		if _, err := ObjectMembers([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if ms, err := ObjectMembers([]byte(`{}`)); err != nil || len(ms) != 0 {
		t.Errorf("{}: %v %v", ms, err)
	}
}

// TestNonFiniteRoundTrip: NaN and the infinities render as the strings
// the decoders accept, so they survive push, store and read.
func TestNonFiniteRoundTrip(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, c := range []struct {
			vt model.ValueType
			v  *types.Value
		}{
			{model.Double, &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}}},
			{model.Float, &types.Value{Val: &types.Value_FloatVal{FloatVal: float32(f)}}},
			{model.DoubleList, &types.Value{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{f, 1}}}}},
		} {
			out := AppendJSON(nil, c.v)
			back, err := FromJSON(out, c.vt)
			if err != nil {
				t.Fatalf("%v %s: %s does not decode: %v", f, c.vt, out, err)
			}
			if again := AppendJSON(nil, back); string(again) != string(out) {
				t.Errorf("%v %s: %s reads back as %s", f, c.vt, out, again)
			}
		}
	}
}
