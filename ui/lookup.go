package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// lookupData is the lookup form, its inputs and its answer. The form is
// sent with GET so that a lookup is a shareable URL.
type lookupData struct {
	Service  string
	Features string
	Entities string
	Full     bool
	Services []string
	// Keys are the entity columns the selection needs.
	Keys   []string
	Result *lookupResult
	Error  string
}

// lookupResult is an online response in the JSON shape of Feast's
// /get-online-features.
type lookupResult struct {
	Metadata struct {
		FeatureNames []string `json:"feature_names"`
	} `json:"metadata"`
	Results []lookupColumn `json:"results"`
	// Rows is the same answer row-major, for the HTML table.
	Rows [][]lookupCell `json:"-"`
	// EntityColumns is how many leading columns are join keys.
	EntityColumns int `json:"-"`
}

type lookupColumn struct {
	Values          []json.RawMessage `json:"values"`
	Statuses        []string          `json:"statuses"`
	EventTimestamps []string          `json:"event_timestamps"`
}

type lookupCell struct {
	Value, Status, EventTime string
	Key                      bool
}

func (u *UI) lookupPage(w http.ResponseWriter, r *http.Request, c *catalog, v visibility, api bool) error {
	q := r.URL.Query()
	d := lookupData{
		Service: strings.TrimSpace(q.Get("service")), Features: strings.TrimSpace(q.Get("features")),
		Entities: strings.TrimSpace(q.Get("entities")), Full: q.Get("full") == "on" || q.Get("full") == "true",
	}
	for _, it := range c.list(kindServices, filter{}, v) {
		d.Services = append(d.Services, it.Name)
	}
	if d.Service != "" || d.Features != "" {
		res, keys, err := u.lookup(r, c, d)
		d.Keys = keys
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				return err
			}
			if api {
				return err
			}
			w.WriteHeader(he.code)
			d.Error = he.msg
		}
		d.Result = res
	}
	if api {
		if d.Result == nil {
			return badRequest("give service=NAME or features=view:feature,... and entities=key=value (one row per line)")
		}
		writeJSON(w, http.StatusOK, d.Result)
		return nil
	}
	return u.render(w, r, "lookup", &page{Title: "Live lookup", Section: "lookup", Data: d})
}

// splitList splits on commas and newlines, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// lookup resolves and reads the selection of d with the library's online
// read, the code behind /get-online-features.
func (u *UI) lookup(r *http.Request, c *catalog, d lookupData) (*lookupResult, []string, error) {
	ctx := r.Context()
	var features []string
	if d.Service == "" {
		features = splitList(d.Features)
	}
	plan, err := u.fs.ResolveOnline(c.snap, features, d.Service, d.Full)
	if err != nil {
		return nil, nil, badRequest("%s", err.Error())
	}
	keys := plan.JoinKeys()
	if user := auth.UserFrom(ctx); user != nil {
		if err := c.perms.Check(user, plan, plan.AccessResources(), model.ActionReadOnline); err != nil {
			var de *permissions.DeniedError
			if errors.As(err, &de) {
				return nil, keys, &httpError{http.StatusForbidden, err.Error()}
			}
			return nil, keys, err
		}
	}
	req := feast.OnlineRequest{Entities: map[string][]*types.Value{}, FullFeatureNames: d.Full}
	rows := 0
	for _, line := range strings.Split(d.Entities, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rows++
		for _, kv := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ';' }) {
			k, raw, ok := strings.Cut(strings.TrimSpace(kv), "=")
			k, raw = strings.TrimSpace(k), strings.TrimSpace(raw)
			if !ok || k == "" {
				return nil, keys, badRequest("entity %q: write name=value (one entity row per line, columns separated by commas)", kv)
			}
			vt, _, known := plan.ColumnType(k)
			if !known {
				return nil, keys, badRequest("entity %q: unknown column %q (join keys: %s)", kv, k, strings.Join(keys, ", "))
			}
			val, err := parseValue(raw, vt)
			if err != nil {
				return nil, keys, badRequest("entity %q: %s", kv, err.Error())
			}
			req.Entities[k] = append(req.Entities[k], val)
		}
	}
	if rows == 0 {
		return nil, keys, badRequest("give at least one entity row, as in %s=...", strings.Join(keys, "=..., "))
	}
	for k, col := range req.Entities {
		if len(col) != rows {
			return nil, keys, badRequest("column %s has %d values for %d entity rows: give every column on every line", k, len(col), rows)
		}
	}
	resp, err := u.fs.ReadOnline(ctx, plan, req)
	if err != nil {
		if errors.Is(err, feast.ErrInvalidRequest) {
			return nil, keys, badRequest("%s", err.Error())
		}
		return nil, keys, err
	}
	return newLookupResult(resp), keys, nil
}

// parseValue converts a typed entity value: strings as they are, other
// types parsed as JSON (1001, true, 1.5), as `feast get-online-features`.
func parseValue(raw string, vt model.ValueType) (*types.Value, error) {
	switch vt {
	case model.String:
		return &types.Value{Val: &types.Value_StringVal{StringVal: raw}}, nil
	case model.Bytes:
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte(raw)}}, nil
	}
	v, err := values.FromJSON([]byte(raw), vt)
	if err != nil {
		return nil, fmt.Errorf("%q is not a %s value", raw, dtype(vt))
	}
	return v, nil
}

func newLookupResult(resp *feast.OnlineResponse) *lookupResult {
	res := &lookupResult{EntityColumns: resp.EntityColumns}
	res.Metadata.FeatureNames = resp.FeatureNames
	n := resp.Rows()
	res.Rows = make([][]lookupCell, n)
	for ci, col := range resp.Results {
		jc := lookupColumn{Values: make([]json.RawMessage, n), Statuses: make([]string, n), EventTimestamps: make([]string, n)}
		for i := 0; i < n; i++ {
			val := values.AppendJSON(nil, col.Values[i])
			jc.Values[i] = val
			cell := lookupCell{Value: string(val), Key: ci < resp.EntityColumns}
			if i < len(col.Statuses) {
				jc.Statuses[i] = col.Statuses[i].String()
				cell.Status = jc.Statuses[i]
			}
			if i < len(col.EventTimestamps) && !col.EventTimestamps[i].IsZero() {
				jc.EventTimestamps[i] = col.EventTimestamps[i].UTC().Format(time.RFC3339)
				cell.EventTime = jc.EventTimestamps[i]
			} else {
				jc.EventTimestamps[i] = "1970-01-01T00:00:00Z"
			}
			res.Rows[i] = append(res.Rows[i], cell)
		}
		res.Results = append(res.Results, jc)
	}
	return res
}
