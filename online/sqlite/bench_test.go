package sqlite

import (
	"testing"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
)

// BenchmarkBulkLoad: see onlinetest.BulkLoad (-benchtime=40x for 200k
// entities, as bench/materialize -rows 200000 writes).
func BenchmarkBulkLoad(b *testing.B) {
	onlinetest.BulkLoad(b, func(b *testing.B) online.Store { return openTemp(b) })
}
