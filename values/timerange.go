package values

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/feastgo/feast/model"
)

// The range of google.protobuf.Timestamp, which every event timestamp is
// stored as: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// Epoch seconds of MinTime and MaxTime.
const (
	minEpoch = -62135596800
	maxEpoch = 253402300799
)

// ErrTimeRange is wrapped by every *TimeRangeError.
var ErrTimeRange = errors.New("timestamp out of range")

// TimeRangeError reports a timestamp outside MinTime..MaxTime. Input is the
// value as given when it was a number of epoch seconds.
type TimeRangeError struct {
	Time  time.Time // set when the value is representable as a time.Time
	Input string    // the epoch seconds as given, when the input was a number
	// Hint guesses the unit the sender used ("epoch milliseconds?").
	Hint string
}

func (e *TimeRangeError) Error() string {
	s := "timestamp "
	if e.Input != "" {
		s += e.Input + " (epoch seconds)"
	} else {
		s += e.Time.Format(time.RFC3339Nano)
	}
	s += " is outside 0001-01-01..9999-12-31"
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap makes errors.Is(err, ErrTimeRange) true.
func (e *TimeRangeError) Unwrap() error { return ErrTimeRange }

// CheckTime returns a *TimeRangeError when t is outside the protobuf
// Timestamp range (years 0001 to 9999). The zero time (null) passes.
func CheckTime(t time.Time) error {
	if t.IsZero() || (!t.Before(MinTime) && !t.After(MaxTime)) {
		return nil
	}
	return &TimeRangeError{Time: t.UTC(), Hint: unitHint(float64(t.Unix()))}
}

// EpochTime converts epoch seconds (fractional seconds kept to the
// nanosecond) to a UTC time, or returns a *TimeRangeError when they fall
// outside the protobuf Timestamp range. Converting first would overflow
// int64 for values such as 1e19 and wrap to an arbitrary time.
func EpochTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || f < minEpoch || f >= maxEpoch+1 {
		return time.Time{}, &TimeRangeError{Input: strconv.FormatFloat(f, 'g', -1, 64), Hint: unitHint(f)}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// EpochSeconds is EpochTime for integral seconds.
func EpochSeconds(sec int64) (time.Time, error) {
	if sec < minEpoch || sec > maxEpoch {
		return time.Time{}, &TimeRangeError{Input: strconv.FormatInt(sec, 10), Hint: unitHint(float64(sec))}
	}
	return time.Unix(sec, 0).UTC(), nil
}

// unitHint guesses that an out-of-range epoch value was sent in
// milliseconds, microseconds or nanoseconds when, read so, it lands in
// 1970..2100.
func unitHint(sec float64) string {
	const lo, hi = 0, 4102444800 // 1970-01-01, 2100-01-01
	for _, u := range []struct {
		div  float64
		name string
	}{{1e3, "milliseconds"}, {1e6, "microseconds"}, {1e9, "nanoseconds"}} {
		if s := sec / u.div; s >= lo && s < hi {
			return "epoch " + u.name + "? send epoch seconds or RFC 3339"
		}
	}
	return ""
}

// IndexError locates an error at one element of a column.
type IndexError struct {
	Index int
	Err   error
}

func (e *IndexError) Error() string { return "index " + strconv.Itoa(e.Index) + ": " + e.Err.Error() }

func (e *IndexError) Unwrap() error { return e.Err }

// DecodeTimeColumn decodes a JSON array of timestamps, the event and
// created timestamp columns of a push: RFC 3339 strings (and the other forms
// ParseTime accepts) or epoch seconds, integral or fractional (kept to the
// nanosecond). JSON null gives the zero time. A timestamp outside
// MinTime..MaxTime is a *TimeRangeError; errors about one element are
// *IndexError. It scans the bytes in place: no value per element is
// allocated besides the result.
func DecodeTimeColumn(raw []byte) ([]time.Time, error) {
	d := decoder{data: raw}
	d.skipWS()
	if d.peek() != '[' {
		got, err := d.describe()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("expected an array of timestamps, got %s", got)
	}
	n, err := d.countArray()
	if err != nil {
		return nil, err
	}
	d.pos++ // '['
	out := make([]time.Time, n)
	for i := range out {
		if i > 0 {
			d.skipWS()
			d.pos++ // ',' (countArray checked the syntax)
		}
		d.skipWS()
		if out[i], err = d.time(); err != nil {
			return nil, &IndexError{Index: i, Err: err}
		}
	}
	d.skipWS()
	d.pos++ // ']'
	if err := d.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// time reads one timestamp for DecodeTimeColumn.
func (d *decoder) time() (time.Time, error) {
	switch c := d.peek(); {
	case c == 'n':
		return time.Time{}, d.literal("null")
	case c == '-' || isDigit(c):
		tok, isInt, err := d.scanNumber()
		if err != nil {
			return time.Time{}, err
		}
		if isInt {
			if sec, ok := parseDecimalInt(tok); ok {
				return EpochSeconds(sec)
			}
		}
		f, err := strconv.ParseFloat(bytesString(tok), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return time.Time{}, mismatch(model.UnixTimestamp, "number "+string(tok))
		}
		return EpochTime(f)
	case c == '"':
		start := d.pos
		s, err := d.readString()
		if err != nil {
			return time.Time{}, err
		}
		t, err := ParseTime(s)
		if err != nil {
			d.pos = start
			return time.Time{}, d.mismatchNext(model.UnixTimestamp)
		}
		return t.UTC(), CheckTime(t)
	}
	return time.Time{}, d.mismatchNext(model.UnixTimestamp)
}
