package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// errMalformed is wrapped by every error about a request body that is not
// the JSON the endpoint expects.
var errMalformed = errors.New("malformed request body")

// onlineBody is a decoded /get-online-features request. Entity and request
// context columns stay raw JSON until the plan tells their types.
type onlineBody struct {
	features         []string
	featureService   string
	fullFeatureNames bool
	// entities and requestContext are columns in the order of the body.
	entities       []rawColumn
	requestContext []rawColumn
}

type rawColumn struct {
	name string
	raw  []byte // a JSON value, aliasing the body
}

// maxJSONDepth bounds the nesting the scanner follows.
const maxJSONDepth = 64

// decodeOnlineBody scans the request body of /get-online-features. It reads
// features, feature_service, full_feature_names, entities and
// request_context, and skips other keys (include_feature_view_version_metadata,
// ...) as Feast's server does. The raw column slices alias data.
func decodeOnlineBody(data []byte) (*onlineBody, error) {
	s := scanner{data: data}
	s.ws()
	if s.pos >= len(s.data) {
		return nil, fmt.Errorf("%w: empty body; send a JSON object with features or feature_service and entities", errMalformed)
	}
	if s.peek() != '{' {
		return nil, s.errf("expected a JSON object")
	}
	b := &onlineBody{}
	err := s.object(func(key string) error {
		switch key {
		case "features":
			return s.stringArray(&b.features, "features")
		case "feature_service":
			switch s.peek() {
			case 'n':
				return s.literal("null")
			case '"':
				v, err := s.str()
				b.featureService = v
				return err
			}
			return fmt.Errorf("%w: feature_service must be a string", errMalformed)
		case "full_feature_names":
			switch s.peek() {
			case 't':
				b.fullFeatureNames = true
				return s.literal("true")
			case 'f':
				b.fullFeatureNames = false
				return s.literal("false")
			case 'n':
				return s.literal("null")
			}
			return fmt.Errorf("%w: full_feature_names must be true or false", errMalformed)
		case "entities":
			return s.columns(&b.entities, "entities")
		case "request_context":
			return s.columns(&b.requestContext, "request_context")
		default:
			return s.skip(0)
		}
	})
	if err != nil {
		return nil, err
	}
	s.ws()
	if s.pos != len(s.data) {
		return nil, s.errf("unexpected data after the JSON object")
	}
	return b, nil
}

// scanner is a small JSON scanner over a request body.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", errMalformed, fmt.Sprintf(format, args...), s.pos)
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.errf("invalid literal")
	}
	s.pos += len(lit)
	return nil
}

// object scans an object, calling fn with the scanner at each value.
func (s *scanner) object(fn func(key string) error) error {
	if s.peek() != '{' {
		return s.errf("expected an object")
	}
	s.pos++
	s.ws()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.peek() != '"' {
			return s.errf("expected an object key")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.peek() != ':' {
			return s.errf("expected ':' after object key")
		}
		s.pos++
		s.ws()
		if err := fn(key); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errf("expected ',' or '}' in object")
		}
	}
}

// str scans a JSON string and returns its value.
func (s *scanner) str() (string, error) {
	if s.peek() != '"' {
		return "", s.errf("expected a string")
	}
	start := s.pos
	s.pos++
	plain := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			body := s.data[start+1 : s.pos-1]
			if plain {
				if !utf8.Valid(body) {
					return "", s.errf("invalid UTF-8 in string")
				}
				return string(body), nil
			}
			var out string
			if err := json.Unmarshal(s.data[start:s.pos], &out); err != nil {
				return "", s.errf("invalid string")
			}
			return out, nil
		case c == '\\':
			plain = false
			s.pos += 2
		case c < 0x20:
			return "", s.errf("control character in string")
		default:
			s.pos++
		}
	}
	return "", s.errf("unterminated string")
}

// skip scans over any JSON value.
func (s *scanner) skip(depth int) error {
	if depth > maxJSONDepth {
		return s.errf("nesting too deep")
	}
	s.ws()
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '[':
		return s.array(func() error { return s.skip(depth + 1) })
	case c == '{':
		return s.object(func(string) error { return s.skip(depth + 1) })
	}
	return s.errf("invalid value")
}

// number scans a JSON number (strictly).
func (s *scanner) number() error {
	start := s.pos
	if s.peek() == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.peek() == '0' {
		s.pos++
	} else if digits() == 0 {
		return s.errf("invalid number")
	}
	if s.peek() == '.' {
		s.pos++
		if digits() == 0 {
			return s.errf("invalid number")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if digits() == 0 {
			return s.errf("invalid number")
		}
	}
	if s.pos == start {
		return s.errf("invalid number")
	}
	return nil
}

// array scans an array, calling fn with the scanner at each element.
func (s *scanner) array(fn func() error) error {
	if s.peek() != '[' {
		return s.errf("expected an array")
	}
	s.pos++
	s.ws()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if err := fn(); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errf("expected ',' or ']' in array")
		}
	}
}

func (s *scanner) stringArray(dst *[]string, field string) error {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if s.peek() != '[' {
		return fmt.Errorf("%w: %s must be an array of strings", errMalformed, field)
	}
	out := (*dst)[:0]
	err := s.array(func() error {
		if s.peek() != '"' {
			return fmt.Errorf("%w: %s must be an array of strings", errMalformed, field)
		}
		v, err := s.str()
		out = append(out, v)
		return err
	})
	*dst = out
	return err
}

// columns scans an object of arrays, keeping each array raw.
func (s *scanner) columns(dst *[]rawColumn, field string) error {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if s.peek() != '{' {
		return fmt.Errorf("%w: %s must be an object mapping column names to arrays of values", errMalformed, field)
	}
	return s.object(func(key string) error {
		start := s.pos
		if s.peek() != '[' {
			if err := s.skip(1); err != nil {
				return err
			}
			return fmt.Errorf("%w: %s.%s must be an array of values, got %s", errMalformed, field, key, truncate(s.data[start:s.pos]))
		}
		if err := s.skip(1); err != nil {
			return err
		}
		for _, c := range *dst {
			if c.name == key {
				return fmt.Errorf("%w: %s.%s is given twice", errMalformed, field, key)
			}
		}
		*dst = append(*dst, rawColumn{name: key, raw: s.data[start:s.pos]})
		return nil
	})
}

func truncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
