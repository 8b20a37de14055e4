package push

import (
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// Records are the rows of a push or of a write to the online store, given
// column by column. Set exactly one field. Columns are named as the feature
// view names them (join keys, features, the source's timestamp field and
// optionally its created timestamp column); a column named after a source
// column of the field mapping is renamed to the name it maps to.
//
// Timestamp columns accept time.Time, RFC 3339 strings (also
// "2006-01-02 15:04:05+00:00" and naive times, taken as UTC), epoch seconds
// (integral or fractional) and UNIX_TIMESTAMP Values; Arrow timestamp,
// date and string columns.
type Records struct {
	// Arrow is a record batch. The caller keeps ownership.
	Arrow arrow.RecordBatch
	// Columns holds Go values, converted with values.FromGo's rules (a
	// *types.Value of the declared type is taken as is).
	Columns map[string][]any
	// Values holds typed columns.
	Values map[string][]*types.Value
	// JSON holds one JSON array per column, decoded with the declared types
	// (values.DecodeColumn's rules): Feast's `df` object as the HTTP API
	// receives it. RecordsFromJSON builds it from the raw object.
	JSON map[string]json.RawMessage
}

// RecordsFromJSON splits Feast's `df` object ({"col": [values...], ...})
// into JSON Records without decoding or copying the values (the columns
// alias df); Push decodes them with the declared types. A df that is not a
// JSON object, or that names a column twice, is an *InvalidError.
func RecordsFromJSON(df json.RawMessage) (Records, error) {
	members, err := values.ObjectMembers(df)
	if err != nil {
		return Records{}, &InvalidError{Reason: "df must be a JSON object of columns ({\"column\": [values...]})", Row: -1, Err: err}
	}
	cols := make(map[string]json.RawMessage, len(members))
	for _, m := range members {
		if _, dup := cols[m.Key]; dup {
			return Records{}, &InvalidError{Column: m.Key, Row: -1, Reason: "named twice in df"}
		}
		cols[m.Key] = m.Value
	}
	return Records{JSON: cols}, nil
}

func recordsLen(r Records) int {
	switch {
	case r.Arrow != nil:
		return int(r.Arrow.NumRows())
	case r.Columns != nil:
		for _, c := range r.Columns {
			return len(c)
		}
	case r.Values != nil:
		for _, c := range r.Values {
			return len(c)
		}
	case r.JSON != nil:
		for _, c := range r.JSON {
			n, _ := values.CountArray(c)
			return n
		}
	}
	return 0
}
