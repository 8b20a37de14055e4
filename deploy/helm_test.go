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

// rendered holds the decoded manifests of one release.
type rendered struct {
	configMap      *corev1.ConfigMap
	deployment     *appsv1.Deployment
	service        *corev1.Service
	serviceAccount *corev1.ServiceAccount
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	pdb            *policyv1.PodDisruptionBudget
	cronJob        *batchv1.CronJob
	serviceMonitor *serviceMonitor
	kinds          []string
}

// apiVersions are the group versions the chart may use, by kind.
var apiVersions = map[string]string{
	"ConfigMap": "v1", "Service": "v1", "ServiceAccount": "v1", "Deployment": "apps/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
	"CronJob": "batch/v1", "ServiceMonitor": "monitoring.coreos.com/v1",
}

// render renders the chart with Helm's engine (strict: a template reading
// a missing value fails) and decodes every manifest strictly: unknown or
// misplaced fields are errors.
func render(t *testing.T, valuesFile string) *rendered {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		v, err := chartutil.ReadValuesFile(valuesFile)
		if err != nil {
			t.Fatal(err)
		}
		vals = v
	}
	rv, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: "feast", Namespace: "ml", Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Engine{Strict: true}.Render(chrt, rv)
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
		r.deployment = &appsv1.Deployment{}
		strict(r.deployment)
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
func checkFeatureStoreYAML(t *testing.T, cm *corev1.ConfigMap, c corev1.Container) {
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
	for _, c := range []corev1.Container{srv, mat} {
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
	for _, vf := range []string{"", filepath.Join(chartDir, "ci", "production-values.yaml")} {
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
