package push

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// InvalidError rejects a whole push or online write before anything was
// written: the HTTP layer answers 422. Source names the push source (or the
// feature view of a write to the online store), Column the offending column
// when there is one and Row the offending row (-1 when none).
type InvalidError struct {
	Source string
	Column string
	Row    int
	Reason string
	// Err is the underlying cause, such as a *values.TypeError; may be nil.
	Err error
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("push")
	if e.Source != "" {
		b.WriteString(" to " + e.Source)
	}
	b.WriteString(" rejected")
	if e.Column != "" {
		b.WriteString(": column " + e.Column)
	}
	if e.Row >= 0 {
		b.WriteString(": row " + strconv.Itoa(e.Row))
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *InvalidError) Unwrap() error { return e.Err }

// SourceNotFoundError is returned when no push source of that name feeds
// any feature view. Feast answers it with HTTP 422
// (PushSourceNotFoundException); WriteToOnlineStore returns
// *registry.NotFoundError for an unknown view instead (HTTP 404).
type SourceNotFoundError struct {
	Name, Project string
	// Suggestions are push sources with close names.
	Suggestions []string
	// Reason explains a source that exists but cannot be pushed to.
	Reason string
}

func (e *SourceNotFoundError) Error() string {
	msg := fmt.Sprintf("push source %q not found in project %q", e.Name, e.Project)
	if e.Reason != "" {
		msg = fmt.Sprintf("push source %q in project %q: %s", e.Name, e.Project, e.Reason)
	}
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(quote(e.Suggestions), ", ") + "?)"
	}
	return msg
}

// PartialError reports an online_and_offline push whose offline part
// was written but whose online part failed. Retrying the whole push appends
// the rows offline a second time; retrying with mode online only is safe
// (the online store keeps the newest row per entity, so repeated rows are
// skipped).
type PartialError struct {
	Source string
	// Written is the part that was written (Offline).
	Written Mode
	Err     error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("push to %s: %s part written, online write failed (retry with to=online): %v", e.Source, e.Written, e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

func quote(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Quote(x)
	}
	return out
}

// ErrTooManyRows is wrapped by the error of a push or online write with
// more rows than Options.MaxRows; the HTTP server answers 413.
var ErrTooManyRows = errors.New("too many rows")

// ErrWritesSaturated is wrapped by the error of a push or online write
// refused because Options.MaxConcurrent writes are running; the HTTP
// server answers 429 with Retry-After. Nothing was written: retry later.
var ErrWritesSaturated = errors.New("too many concurrent writes")
