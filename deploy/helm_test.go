package deploy

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/feastgo/feast/config"
)

const chartDir = "helm/feast-feature-server"

// serviceMonitor mirrors the prometheus-operator fields the chart uses
// (monitoring.coreos.com/v1), so that it too is decoded strictly without
// importing the operator's module.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// podMonitor mirrors the PodMonitor fields the chart uses (the stream
// pods, which no Service selects).
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// rendered holds the decoded manifests of one release.
type rendered struct {
	configMap      *corev1.ConfigMap
	deployment     *appsv1.Deployment
	stream         *appsv1.Deployment // feast stream (stream.enabled)
	service        *corev1.Service
	serviceAccount *corev1.ServiceAccount
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	pdb            *policyv1.PodDisruptionBudget
	cronJob        *batchv1.CronJob
	serviceMonitor *serviceMonitor
	podMonitor     *podMonitor
	// RBAC objects (auth.kubernetes).
	clusterRoles        []*rbacv1.ClusterRole
	clusterRoleBindings []*rbacv1.ClusterRoleBinding
	roles               []*rbacv1.Role
	roleBindings        []*rbacv1.RoleBinding
	kinds               []string
}

// apiVersions are the group versions the chart may use, by kind.
var apiVersions = map[string]string{
	"ConfigMap": "v1", "Service": "v1", "ServiceAccount": "v1", "Deployment": "apps/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
	"CronJob": "batch/v1", "ServiceMonitor": "monitoring.coreos.com/v1", "PodMonitor": "monitoring.coreos.com/v1",
	"ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
	"Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
}

// render renders the chart with Helm's engine (strict: a template reading
// a missing value fails) and decodes every manifest strictly: unknown or
// misplaced fields are errors.
func render(t *testing.T, valuesFile string) *rendered {
	t.Helper()
	vals := map[string]any{}
	if valuesFile != "" {
		v, err := chartutil.ReadValuesFile(valuesFile)
		if err != nil {
			t.Fatal(err)
		}
		vals = v
	}
	return renderValues(t, vals)
}

// renderFiles renders the chart with vals into the release "feast" in
// namespace "ml".
func renderFiles(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: "feast", Namespace: "ml", Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Engine{Strict: true}.Render(chrt, rv)
}

// renderValues is render with values given as a map.
func renderValues(t *testing.T, vals map[string]any) *rendered {
	t.Helper()
	files, err := renderFiles(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	r := &rendered{}
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(files[name]) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			r.decode(t, name, []byte(doc))
		}
	}
	return r
}

func (r *rendered) decode(t *testing.T, file string, doc []byte) {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if want, ok := apiVersions[tm.Kind]; !ok || tm.APIVersion != want {
		t.Fatalf("%s: unexpected %s %s (want one of %v)", file, tm.APIVersion, tm.Kind, apiVersions)
	}
	strict := func(into any) {
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s: strict decode of %s: %v\n%s", file, tm.Kind, err, doc)
		}
	}
	r.kinds = append(r.kinds, tm.Kind)
	switch tm.Kind {
	case "ConfigMap":
		r.configMap = &corev1.ConfigMap{}
		strict(r.configMap)
	case "Deployment":
		d := &appsv1.Deployment{}
		strict(d)
		if d.Labels["app.kubernetes.io/component"] == "stream" {
			r.stream = d
		} else {
			r.deployment = d
		}
	case "Service":
		r.service = &corev1.Service{}
		strict(r.service)
	case "ServiceAccount":
		r.serviceAccount = &corev1.ServiceAccount{}
		strict(r.serviceAccount)
	case "HorizontalPodAutoscaler":
		r.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
		strict(r.hpa)
	case "PodDisruptionBudget":
		r.pdb = &policyv1.PodDisruptionBudget{}
		strict(r.pdb)
	case "CronJob":
		r.cronJob = &batchv1.CronJob{}
		strict(r.cronJob)
	case "ServiceMonitor":
		r.serviceMonitor = &serviceMonitor{}
		strict(r.serviceMonitor)
	case "PodMonitor":
		r.podMonitor = &podMonitor{}
		strict(r.podMonitor)
	case "ClusterRole":
		o := &rbacv1.ClusterRole{}
		strict(o)
		r.clusterRoles = append(r.clusterRoles, o)
	case "ClusterRoleBinding":
		o := &rbacv1.ClusterRoleBinding{}
		strict(o)
		r.clusterRoleBindings = append(r.clusterRoleBindings, o)
	case "Role":
		o := &rbacv1.Role{}
		strict(o)
		r.roles = append(r.roles, o)
	case "RoleBinding":
		o := &rbacv1.RoleBinding{}
		strict(o)
		r.roleBindings = append(r.roleBindings, o)
	}
}

