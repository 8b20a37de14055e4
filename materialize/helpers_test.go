package materialize_test

import "github.com/feastgo/feast/proto/feast/types"

type typesValue = types.Value

func int64Value(v int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: v}} }
