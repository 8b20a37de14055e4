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

	"github.com/feastgo/feast/ui"
)

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

The registry is refreshed in the background like the feature server's. feast ui has no
authentication of its own: run it on a trusted network, or mount it in the feature
server with "feast serve --ui" (served at /ui/ behind the server's auth and permissions).

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
			h, err := ui.New(fs, ui.Options{RootPath: rootPath})
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
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
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
	f.StringVarP(&host, "host", "h", "127.0.0.1", "address to listen on (0.0.0.0 for every interface; there is no authentication)")
	f.IntVarP(&port, "port", "p", 8888, "HTTP port")
	f.StringVar(&rootPath, "root-path", "", "URL prefix of every link and asset, for a reverse proxy (e.g. /feast)")
	f.IntVarP(&registryTTL, "registry_ttl_sec", "r", 0, "registry refresh interval in seconds (0 = registry cache_ttl_seconds)")
	return cmd
}