func TestStrictDecodeRejectsUnknownFields(t *testing.T) {
	// The check the chart tests rely on: a misspelled field fails.
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n")
	if err := yaml.UnmarshalStrict(doc, &appsv1.Deployment{}); err == nil {
		t.Fatal("unknown field spec.replica was accepted")
	}
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func envVar(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func port(c corev1.Container, name string) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// checkCommon asserts what every rendering must satisfy.
func checkCommon(t *testing.T, r *rendered) {
	t.Helper()
	if r.configMap == nil || r.deployment == nil || r.service == nil || r.cronJob == nil {
		t.Fatalf("missing manifests; rendered %v", r.kinds)
	}
	pod := r.deployment.Spec.Template.Spec
	srv := container(t, pod, "feature-server")
	if !slices.Equal(srv.Args[:3], []string{"serve", "--host", "0.0.0.0"}) {
		t.Errorf("server args %v", srv.Args)
	}
	httpPort, ok := port(srv, "http")
	if !ok || httpPort.ContainerPort != 6566 {
		t.Fatalf("http container port: %+v", srv.Ports)
	}
	if i := slices.Index(srv.Args, "--port"); i < 0 || srv.Args[i+1] != "6566" {
		t.Errorf("--port does not match the container port: %v", srv.Args)
	}
	// Probes target the HTTP port, by name or number: liveness /health
	// (the process serves), readiness /ready (the online store answers
	// too), within a timeout above the server's readiness check (1.5s).
	for name, p := range map[string]*corev1.Probe{"liveness": srv.LivenessProbe, "readiness": srv.ReadinessProbe} {
		want := map[string]string{"liveness": "/health", "readiness": "/ready"}[name]
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want {
			t.Fatalf("%s probe: %+v, want path %s", name, p, want)
		}
		if p.TimeoutSeconds < 2 {
			t.Errorf("%s probe timeout %ds is below the server's check", name, p.TimeoutSeconds)
		}
		if pp := p.HTTPGet.Port; pp.String() != "http" && pp.IntValue() != int(httpPort.ContainerPort) {
			t.Errorf("%s probe port %s is not the http port", name, pp.String())
		}
	}
	if srv.Resources.Requests.Cpu().IsZero() || srv.Resources.Limits.Memory().IsZero() {
		t.Errorf("server resources: %+v", srv.Resources)
	}
	// Non-root, read-only root file system.
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		srv.SecurityContext == nil || srv.SecurityContext.ReadOnlyRootFilesystem == nil || !*srv.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("security context: pod %+v container %+v", pod.SecurityContext, srv.SecurityContext)
	}
	// The service selects the deployment's pods and exposes http.
	for k, v := range r.service.Spec.Selector {
		if r.deployment.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match the pod labels %v", k, v, r.deployment.Spec.Template.Labels)
		}
	}
	if len(r.service.Spec.Ports) == 0 || r.service.Spec.Ports[0].Name != "http" || r.service.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service ports: %+v", r.service.Spec.Ports)
	}
	// Both workloads run as the chart's ServiceAccount, which does not
	// mount its token (only the server's pods do, for auth.kubernetes).
	if r.serviceAccount != nil {
		if pod.ServiceAccountName != r.serviceAccount.Name || r.cronJob.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName != r.serviceAccount.Name {
			t.Errorf("pods run as %q / %q, the chart's ServiceAccount is %q", pod.ServiceAccountName,
				r.cronJob.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName, r.serviceAccount.Name)
		}
		if a := r.serviceAccount.AutomountServiceAccountToken; a == nil || *a {
			t.Errorf("ServiceAccount automountServiceAccountToken %v, want false", a)
		}
	}
	if a := r.cronJob.Spec.JobTemplate.Spec.Template.Spec.AutomountServiceAccountToken; a != nil && *a {
		t.Error("the materialization job mounts a service-account token")
	}

	// The CronJob: materialize-incremental now, never concurrently.
	cj := r.cronJob.Spec
	if cj.ConcurrencyPolicy != batchv1.ForbidConcurrent || cj.Schedule == "" {
		t.Errorf("cronjob policy %q schedule %q", cj.ConcurrencyPolicy, cj.Schedule)
	}
	job := cj.JobTemplate.Spec.Template.Spec
	mat := container(t, job, "materialize")
	if len(mat.Args) < 2 || mat.Args[0] != "materialize-incremental" || mat.Args[len(mat.Args)-1] != "now" || len(mat.Command) != 0 {
		t.Errorf("cronjob command %v args %v (want the image's feast with materialize-incremental ... now)", mat.Command, mat.Args)
	}
	if job.RestartPolicy != corev1.RestartPolicyNever && job.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("job restart policy %q", job.RestartPolicy)
	}

	// Both workloads read feature_store.yaml from the ConfigMap through
	// FEAST_FS_YAML_FILE_PATH, and the ConfigMap holds a valid configuration
	// whose ${VAR} references are all provided by the container environment.
	for _, c := range []struct {
		c    corev1.Container
		spec corev1.PodSpec
	}{{srv, pod}, {mat, job}} {
		e, ok := envVar(c.c, config.EnvFilePath)
		if !ok || e.Value != "/etc/feast/feature_store.yaml" {
			t.Fatalf("%s: %s = %+v", c.c.Name, config.EnvFilePath, e)
		}
		mounted := false
		for _, m := range c.c.VolumeMounts {
			for _, v := range c.spec.Volumes {
				if v.Name == m.Name && m.MountPath == "/etc/feast" && v.ConfigMap != nil && v.ConfigMap.Name == r.configMap.Name {
					mounted = true
				}
			}
		}
		if !mounted {
			t.Errorf("%s does not mount ConfigMap %s at /etc/feast", c.c.Name, r.configMap.Name)
		}
		checkFeatureStoreYAML(t, r.configMap, c.c)
	}
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:"[^"]*")?\}`)

