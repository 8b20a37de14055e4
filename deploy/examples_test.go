package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestAirflowDAGCompiles(t *testing.T) {
	path := filepath.Join("examples", "airflow", "feast_materialize_dag.py")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BashOperator(", "feast materialize-incremental ", "max_active_runs=1", "feast status --exit-code"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("%s does not contain %q", path, want)
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the DAG's Python syntax was not checked (apt-get install python3)")
	}
	// py_compile checks syntax without importing airflow; write the byte
	// code to a temporary file, not next to the source.
	cfile := filepath.Join(t.TempDir(), "dag.pyc")
	out, err := exec.Command(py, "-c", "import py_compile,sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)", path, cfile).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 py_compile %s: %v\n%s", path, err, out)
	}
}

func TestCrontab(t *testing.T) {
	f, err := os.Open(filepath.Join("examples", "cron", "crontab"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var jobs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if strings.Contains(fields[0], "=") {
			continue // an environment line
		}
		if len(fields) < 6 {
			t.Fatalf("crontab line %q: want 5 schedule fields and a command", line)
		}
		for _, f := range fields[:5] {
			if strings.Trim(f, "0123456789*/,-") != "" {
				t.Errorf("schedule field %q in %q", f, line)
			}
		}
		cmd := strings.Join(fields[5:], " ")
		// cron turns an unescaped % into a newline.
		if strings.Contains(strings.ReplaceAll(cmd, `\%`, ""), "%") {
			t.Errorf("unescaped %% in %q", cmd)
		}
		jobs = append(jobs, cmd)
	}
	if !slices.ContainsFunc(jobs, func(c string) bool { return strings.Contains(c, "feast materialize-incremental now") }) {
		t.Errorf("no `feast materialize-incremental now` job in %q", jobs)
	}
}

// workflow is the part of a GitHub Actions workflow the test checks.
type workflow struct {
	Name string `yaml:"name"`
	On   struct {
		PullRequest *struct{} `yaml:"pull_request"`
		Push        *struct {
			Branches []string `yaml:"branches"`
		} `yaml:"push"`
	} `yaml:"on"`
	Jobs map[string]struct {
		If          string            `yaml:"if"`
		Needs       any               `yaml:"needs"`
		Environment any               `yaml:"environment"`
		Permissions map[string]string `yaml:"permissions"`
		Env         map[string]string `yaml:"env"`
		Steps       []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func TestGitHubActionsWorkflow(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("examples", "github-actions", "feast.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("feast.yml: %v", err)
	}
	if wf.On.PullRequest == nil || wf.On.Push == nil || !slices.Equal(wf.On.Push.Branches, []string{"main"}) {
		t.Fatalf("triggers: %+v", wf.On)
	}
	runs := func(job string) string {
		var b strings.Builder
		for _, s := range wf.Jobs[job].Steps {
			b.WriteString(s.Run + "\n")
		}
		return b.String()
	}
	plan, ok := wf.Jobs["plan"]
	if !ok || !strings.Contains(plan.If, "pull_request") || plan.Environment != "staging" || plan.Permissions["pull-requests"] != "write" {
		t.Fatalf("plan job: %+v", plan)
	}
	if !strings.Contains(runs("plan"), "feast plan") || strings.Contains(runs("plan"), "feast apply") {
		t.Errorf("plan job must plan and never apply:\n%s", runs("plan"))
	}
	commented := false
	for _, s := range plan.Steps {
		if strings.HasPrefix(s.Uses, "actions/github-script@") && strings.Contains(s.With["script"], "createComment") && strings.Contains(s.With["script"], "plan.txt") {
			commented = true
		}
	}
	if !commented {
		t.Error("the plan job does not post plan.txt as a pull request comment")
	}

	staging, prod := wf.Jobs["apply-staging"], wf.Jobs["apply-production"]
	if staging.Environment != "staging" || prod.Environment != "production" {
		t.Errorf("environments: staging %v production %v", staging.Environment, prod.Environment)
	}
	if !strings.Contains(staging.If, "push") || prod.Needs != "apply-staging" {
		t.Errorf("production must follow staging on push: if %q needs %v", staging.If, prod.Needs)
	}
	for _, job := range []string{"apply-staging", "apply-production"} {
		if !strings.Contains(runs(job), "feast apply") {
			t.Errorf("%s does not run feast apply", job)
		}
	}
	// The environment selects the stores through the variables feature_store.yaml reads.
	for name, job := range wf.Jobs {
		for _, v := range []string{"REGISTRY_URL", "REDIS_CONNECTION_STRING", "REDIS_PASSWORD"} {
			if !strings.Contains(job.Env[v], "vars."+v) && !strings.Contains(job.Env[v], "secrets."+v) {
				t.Errorf("job %s: env %s = %q, want it from the GitHub environment", name, v, job.Env[v])
			}
		}
	}
}
