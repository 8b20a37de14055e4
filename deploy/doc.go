// Package deploy holds the deployment artifacts of feast, not code: the
// container image (Dockerfile), the Helm chart (helm/feast-feature-server),
// scheduling and CI/CD examples (examples/) and monitoring rules and
// dashboards (monitoring/). Its tests check each artifact the way the tool
// that consumes it would: the chart is rendered with Helm's own engine and
// every manifest decoded strictly into the Kubernetes API types, the alert
// rules are parsed with Prometheus's rule parser, and so on.
package deploy