// checkFeatureStoreYAML parses the ConfigMap's feature_store.yaml with
// feast's own config parser, resolving variables from what c's environment
// declares; a ${VAR} without default that c does not declare fails.
func checkFeatureStoreYAML(t *testing.T, cm *corev1.ConfigMap, c corev1.Container) *config.RepoConfig {
	t.Helper()
	data, ok := cm.Data["feature_store.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no feature_store.yaml", cm.Name)
	}
	declared := map[string]bool{}
	for _, e := range c.Env {
		declared[e.Name] = true
	}
	for _, m := range varRef.FindAllStringSubmatch(data, -1) {
		if m[2] == "" && !declared[m[1]] && len(c.EnvFrom) == 0 {
			t.Errorf("%s: feature_store.yaml references ${%s}, which the container environment does not declare", c.Name, m[1])
		}
	}
	lookup := func(name string) (string, bool) {
		if !declared[name] {
			return "", false
		}
		if name == "REGISTRY_URL" {
			return "postgresql://feast@db:5432/feast", true
		}
		return "x" + strings.ToLower(name), true
	}
	cfg, err := config.Parse("configmap/feature_store.yaml", "/feast/repo", []byte(data), lookup)
	if err != nil {
		t.Fatalf("%s: feature_store.yaml from the ConfigMap is not a valid configuration: %v\n%s", c.Name, err, data)
	}
	if cfg.Project == "" || cfg.Registry.Path == "" {
		t.Errorf("%s: parsed configuration %+v", c.Name, cfg)
	}
	return cfg
}

