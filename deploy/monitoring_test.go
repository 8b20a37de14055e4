package deploy

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// serverMetrics are the metric families `feast serve` and `feast stream`
// export, as listed in
// docs/operations.md; alerts and dashboards may use only these (histograms
// through their _bucket, _sum and _count series).
var serverMetrics = []string{
	"feast_http_requests_total",
	"feast_http_request_duration_seconds",
	"feast_online_store_read_duration_seconds",
	"feast_online_store_errors_total",
	"feast_registry_snapshot_age_seconds",
	"feast_registry_refresh_errors_total",
	"feast_feature_freshness_seconds",
	// feast stream --metrics-addr (docs/operations.md too).
	"feast_stream_retries_total",
	"feast_stream_brokers_up",
	"feast_stream_consumer_lag",
	"feast_stream_poison_messages_total",
	"feast_stream_freshness_seconds",
	"feast_push_rows_total",
}

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, p parser.Parser, expr string) []string {
	t.Helper()
	e, err := p.ParseExpr(expr)
	if err != nil {
		t.Fatalf("parse %q: %v", expr, err)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

func knownMetric(name string) bool {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(serverMetrics, base) {
			return true
		}
	}
	return slices.Contains(serverMetrics, name)
}

func TestAlertRules(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	path := filepath.Join("monitoring", "alerts.yaml")
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	alerts := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = r.Expr
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s needs a severity label and a summary", r.Alert)
			}
			for _, m := range metricNames(t, p, r.Expr) {
				if !knownMetric(m) {
					t.Errorf("alert %s uses %s, which feast serve does not export", r.Alert, m)
				}
			}
		}
	}
	// The alerts the issues ask for: stale features, error rate, latency,
	// an unreachable online store.
	for name, metric := range map[string]string{
		"FeastFeatureViewStale":         "feast_feature_freshness_seconds",
		"FeastHighErrorRate":            "feast_http_requests_total",
		"FeastHighLatencyP99":           "feast_http_request_duration_seconds_bucket",
		"FeastOnlineStoreUnavailable":   "feast_online_store_errors_total",
		"FeastStreamWritesFailing":      "feast_stream_retries_total",
		"FeastStreamBrokersUnreachable": "feast_stream_brokers_up",
		"FeastStreamPoisonMessages":     "feast_stream_poison_messages_total",
	} {
		if expr, ok := alerts[name]; !ok || !slices.Contains(metricNames(t, p, expr), metric) {
			t.Errorf("alert %s on %s: %q", name, metric, expr)
		}
	}
	if !strings.Contains(alerts["FeastHighLatencyP99"], "histogram_quantile(0.99") {
		t.Errorf("latency alert is not a p99: %s", alerts["FeastHighLatencyP99"])
	}
}

func TestAlertRulesParserCatchesErrors(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	bad := []byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m])\n")
	if _, errs := rulefmt.Parse(bad, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler)); len(errs) == 0 {
		t.Fatal("a rule with an unbalanced parenthesis was accepted")
	}
}

type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title      string         `json:"title"`
		UID        string         `json:"uid"`
		Panels     []grafanaPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("title %q uid %q", dash.Title, dash.UID)
	}
	if !slices.ContainsFunc(dash.Templating.List, func(v struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}) bool {
		return v.Name == "datasource" && v.Type == "datasource"
	}) {
		t.Error("no datasource variable: the dashboard would be bound to one Prometheus")
	}
	p := parser.NewParser(parser.Options{})
	ids := map[int]bool{}
	used := map[string]bool{}
	for _, pnl := range dash.Panels {
		if ids[pnl.ID] {
			t.Errorf("duplicate panel id %d", pnl.ID)
		}
		ids[pnl.ID] = true
		if pnl.Type == "row" {
			continue
		}
		if pnl.Datasource == nil || pnl.Datasource.UID != "${datasource}" || len(pnl.Targets) == 0 {
			t.Errorf("panel %q: datasource %+v, %d targets", pnl.Title, pnl.Datasource, len(pnl.Targets))
		}
		for _, tg := range pnl.Targets {
			// Substitute Grafana's variables to parse the query as PromQL.
			expr := strings.NewReplacer("$__rate_interval", "5m", "$job", ".*").Replace(tg.Expr)
			for _, m := range metricNames(t, p, expr) {
				if !knownMetric(m) {
					t.Errorf("panel %q uses %s, which feast serve does not export", pnl.Title, m)
				}
				used[strings.TrimSuffix(m, "_bucket")] = true
			}
		}
	}
	for _, m := range serverMetrics {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}
