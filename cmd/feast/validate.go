package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/model"
)

func newValidateCmd(g *globals) *cobra.Command {
	var service, reference string
	var noProfileCache bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check feature_store.yaml and the YAML definitions without touching the registry",
		Long: `Validates the repository offline: feature_store.yaml (after ${VAR} substitution), every
YAML definition (fields, types, references between objects, on-demand expressions)
and that the local files of file sources exist. Nothing is read from or written to
the registry or the stores, so it suits a pre-commit hook or a CI step before plan.

Feast's "feast validate" is different: it validates logged features of a feature
service against a saved validation reference (Great Expectations profiles). That
needs feature logging and validation references, which this project does not
support; its flags (-f/--feature-service, -r/--reference, START_TS END_TS) are
recognized and refused with this explanation.

  feast validate`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if service != "" || reference != "" || noProfileCache || len(args) > 0 {
				return errors.New("validating logged features against a validation reference (Feast's feast validate -f SERVICE -r REFERENCE START_TS END_TS) is not supported: feature logging and validation references are not implemented. " +
					"feast validate without arguments checks feature_store.yaml and the definitions")
			}
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			repo, err := fs.LoadDefinitions()
			if err != nil {
				return err
			}
			if repo.Empty() && len(repo.PythonFiles) > 0 {
				return fmt.Errorf("the repository holds only Feast Python definition files (%s) and no YAML definitions: run feast import to convert them", strings.Join(repo.PythonFiles, ", "))
			}
			var problems []string
			seen := map[string]bool{}
			for _, ds := range repo.DataSources {
				// A push source's batch source is checked once.
				if p := missingSourcePath(fs, ds); p != "" && !seen[p] {
					seen[p] = true
					problems = append(problems, p)
				}
			}
			for _, fv := range repo.FeatureViews {
				for _, ds := range []*model.DataSource{fv.Source, fv.StreamSource} {
					if ds != nil && ds.Name == "" {
						if p := missingSourcePath(fs, ds); p != "" {
							problems = append(problems, fmt.Sprintf("feature view %s: %s", fv.Name, p))
						}
					}
				}
			}
			if len(problems) > 0 {
				return fmt.Errorf("%d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
			}
			for _, f := range repo.PythonFiles {
				fmt.Fprintf(g.stderr, "warning: %s is a Feast Python definition file; it is not read (see feast import)\n", f)
			}
			fmt.Fprintf(g.stdout, "Definitions are valid: %d entities, %d data sources, %d feature views, %d on demand feature views, %d feature services in %d file(s).\n",
				len(repo.Entities), len(repo.DataSources), len(repo.FeatureViews), len(repo.OnDemandViews), len(repo.FeatureServices), len(repo.Files))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&service, "feature-service", "f", "", "Feast's logged-feature validation: not supported (refused)")
	f.StringVarP(&reference, "reference", "r", "", "Feast's logged-feature validation: not supported (refused)")
	f.BoolVar(&noProfileCache, "no-profile-cache", false, "Feast's logged-feature validation: not supported (refused)")
	// -f here is Feast's --feature-service; the global -f still works
	// before the command name.
	f.StringVar(&g.yamlPath, "feature-store-yaml", g.yamlPath, "path to feature_store.yaml (-f before the command name)")
	return cmd
}

// missingSourcePath describes a file source (or the batch source of a push
// source) whose local path matches no file, or returns "".
func missingSourcePath(fs *feast.FeatureStore, ds *model.DataSource) string {
	if ds.Kind == model.SourcePush && ds.BatchSource != nil {
		ds = ds.BatchSource
	}
	if ds.Kind != model.SourceFile || ds.Path == "" || strings.Contains(ds.Path, "://") {
		return ""
	}
	p := fs.Config().ResolvePath(ds.Path)
	if matches, err := filepath.Glob(p); err == nil && len(matches) > 0 {
		return ""
	}
	name := ds.Name
	if name == "" {
		name = "(inline)"
	}
	return fmt.Sprintf("data source %s: path %s matches no file (resolved to %s)", name, ds.Path, p)
}

func newEndpointCmd(g *globals) *cobra.Command {
	var host string
	var port int
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Print the endpoint of a running feature server",
		Long: `Prints "Feature server endpoint: URL" when a feature server of this repository answers
at --host/--port (the defaults of feast serve: 127.0.0.1:6566), and "There is no
active feature server." otherwise; both end successfully, as in Feast.

Feast asks its provider for a deployed server (only its AWS Lambda deployment has
one) and logs the answer at INFO level. Nothing here deploys a server, so this
checks GET /health of the address instead, and prints to stdout.

  feast endpoint
  feast endpoint --host 10.0.0.5 --port 8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := g.open(cmd.Context()); err != nil {
				return err
			}
			url := "http://" + net.JoinHostPort(host, strconv.Itoa(port))
			if serverAnswers(cmd.Context(), url) {
				fmt.Fprintf(g.stdout, "Feature server endpoint: %s\n", url)
			} else {
				fmt.Fprintln(g.stdout, "There is no active feature server.")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&host, "host", "127.0.0.1", "address feast serve listens on")
	f.IntVarP(&port, "port", "p", 6566, "HTTP port feast serve listens on")
	return cmd
}

// serverAnswers reports whether GET url/health answers 200 within a second.
func serverAnswers(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