func TestChartDefaultValues(t *testing.T) {
	r := render(t, "")
	checkCommon(t, r)
	d := r.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 || r.hpa != nil {
		t.Errorf("default replicas %v, hpa %v", d.Spec.Replicas, r.hpa)
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "6566" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v", ann)
	}
	srv := container(t, d.Spec.Template.Spec, "feature-server")
	if _, ok := port(srv, "grpc"); ok || slices.Contains(srv.Args, "--grpc-port") || len(r.service.Spec.Ports) != 1 {
		t.Errorf("gRPC must be off by default: args %v ports %+v", srv.Args, r.service.Spec.Ports)
	}
	if r.serviceMonitor != nil || r.pdb != nil {
		t.Error("ServiceMonitor and PodDisruptionBudget must be off by default")
	}
	if got := r.cronJob.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"materialize-incremental", "now"}) {
		t.Errorf("default cronjob args %v", got)
	}
	if slices.Contains(srv.Args, "--ui") {
		t.Errorf("the UI must be off by default: args %v", srv.Args)
	}
	checkNoKubernetesAuth(t, r)

	// server.ui.enabled mounts the UI in the feature server.
	base, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r = renderValues(t, chartutil.CoalesceTables(map[string]any{"server": map[string]any{"ui": map[string]any{"enabled": true}}}, base.AsMap()))
	if srv := container(t, r.deployment.Spec.Template.Spec, "feature-server"); !slices.Contains(srv.Args, "--ui") || srv.Args[0] != "serve" {
		t.Errorf("server.ui.enabled: args %v, want feast serve ... --ui", srv.Args)
	}
}

func TestChartProductionValues(t *testing.T) {
	r := render(t, filepath.Join(chartDir, "ci", "production-values.yaml"))
	checkCommon(t, r)
	d := r.deployment
	if d.Spec.Replicas != nil {
		t.Errorf("with an HPA the Deployment must not set replicas (got %d)", *d.Spec.Replicas)
	}
	if r.hpa == nil || r.hpa.Spec.MinReplicas == nil || *r.hpa.Spec.MinReplicas != 3 || r.hpa.Spec.MaxReplicas != 20 ||
		r.hpa.Spec.ScaleTargetRef.Kind != "Deployment" || r.hpa.Spec.ScaleTargetRef.Name != d.Name {
		t.Errorf("hpa %+v", r.hpa)
	}
	if r.pdb == nil || r.pdb.Spec.MinAvailable == nil || r.pdb.Spec.MinAvailable.IntValue() != 2 {
		t.Errorf("pdb %+v", r.pdb)
	}
	srv := container(t, d.Spec.Template.Spec, "feature-server")
	gp, ok := port(srv, "grpc")
	if i := slices.Index(srv.Args, "--grpc-port"); !ok || gp.ContainerPort != 6567 || i < 0 || srv.Args[i+1] != "6567" {
		t.Errorf("grpc: port %+v args %v", gp, srv.Args)
	}
	if !slices.Contains(srv.Args, "--read-only") {
		t.Errorf("read-only server expected: %v", srv.Args)
	}
	if len(r.service.Spec.Ports) != 2 || r.service.Spec.Ports[1].Name != "grpc" || r.service.Spec.Ports[1].Port != 6567 {
		t.Errorf("service ports %+v", r.service.Spec.Ports)
	}
	if _, ok := d.Spec.Template.Annotations["prometheus.io/scrape"]; ok {
		t.Error("scrape annotations must be off when a ServiceMonitor is used")
	}
	sm := r.serviceMonitor
	if sm == nil || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" ||
		sm.Labels["release"] != "kube-prometheus-stack" {
		t.Fatalf("service monitor %+v", sm)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if r.service.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, the Service has %v", k, v, r.service.Labels)
		}
	}
	// Secrets come from existing Secrets as environment variables, in both workloads.
	mat := container(t, r.cronJob.Spec.JobTemplate.Spec.Template.Spec, "materialize")
	workloads := []corev1.Container{srv, mat}
	if r.stream == nil {
		t.Fatal("the production values enable feast stream; no stream Deployment rendered")
	}
	workloads = append(workloads, container(t, r.stream.Spec.Template.Spec, "stream"))
	for _, c := range workloads {
		for name, secret := range map[string]string{"REDIS_PASSWORD": "feast-redis", "PGPASSWORD": "feast-warehouse", "REGISTRY_PASSWORD": "feast-registry"} {
			e, ok := envVar(c, name)
			if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != "password" || e.Value != "" {
				t.Errorf("%s: %s = %+v, want secretKeyRef %s/password", c.Name, name, e, secret)
			}
		}
	}
	fsYAML := r.configMap.Data["feature_store.yaml"]
	if !strings.Contains(fsYAML, "password=${REDIS_PASSWORD}") || strings.Contains(fsYAML, "xredis_password") {
		t.Errorf("feature_store.yaml must keep ${REDIS_PASSWORD} for feast to substitute:\n%s", fsYAML)
	}
	if !slices.Equal(mat.Args, []string{"materialize-incremental", "--views", "driver_hourly_stats", "--views", "customer_profile", "now"}) {
		t.Errorf("cronjob args %v", mat.Args)
	}
	if r.cronJob.Spec.TimeZone == nil || *r.cronJob.Spec.TimeZone != "Etc/UTC" {
		t.Errorf("cronjob time zone %v", r.cronJob.Spec.TimeZone)
	}
	if r.serviceAccount == nil || r.serviceAccount.Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Errorf("service account %+v", r.serviceAccount)
	}
	checkNoKubernetesAuth(t, r)
}

