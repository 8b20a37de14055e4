package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction after line continuations are
// joined and comments removed.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, COPY, ...
	Args string // the rest of the line, continuations joined
	Line int
}

// stage is one FROM and the instructions that follow it.
type stage struct {
	Image, Name string
	Insts       []instruction
}

// parseDockerfile is a small parser for the subset of the Dockerfile
// syntax (the default backslash escape) that the tests need: parser
// directives and comments are skipped, continuation lines are joined, and
// ARGs declared before the first FROM are substituted into FROM lines.
func parseDockerfile(t *testing.T, path string) (globalArgs map[string]string, stages []stage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		insts []instruction
		cur   strings.Builder
		start int
	)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue // comments may sit inside continuations too
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		insts = append(insts, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: the file ends inside a line continuation", path)
	}
	globalArgs = map[string]string{}
	argRef := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	for _, in := range insts {
		switch {
		case in.Cmd == "ARG" && len(stages) == 0:
			k, v, _ := strings.Cut(in.Args, "=")
			globalArgs[k] = strings.Trim(v, `"`)
		case in.Cmd == "FROM":
			fields := strings.Fields(in.Args)
			fields = slices.DeleteFunc(fields, func(s string) bool { return strings.HasPrefix(s, "--platform=") })
			img := argRef.ReplaceAllStringFunc(fields[0], func(m string) string {
				return globalArgs[argRef.FindStringSubmatch(m)[1]]
			})
			s := stage{Image: img}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.Name = fields[2]
			} else if len(fields) != 1 {
				t.Fatalf("line %d: FROM %s", in.Line, in.Args)
			}
			stages = append(stages, s)
		case len(stages) == 0:
			t.Fatalf("line %d: %s before the first FROM", in.Line, in.Cmd)
		default:
			stages[len(stages)-1].Insts = append(stages[len(stages)-1].Insts, in)
		}
	}
	return globalArgs, stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Insts {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm decodes the JSON (exec) form of ENTRYPOINT/CMD; the shell form
// would run through /bin/sh, which the runtime image does not have.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.Args), &argv); err != nil {
		t.Fatalf("line %d: %s %s is not in exec (JSON array) form: %v", in.Line, in.Cmd, in.Args, err)
	}
	return argv
}

func TestDockerfile(t *testing.T) {
	_, stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// Builder: golang 1.26 with CGO (DuckDB), building ./cmd/feast.
	if !strings.HasPrefix(build.Image, "golang:1.26") || build.Name == "" {
		t.Errorf("builder stage: FROM %s AS %q", build.Image, build.Name)
	}
	var buildCmd string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.Args, "go build") {
			buildCmd = in.Args
		}
	}
	if !strings.Contains(buildCmd, "CGO_ENABLED=1") || !strings.Contains(buildCmd, "./cmd/feast") || !strings.Contains(buildCmd, "-o /out/feast") {
		t.Errorf("build command: %q", buildCmd)
	}
	for _, in := range build.all("COPY") {
		for _, src := range strings.Fields(in.Args) {
			if src == "go.mod" || src == "go.sum" {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("COPY %s: %v (the build context is the repository root)", src, err)
				}
			}
		}
	}

	// Runtime: small, glibc-based (CGO), not a Go toolchain image.
	if strings.HasPrefix(final.Image, "golang") || !(strings.Contains(final.Image, "distroless") || strings.Contains(final.Image, "slim")) {
		t.Errorf("runtime image %s is not a small runtime image", final.Image)
	}
	if strings.Contains(final.Image, "static") || strings.Contains(final.Image, "alpine") {
		t.Errorf("runtime image %s lacks glibc/libstdc++ for the CGO (DuckDB) binary", final.Image)
	}
	copied := false
	for _, in := range final.all("COPY") {
		if strings.Contains(in.Args, "--from="+build.Name) && strings.Contains(in.Args, "/out/feast /usr/local/bin/feast") {
			copied = true
		}
	}
	if !copied {
		t.Error("the runtime stage does not copy the feast binary from the builder")
	}

	// Non-root: the last USER is neither root nor uid 0.
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("no USER in the runtime stage: the image would run as whatever the base sets")
	}
	user, _, _ := strings.Cut(users[len(users)-1].Args, ":")
	if user == "root" || user == "0" || user == "" {
		t.Errorf("runtime USER %q is root", users[len(users)-1].Args)
	}

	// ENTRYPOINT feast, default CMD serve --host 0.0.0.0: `docker run image`
	// serves, `docker run image apply` runs any other subcommand.
	eps, cmds := final.all("ENTRYPOINT"), final.all("CMD")
	if len(eps) != 1 || len(cmds) != 1 {
		t.Fatalf("want one ENTRYPOINT and one CMD, got %d and %d", len(eps), len(cmds))
	}
	if ep := execForm(t, eps[0]); len(ep) != 1 || filepath.Base(ep[0]) != "feast" {
		t.Errorf("ENTRYPOINT %v, want [/usr/local/bin/feast]", ep)
	}
	if cmd := execForm(t, cmds[0]); !slices.Equal(cmd, []string{"serve", "--host", "0.0.0.0"}) {
		t.Errorf("CMD %v, want [serve --host 0.0.0.0]", cmd)
	}
	exposed := false
	for _, in := range final.all("EXPOSE") {
		exposed = exposed || slices.Contains(strings.Fields(in.Args), "6566")
	}
	if !exposed {
		t.Error("EXPOSE 6566 (the HTTP port) is missing")
	}
}

func TestParseDockerfileRejectsShellFormEntrypoint(t *testing.T) {
	// The checker itself must fail on the forms it guards against.
	dir := t.TempDir()
	path := filepath.Join(dir, "Dockerfile")
	os.WriteFile(path, []byte("ARG V=1\nFROM golang:${V} AS b\nRUN echo \\\n  hi\nFROM scratch\nENTRYPOINT feast serve\n"), 0o644)
	_, stages := parseDockerfile(t, path)
	if len(stages) != 2 || stages[0].Image != "golang:1" || stages[0].Insts[0].Args != "echo  hi" {
		t.Fatalf("parsed %+v", stages)
	}
	var argv []string
	if err := json.Unmarshal([]byte(stages[1].all("ENTRYPOINT")[0].Args), &argv); err == nil {
		t.Fatal("shell-form ENTRYPOINT decoded as exec form")
	}
}
