package objstore

import (
	"context"
	"fmt"
)

// Check lists a source's path and fails unless it names at least one
// object of its format: the object itself, or objects under the prefix or
// matching the glob. It reads no object (no footers): feast plan checks
// object-store sources with it as it checks that local paths exist. Errors
// name the source, the path and, for a missing bucket or refused
// credentials, what to check.
func (s *Store) Check(ctx context.Context, req Request) error {
	loc, err := s.location(req)
	if err != nil {
		return fmt.Errorf("file source %s: %w", req.Source, err)
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return fmt.Errorf("file source %s: %w", req.Source, err)
	}
	if _, _, err := s.list(ctx, b, loc, req.Format); err != nil {
		return fmt.Errorf("file source %s: %w", req.Source, err)
	}
	return nil
}