func TestChartDisabledParts(t *testing.T) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{"server": map[string]any{"enabled": false}, "materialize": map[string]any{"enabled": false}, "serviceAccount": map[string]any{"create": false}}
	rv, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: "feast", Namespace: "ml"}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Engine{Strict: true}.Render(chrt, rv)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for name, f := range files {
		if strings.HasSuffix(name, ".yaml") && strings.Contains(f, "kind:") {
			kinds = append(kinds, filepath.Base(name))
		}
	}
	if !slices.Equal(kinds, []string{"configmap.yaml"}) {
		t.Errorf("with server and materialize disabled, rendered %v", kinds)
	}
}

// TestChartLint runs Helm's own chart linter (as `helm lint --strict` does)
// with both values files.
func TestChartLint(t *testing.T) {
	ciValues, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(ciValues) < 2 {
		t.Fatalf("ci values files %v: %v", ciValues, err)
	}
	for _, vf := range append([]string{""}, ciValues...) {
		vals := map[string]any{}
		if vf != "" {
			v, err := chartutil.ReadValuesFile(vf)
			if err != nil {
				t.Fatal(err)
			}
			vals = v
		}
		linter := lint.All(chartDir, vals, "ml", true)
		var buf bytes.Buffer
		for _, m := range linter.Messages {
			fmt.Fprintln(&buf, m.Error())
		}
		if linter.HighestSeverity >= support.WarningSev {
			t.Errorf("helm lint (values %q):\n%s", vf, buf.String())
		} else if buf.Len() > 0 {
			t.Logf("helm lint (values %q):\n%s", vf, buf.String())
		}
	}
}

// checkNoKubernetesAuth asserts a rendering with auth.kubernetes off: no
// RBAC objects, no token in the server's pods, no auth in feature_store.yaml.
func checkNoKubernetesAuth(t *testing.T, r *rendered) {
	t.Helper()
	if n := len(r.clusterRoles) + len(r.clusterRoleBindings) + len(r.roles) + len(r.roleBindings); n != 0 {
		t.Errorf("auth.kubernetes off rendered %d RBAC objects: %v", n, r.kinds)
	}
	pod := r.deployment.Spec.Template.Spec
	if a := pod.AutomountServiceAccountToken; a != nil && *a {
		t.Error("auth.kubernetes off mounts the service-account token in the server's pods")
	}
	if cfg := checkFeatureStoreYAML(t, r.configMap, container(t, pod, "feature-server")); cfg.Auth.Type != "" {
		t.Errorf("auth.kubernetes off: auth.type %q", cfg.Auth.Type)
	}
}

