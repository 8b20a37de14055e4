package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/values"
)

// outputFormat picks the format of --output from its extension: "stdout"
// (JSON on stdout) when no file is given, else "parquet", "csv" or
// "json". Any other extension is refused rather than guessed.
func outputFormat(path string) (string, error) {
	if path == "" {
		return "stdout", nil
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".parquet", ".pq":
		return "parquet", nil
	case ".csv":
		return "csv", nil
	case ".json":
		return "json", nil
	case "":
		return "", fmt.Errorf("--output %q has no extension: name a .parquet, .csv or .json file, or omit --output to print JSON", path)
	default:
		return "", fmt.Errorf("--output %q: unknown output format %q: use .parquet, .csv or .json, or omit --output to print JSON", path, ext)
	}
}

// looksLikeJSON reports whether s is inline JSON rather than a file name.
func looksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{")
}

// entityRowsFromJSON turns -d/--dataframe (a JSON array of objects, as
// Feast's CLI takes) into entity rows. Column types follow the values:
// integers are int64, other numbers float64, booleans bool, and strings
// strings, except event_timestamp (required, as in Feast) which is parsed
// as a timestamp (ISO 8601, naive = UTC).
func entityRowsFromJSON(s string) (array.RecordReader, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("-d/--dataframe: "+format+`; example: '[{"driver_id": 1001, "event_timestamp": "2025-03-29T12:00:00"}]'`, args...)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var rows []map[string]any
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		var one map[string]any
		if err := dec.Decode(&one); err != nil {
			return nil, bad("invalid JSON: %v", err)
		}
		rows = []map[string]any{one}
	} else if err := dec.Decode(&rows); err != nil {
		return nil, bad("want a JSON array of objects: %v", err)
	}
	if len(rows) == 0 {
		return nil, bad("no entity rows")
	}
	colSet := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			colSet[k] = true
		}
	}
	if !colSet["event_timestamp"] {
		return nil, bad("every row needs an event_timestamp")
	}
	var cols []string
	for k := range colSet {
		cols = append(cols, k)
	}
	// Timestamp last, join keys sorted: a stable column order.
	sort.Slice(cols, func(i, j int) bool {
		if (cols[i] == "event_timestamp") != (cols[j] == "event_timestamp") {
			return cols[j] == "event_timestamp"
		}
		return cols[i] < cols[j]
	})
	var fields []arrow.Field
	for _, c := range cols {
		typ, err := jsonColumnType(c, rows)
		if err != nil {
			return nil, bad("%v", err)
		}
		fields = append(fields, arrow.Field{Name: c, Type: typ, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, r := range rows {
		for j, c := range cols {
			v, ok := r[c]
			fb := b.Field(j)
			if !ok || v == nil {
				if c == "event_timestamp" {
					return nil, bad("row %d has no event_timestamp", i)
				}
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.TimestampBuilder:
				t, err := parseTime(fmt.Sprint(v))
				if err != nil {
					return nil, bad("row %d: event_timestamp: %v", i, err)
				}
				fb.Append(arrow.Timestamp(t.UnixMicro()))
			case *array.Int64Builder:
				n, _ := v.(json.Number).Int64()
				fb.Append(n)
			case *array.Float64Builder:
				f, _ := v.(json.Number).Float64()
				fb.Append(f)
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.StringBuilder:
				fb.Append(v.(string))
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewRecordReader(schema, []arrow.RecordBatch{rec})
}

// jsonColumnType infers one column's Arrow type from its JSON values.
func jsonColumnType(col string, rows []map[string]any) (arrow.DataType, error) {
	if col == "event_timestamp" {
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	}
	kind := ""
	for _, r := range rows {
		var k string
		switch v := r[col].(type) {
		case nil:
			continue
		case json.Number:
			k = "int"
			if _, err := v.Int64(); err != nil {
				k = "float"
			}
		case bool:
			k = "bool"
		case string:
			k = "string"
		default:
			return nil, fmt.Errorf("column %q: only numbers, strings and booleans are supported, got %T", col, v)
		}
		switch {
		case kind == "" || kind == k:
			kind = k
		case (kind == "int" && k == "float") || (kind == "float" && k == "int"):
			kind = "float"
		default:
			return nil, fmt.Errorf("column %q mixes %s and %s values", col, kind, k)
		}
	}
	switch kind {
	case "int":
		return arrow.PrimitiveTypes.Int64, nil
	case "float":
		return arrow.PrimitiveTypes.Float64, nil
	case "bool":
		return arrow.FixedWidthTypes.Boolean, nil
	}
	return arrow.BinaryTypes.String, nil
}

// writeJSONRows writes the job's rows as a JSON array of objects, one row
// per line, streaming record by record.
func writeJSONRows(ctx context.Context, out io.Writer, job *feast.HistoricalJob) error {
	_, err := writeJSON(ctx, out, job)
	return err
}

// writeJSONFile writes the job's rows to path as a JSON array of objects.
func writeJSONFile(ctx context.Context, path string, job *feast.HistoricalJob) (feast.Summary, error) {
	f, err := os.Create(path)
	if err != nil {
		return feast.Summary{}, err
	}
	sum, err := writeJSON(ctx, f, job)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return sum, err
}

func writeJSON(ctx context.Context, out io.Writer, job *feast.HistoricalJob) (feast.Summary, error) {
	rdr, err := job.Reader(ctx)
	if err != nil {
		return feast.Summary{}, err
	}
	defer rdr.Release()
	schema := rdr.Schema()
	sum := feast.Summary{}
	for _, f := range schema.Fields() {
		sum.Columns = append(sum.Columns, feast.ColumnSummary{Name: f.Name})
	}
	names := make([][]byte, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i], _ = json.Marshal(f.Name)
	}
	w := bufio.NewWriter(out)
	w.WriteString("[")
	first := true
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for c := 0; c < int(rec.NumCols()); c++ {
			sum.Columns[c].Nulls += int64(rec.Column(c).NullN())
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			if first {
				w.WriteString("\n  {")
				first = false
			} else {
				w.WriteString(",\n  {")
			}
			for c := 0; c < int(rec.NumCols()); c++ {
				if c > 0 {
					w.WriteString(", ")
				}
				w.Write(names[c])
				w.WriteString(": ")
				v, err := json.Marshal(jsonValue(rec.Column(c), r))
				if err != nil {
					return sum, err
				}
				w.Write(v)
			}
			w.WriteString("}")
			sum.Rows++
		}
	}
	if err := rdr.Err(); err != nil {
		return sum, err
	}
	if first {
		w.WriteString("]\n")
	} else {
		w.WriteString("\n]\n")
	}
	return sum, w.Flush()
}

// jsonValue is one cell as a JSON value: timestamps in RFC 3339 (UTC),
// NaN and infinities as null, decimals as exact JSON numbers ("12.30",
// never "1e-05" in quotes), everything else as Arrow marshals it.
func jsonValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	if text, ok := values.DecimalText(a, i); ok {
		return json.Number(text)
	}
	switch a := a.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.Float32:
		if f := float64(a.Value(i)); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
	case *array.Float64:
		if f := a.Value(i); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
	}
	return a.GetOneForMarshal(i)
}
