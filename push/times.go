package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// seconds) column. Times outside the protobuf Timestamp range are a
// *values.TimeRangeError located by a *values.IndexError.
func arrowTimes(col arrow.Array) ([]time.Time, error) {
	out := make([]time.Time, col.Len())
	var at func(i int) (time.Time, error)
	switch a := col.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		at = func(i int) (time.Time, error) { return arrowTime(int64(a.Value(i)), unit) }
	case *array.Date32:
		at = func(i int) (time.Time, error) {
			return a.Value(i).ToTime().UTC(), values.CheckTime(a.Value(i).ToTime())
		}
	case *array.Date64:
		at = func(i int) (time.Time, error) {
			return a.Value(i).ToTime().UTC(), values.CheckTime(a.Value(i).ToTime())
		}
	case *array.String:
		at = func(i int) (time.Time, error) { return goTime(a.Value(i)) }
	case *array.Int64:
		at = func(i int) (time.Time, error) { return values.EpochSeconds(a.Value(i)) }
	default:
		return nil, fmt.Errorf("expected a timestamp column, got %s", col.DataType())
	}
	for i := range out {
		if !col.IsValid(i) {
			continue
		}
		t, err := at(i)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		out[i] = t
	}
	return out, nil
}

// arrowTime converts an Arrow timestamp of the given unit. Seconds are
// checked before converting, since time.Unix wraps for values past about
// year 292 billion; milli-, micro- and nanoseconds cannot wrap.
func arrowTime(v int64, unit arrow.TimeUnit) (time.Time, error) {
	if unit == arrow.Second {
		return values.EpochSeconds(v)
	}
	t := arrow.Timestamp(v).ToTime(unit)
	return t, values.CheckTime(t)
}

// goTime converts one Go timestamp value; nil gives the zero time. Times
// outside the protobuf Timestamp range are a *values.TimeRangeError.
func goTime(x any) (time.Time, error) {
	switch v := x.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v.UTC(), values.CheckTime(v)
	case *time.Time:
		if v == nil {
			return time.Time{}, nil
		}
		return v.UTC(), values.CheckTime(*v)
	case string:
		t, err := values.ParseTime(v)
		if err != nil {
			return time.Time{}, err
		}
		return t.UTC(), values.CheckTime(t)
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return values.EpochSeconds(n)
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return time.Time{}, fmt.Errorf("timestamp %s: %w", v, err)
		}
		return values.EpochTime(f)
	case int:
		return values.EpochSeconds(int64(v))
	case int64:
		return values.EpochSeconds(v)
	case int32:
		return values.EpochSeconds(int64(v))
	case float64:
		return values.EpochTime(v)
	case *types.Value:
		if online.IsNull(v) {
			return time.Time{}, nil
		}
		if s, ok := v.Val.(*types.Value_UnixTimestampVal); ok {
			return values.EpochSeconds(s.UnixTimestampVal)
		}
		return time.Time{}, &values.TypeError{Expected: model.UnixTimestamp, Got: values.TypeOf(v).String()}
	}
	return time.Time{}, fmt.Errorf("expected a timestamp, got %T %v", x, x)
}

func goTimes(col []any) ([]time.Time, error) {
	out := make([]time.Time, len(col))
	for i, x := range col {
		t, err := goTime(x)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		out[i] = t
	}
	return out, nil
}

func valueTimes(col []*types.Value) ([]time.Time, error) {
	out := make([]time.Time, len(col))
	for i, v := range col {
		t, err := goTime(v)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		out[i] = t
	}
	return out, nil
}