// authDelegatorRules are the rules of Kubernetes' built-in
// system:auth-delegator ClusterRole, should a rendering bind it.
var authDelegatorRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
}

// can evaluates the rendered RBAC as the API server's authorizer would:
// may ServiceAccount saNS/sa do verb on group/resource in namespace ns
// ("" for a cluster-scoped resource)?
func (r *rendered) can(saNS, sa, verb, group, resource, ns string) bool {
	bound := func(subjects []rbacv1.Subject) bool {
		for _, s := range subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == sa && s.Namespace == saNS {
				return true
			}
		}
		return false
	}
	allows := func(rules []rbacv1.PolicyRule) bool {
		for _, rule := range rules {
			has := func(l []string, v string) bool { return slices.Contains(l, v) || slices.Contains(l, "*") }
			if has(rule.APIGroups, group) && has(rule.Resources, resource) && has(rule.Verbs, verb) {
				return true
			}
		}
		return false
	}
	clusterRole := func(name string) []rbacv1.PolicyRule {
		if name == "system:auth-delegator" {
			return authDelegatorRules
		}
		for _, cr := range r.clusterRoles {
			if cr.Name == name {
				return cr.Rules
			}
		}
		return nil
	}
	for _, b := range r.clusterRoleBindings {
		if bound(b.Subjects) && b.RoleRef.Kind == "ClusterRole" && b.RoleRef.APIGroup == rbacv1.GroupName && allows(clusterRole(b.RoleRef.Name)) {
			return true
		}
	}
	if ns == "" {
		return false
	}
	for _, b := range r.roleBindings {
		if b.Namespace != ns || !bound(b.Subjects) || b.RoleRef.APIGroup != rbacv1.GroupName {
			continue
		}
		switch b.RoleRef.Kind {
		case "ClusterRole":
			if allows(clusterRole(b.RoleRef.Name)) {
				return true
			}
		case "Role":
			for _, role := range r.roles {
				if role.Name == b.RoleRef.Name && role.Namespace == ns && allows(role.Rules) {
					return true
				}
			}
		}
	}
	return false
}

// checkServerAuthRBAC asserts that ServiceAccount ml/sa may do what
// auth/kubernetes does, and no more: create TokenReviews, read the
// RoleBindings of the release namespace and, when clusterRBs, read
// ClusterRoleBindings.
func checkServerAuthRBAC(t *testing.T, r *rendered, sa string, clusterRBs bool) {
	t.Helper()
	for _, c := range []struct {
		verb, group, resource, ns string
		want                      bool
	}{
		{"create", "authentication.k8s.io", "tokenreviews", "", true},
		{"list", "rbac.authorization.k8s.io", "rolebindings", "ml", true},
		{"get", "rbac.authorization.k8s.io", "rolebindings", "ml", true},
		{"watch", "rbac.authorization.k8s.io", "rolebindings", "ml", true},
		{"list", "rbac.authorization.k8s.io", "clusterrolebindings", "", clusterRBs},
		// Never more than reading bindings.
		{"list", "rbac.authorization.k8s.io", "rolebindings", "kube-system", false},
		{"create", "rbac.authorization.k8s.io", "rolebindings", "ml", false},
		{"update", "rbac.authorization.k8s.io", "rolebindings", "ml", false},
		{"list", "", "secrets", "ml", false},
		{"create", "authorization.k8s.io", "subjectaccessreviews", "", false},
	} {
		if got := r.can("ml", sa, c.verb, c.group, c.resource, c.ns); got != c.want {
			t.Errorf("ServiceAccount ml/%s may %s %s.%s in %q: %v, want %v", sa, c.verb, c.resource, c.group, c.ns, got, c.want)
		}
	}
	// Cluster-scoped names carry the namespace: two releases named alike
	// in two namespaces do not collide.
	for _, b := range r.clusterRoleBindings {
		if !strings.Contains(b.Name, "ml") {
			t.Errorf("ClusterRoleBinding %s does not name the release namespace", b.Name)
		}
	}
}

