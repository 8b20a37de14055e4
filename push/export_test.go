package push

import "context"

// Hooks for the external tests of this package (package push_test, which
// may import the root package feast; this package cannot).

// ViewSchema returns the schema WriteToOnlineStore uses for view (raw:
// with NoTransform).
func (p *Pusher) ViewSchema(ctx context.Context, view string, raw bool) (*Schema, error) {
	return p.viewSchema(ctx, view, raw)
}

// DecodeWith is decode: noTransform skips on-demand views, toOnline
// applies the future event-time bound.
func (s *Schema) DecodeWith(recs Records, noTransform, toOnline bool) (*Batch, error) {
	return s.decode(recs, noTransform, toOnline)
}

// RecordsLen counts the rows of recs without decoding them.
var RecordsLen = recordsLen
