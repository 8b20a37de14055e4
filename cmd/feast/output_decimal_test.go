package main

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestJSONValueDecimals: decimal columns of training data (Parquet
// DECIMAL, PostgreSQL NUMERIC(p,s)) are written as exact JSON numbers.
func TestJSONValueDecimals(t *testing.T) {
	b := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 10, Scale: 8})
	defer b.Release()
	for _, v := range []string{"0.00001", "-12.3"} {
		if err := b.AppendValueFromString(v); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	col := b.NewArray()
	defer col.Release()
	out, err := json.Marshal([]any{jsonValue(col, 0), jsonValue(col, 1), jsonValue(col, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[0.00001000,-12.30000000,null]`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
}