func TestChartKubernetesAuth(t *testing.T) {
	values := filepath.Join(chartDir, "ci", "kubernetes-auth-values.yaml")
	r := render(t, values)
	checkCommon(t, r)
	if r.serviceAccount == nil || r.serviceAccount.Name != "feast-server" {
		t.Fatalf("service account %+v", r.serviceAccount)
	}
	pod := r.deployment.Spec.Template.Spec
	if pod.ServiceAccountName != "feast-server" || pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Errorf("server pod: serviceAccountName %q automountServiceAccountToken %v", pod.ServiceAccountName, pod.AutomountServiceAccountToken)
	}
	checkServerAuthRBAC(t, r, "feast-server", true)
	// The chart sets auth.type and keeps the other auth keys of featureStore.
	cfg := checkFeatureStoreYAML(t, r.configMap, container(t, pod, "feature-server"))
	if cfg.Auth.Type != "kubernetes" || cfg.Auth.KubernetesCacheTTL() != time.Minute {
		t.Errorf("feature_store.yaml auth %+v", cfg.Auth)
	}

	base, err := chartutil.ReadValuesFile(values)
	if err != nil {
		t.Fatal(err)
	}
	with := func(overrides map[string]any) map[string]any {
		return chartutil.CoalesceTables(overrides, base.AsMap())
	}

	// Only service-account clients: no cluster-wide read of bindings.
	r = renderValues(t, with(map[string]any{"auth": map[string]any{"kubernetes": map[string]any{"readClusterRoleBindings": false}}}))
	checkServerAuthRBAC(t, r, "feast-server", false)

	// An existing ServiceAccount: bound, not created.
	r = renderValues(t, with(map[string]any{"serviceAccount": map[string]any{"create": false, "name": "platform-feast"}}))
	if r.serviceAccount != nil || r.deployment.Spec.Template.Spec.ServiceAccountName != "platform-feast" {
		t.Errorf("existing service account: created %v, pod runs as %q", r.serviceAccount, r.deployment.Spec.Template.Spec.ServiceAccountName)
	}
	checkServerAuthRBAC(t, r, "platform-feast", true)

	// rbac.create false: the administrators grant it; nothing rendered,
	// the token is still mounted.
	r = renderValues(t, with(map[string]any{"rbac": map[string]any{"create": false}}))
	if n := len(r.clusterRoles) + len(r.clusterRoleBindings) + len(r.roles) + len(r.roleBindings); n != 0 {
		t.Errorf("rbac.create false rendered %d RBAC objects", n)
	}
	if a := r.deployment.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
		t.Error("rbac.create false: the server's token must still be mounted")
	}

	// Another auth type in featureStore contradicts the flag.
	_, err = renderFiles(t, with(map[string]any{"featureStore": map[string]any{"auth": map[string]any{"type": "oidc"}}}))
	if err == nil || !strings.Contains(err.Error(), "featureStore.auth.type") {
		t.Errorf("auth.type oidc with auth.kubernetes.enabled: %v", err)
	}
}

