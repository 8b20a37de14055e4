package definitions

import (
	"fmt"
	"math"
	"time"
)

// maxExactInt is the largest integer a float64 holds exactly: integer
// results beyond it are refused rather than rounded.
const maxExactInt = 1 << 53

// pyArith evaluates `l op r` as Python does for the values a definition
// file computes statically: + - * / // % on int and float literals (and
// names bound to them), timedelta arithmetic (timedelta ± timedelta,
// timedelta * number, timedelta / number, timedelta // int, timedelta /
// timedelta, timedelta // timedelta, timedelta % timedelta) and string
// concatenation. why says why anything else is not computed.
func pyArith(op string, l, r pyVal) (v pyVal, why string) {
	switch a := l.(type) {
	case string:
		if b, ok := r.(string); ok && op == "+" {
			return a + b, ""
		}
	case pyNum:
		switch b := r.(type) {
		case pyNum:
			return numArith(op, a, b)
		case pyDuration:
			if op == "*" {
				return scaleDuration(time.Duration(b), a.f)
			}
		}
	case pyDuration:
		d := time.Duration(a)
		switch b := r.(type) {
		case pyDuration:
			e := time.Duration(b)
			switch op {
			case "+":
				if (e > 0 && d > math.MaxInt64-e) || (e < 0 && d < math.MinInt64-e) {
					return nil, "the duration is too long"
				}
				return pyDuration(d + e), ""
			case "-":
				if (e < 0 && d > math.MaxInt64+e) || (e > 0 && d < math.MinInt64+e) {
					return nil, "the duration is too long"
				}
				return pyDuration(d - e), ""
			case "/", "//", "%":
				if e == 0 {
					return nil, "division by a zero timedelta"
				}
				switch op {
				case "/":
					return pyNum{f: float64(d) / float64(e)}, ""
				case "//":
					return pyNum{f: math.Floor(float64(d) / float64(e)), isInt: true}, ""
				default:
					m := d % e
					if m != 0 && (m < 0) != (e < 0) {
						m += e
					}
					return pyDuration(m), ""
				}
			}
		case pyNum:
			switch op {
			case "*":
				return scaleDuration(d, b.f)
			case "/":
				if b.f == 0 {
					return nil, "division by zero"
				}
				return scaleDuration(d, 1/b.f)
			case "//":
				if !b.isInt {
					return nil, "timedelta // float is an error in Python"
				}
				if b.f == 0 {
					return nil, "division by zero"
				}
				// Python floors to whole microseconds.
				us := math.Floor(float64(d/time.Microsecond) / b.f)
				return scaleDuration(time.Microsecond, us)
			}
		}
	}
	return nil, fmt.Sprintf("%s %s %s is computed only when Python runs", pyTypeName(l), op, pyTypeName(r))
}

func numArith(op string, a, b pyNum) (pyVal, string) {
	isInt := a.isInt && b.isInt
	var f float64
	switch op {
	case "+":
		f = a.f + b.f
	case "-":
		f = a.f - b.f
	case "*":
		f = a.f * b.f
	case "/":
		if b.f == 0 {
			return nil, "division by zero"
		}
		f, isInt = a.f/b.f, false
	case "//":
		if b.f == 0 {
			return nil, "division by zero"
		}
		f = math.Floor(a.f / b.f)
	case "%":
		if b.f == 0 {
			return nil, "division by zero"
		}
		// Python's modulo takes the divisor's sign.
		f = math.Mod(a.f, b.f)
		if f != 0 && (f < 0) != (b.f < 0) {
			f += b.f
		}
	default:
		return nil, fmt.Sprintf("operator %s is computed only when Python runs", op)
	}
	if isInt && math.Abs(f) > maxExactInt {
		return nil, "the integer is too large to compute exactly here"
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, "the result is not a finite number"
	}
	return pyNum{f: f, isInt: isInt}, ""
}

// scaleDuration multiplies d by x, rounding to whole microseconds as
// Python's timedelta does (round half to even).
func scaleDuration(d time.Duration, x float64) (pyVal, string) {
	us := math.RoundToEven(float64(d/time.Microsecond)*x + float64(d%time.Microsecond)*x/float64(time.Microsecond))
	if math.IsNaN(us) || math.Abs(us) > float64(math.MaxInt64/int64(time.Microsecond)) {
		return nil, "the duration is too long"
	}
	return pyDuration(time.Duration(us) * time.Microsecond), ""
}

func pyTypeName(v pyVal) string {
	switch x := v.(type) {
	case string:
		return "str"
	case pyNum:
		if x.isInt {
			return "int"
		}
		return "float"
	case pyDuration:
		return "timedelta"
	case bool:
		return "bool"
	case pyNone:
		return "None"
	case pyList:
		return "list"
	case *pyDict:
		return "dict"
	case *pyObj:
		return objectLabel(x.kind, x.name)
	}
	return "a value"
}
