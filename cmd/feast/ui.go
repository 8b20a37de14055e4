package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/feastgo/feast/server"
	"github.com/feastgo/feast/ui"
)

// signInMode is the UI login page's mode for an auth type: the types that
// take bearer tokens, else "".
func signInMode(authType string) string {
	switch authType {
	case "token", "oidc", "kubernetes":
		return authType
	}
	return ""
}

func newUICmd(g *globals) *cobra.Command {
	var (
		host, rootPath string
		port           int
		registryTTL    int
	)
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web catalog of the feature store (lists, search, lineage, freshness, live lookup)",
		Long: `Serves a web catalog of the repository's registry: data sources, entities, feature
views, on-demand views, feature services, features and permissions (filterable, paginated
and searchable), detail pages with schemas and YAML definitions, per-view freshness
against ttl, a lineage graph and a live online lookup. Everything is in the binary; it
works without internet.

The registry is refreshed in the background like the feature server's. The auth section
of feature_store.yaml applies as in the feature server (token, oidc or kubernetes: pages
ask for a bearer token on a sign-in page, or take the Authorization header an
authenticating proxy adds; with oidc and kubernetes each user sees only what their
permissions allow to DESCRIBE). With no_auth anyone who can reach it sees everything:
keep it on 127.0.0.1 (the default) or a trusted network. "feast serve --ui" serves the
same pages at /ui/ of the feature server.

  feast ui                                  # http://127.0.0.1:8888/
  feast ui --host 0.0.0.0 --port 8888 --root-path /feast   # behind a reverse proxy at /feast/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rootPath != "" && !strings.HasPrefix(rootPath, "/") {
				return fmt.Errorf("--root-path %q: start it with a slash, as in /feast", rootPath)
			}
			ctx := cmd.Context()
			fs, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer fs.Close()
			if registryTTL != 0 {
				fs.Registry().SetTTL(time.Duration(max(registryTTL, 0)) * time.Second)
			}
			// The server's authentication and permissions (feature_store.yaml's
			// auth section) guard the pages; its endpoints are not served.
			guard, err := server.New(fs, server.Options{NoAccessLog: true})
			if err != nil {
				return err
			}
			defer guard.Close()
			mode := ""
			if guard.AuthEnabled() {
				mode = signInMode(fs.Config().Auth.Type)
			}
			h, err := ui.New(fs, ui.Options{RootPath: rootPath, SignIn: mode})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return fmt.Errorf("listen: %w (choose another --port)", err)
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go h.Run(ctx)
			srv := &http.Server{Handler: guard.Guard(h), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
			fmt.Fprintf(g.stderr, "Feast UI listening on http://%s%s/\n", ln.Addr(), strings.TrimRight(rootPath, "/"))
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	// -h is --host, as in Feast; help keeps only its long form.
	f.Bool("help", false, "help for ui")
	f.StringVarP(&host, "host", "h", "127.0.0.1", "address to listen on (0.0.0.0 for every interface; with no_auth anyone who reaches it sees everything)")
	f.IntVarP(&port, "port", "p", 8888, "HTTP port")
	f.StringVar(&rootPath, "root-path", "", "URL prefix of every link and asset, for a reverse proxy (e.g. /feast)")
	f.IntVarP(&registryTTL, "registry_ttl_sec", "r", 0, "registry refresh interval in seconds (0 = registry cache_ttl_seconds)")
	return cmd
}