// TestChartStream renders the feast stream Deployment: its flags from the
// values, the probes on /health and /ready of --metrics-addr, its own
// selector (the Service and PodDisruptionBudget select the feature server
// only), and the same configuration, secrets and service account as the
// other workloads.
func TestChartStream(t *testing.T) {
	if r := render(t, ""); r.stream != nil {
		t.Fatal("stream Deployment rendered with stream.enabled false (the default)")
	}
	r := renderValues(t, map[string]any{"stream": map[string]any{
		"enabled": true, "replicas": 3, "views": []any{"driver_stats_stream"}, "group": "feast-consumers",
		"brokers": []any{"kafka-0:9092", "kafka-1:9092"}, "deadLetterTopic": "feast-dlq", "metricsPort": 9100,
	}})
	d := r.stream
	if d == nil {
		t.Fatalf("no stream Deployment; rendered %v", r.kinds)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas %v, want 3", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	c := container(t, pod, "stream")
	want := []string{"stream", "--metrics-addr", ":9100", "--views", "driver_stats_stream", "--group", "feast-consumers",
		"--brokers", "kafka-0:9092,kafka-1:9092", "--dead-letter-topic", "feast-dlq", "--batch-size", "500",
		"--flush-interval", "1s", "--log-level", "info"}
	if !slices.Equal(c.Args, want) || len(c.Command) != 0 {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	if p, ok := port(c, "metrics"); !ok || p.ContainerPort != 9100 {
		t.Errorf("metrics port %+v", p)
	}
	for name, probe := range map[string]*corev1.Probe{"/health": c.LivenessProbe, "/ready": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.StrVal != "metrics" {
			t.Errorf("probe for %s: %+v", name, probe)
		}
	}
	if d.Spec.Template.Annotations["prometheus.io/port"] != "9100" || d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Errorf("pod annotations %v", d.Spec.Template.Annotations)
	}
	sel := d.Spec.Selector.MatchLabels
	if sel["app.kubernetes.io/component"] != "stream" || d.Spec.Template.Labels["app.kubernetes.io/component"] != "stream" {
		t.Errorf("selector %v, pod labels %v", sel, d.Spec.Template.Labels)
	}
	if r.service.Spec.Selector["app.kubernetes.io/component"] != "feature-server" {
		t.Errorf("the Service selects %v: it would send requests to the stream pods", r.service.Spec.Selector)
	}
	if pod.ServiceAccountName != r.deployment.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("service account %q, the server's %q", pod.ServiceAccountName, r.deployment.Spec.Template.Spec.ServiceAccountName)
	}
	srv := container(t, r.deployment.Spec.Template.Spec, "feature-server")
	if !slices.EqualFunc(c.VolumeMounts, srv.VolumeMounts, func(a, b corev1.VolumeMount) bool { return a.Name == b.Name && a.MountPath == b.MountPath }) || len(c.VolumeMounts) == 0 {
		t.Errorf("volume mounts %v, the server's %v", c.VolumeMounts, srv.VolumeMounts)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 15 {
		t.Errorf("terminationGracePeriodSeconds %v: SIGTERM's flush and commit take up to 10s", pod.TerminationGracePeriodSeconds)
	}
	if r.podMonitor != nil {
		t.Errorf("PodMonitor rendered without metrics.serviceMonitor.enabled")
	}
	// A large batch size is an integer flag, not 1e+06.
	r = renderValues(t, map[string]any{"stream": map[string]any{"enabled": true, "batchSize": 1000000},
		"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}})
	if c := container(t, r.stream.Spec.Template.Spec, "stream"); !slices.Contains(c.Args, "1000000") {
		t.Errorf("args %q, want --batch-size 1000000", c.Args)
	}
	// With the operator, a PodMonitor scrapes the stream pods.
	pm := r.podMonitor
	if pm == nil || len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port != "metrics" || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Fatalf("pod monitor %+v", pm)
	}
	for k, v := range pm.Spec.Selector.MatchLabels {
		if r.stream.Spec.Template.Labels[k] != v {
			t.Errorf("PodMonitor selects %s=%s, the stream pods have %v", k, v, r.stream.Spec.Template.Labels)
		}
	}
	// Only the stream: the server and materialization off.
	r = renderValues(t, map[string]any{"server": map[string]any{"enabled": false}, "materialize": map[string]any{"enabled": false},
		"stream": map[string]any{"enabled": true}})
	if r.stream == nil || r.deployment != nil {
		t.Errorf("stream only: rendered %v", r.kinds)
	}
	if c := container(t, r.stream.Spec.Template.Spec, "stream"); !slices.Equal(c.Args[:3], []string{"stream", "--metrics-addr", ":8000"}) {
		t.Errorf("default args %q", c.Args)
	}
}
