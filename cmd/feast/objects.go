package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/internal/redact"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// protoToPlain converts a message to plain JSON-like values (camelCase keys,
// as Feast's MessageToDict).
func protoToPlain(m proto.Message) (any, error) {
	data, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func newRegistryDumpCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "registry-dump",
		Short: "Print the project's registry contents as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			r, err := fs.Registry().Store().Load(cmd.Context(), fs.Project())
			if err != nil {
				return err
			}
			out := map[string][]any{}
			keyFor := map[registry.Kind]string{
				registry.KindDataSource: "dataSources", registry.KindEntity: "entities", registry.KindFeatureView: "featureViews",
				registry.KindStreamView: "streamFeatureViews", registry.KindOnDemandView: "onDemandFeatureViews", registry.KindFeatureService: "featureServices",
			}
			objs := registry.Objects(r, fs.Project())
			sort.SliceStable(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
			for _, o := range objs {
				v, err := protoToPlain(o.Msg)
				if err != nil {
					return err
				}
				out[keyFor[o.Kind]] = append(out[keyFor[o.Kind]], v)
			}
			//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
			for _, m := range r.ProjectMetadata {
				if m.GetProject() == fs.Project() {
					v, _ := protoToPlain(m)
					out["projectMetadata"] = append(out["projectMetadata"], v)
				}
			}
			for _, p := range r.Projects {
				if p.GetSpec().GetName() == fs.Project() {
					v, _ := protoToPlain(p)
					out["projects"] = append(out["projects"], v)
				}
			}
			if r.Infra != nil {
				v, _ := protoToPlain(r.Infra)
				out["infra"] = []any{v}
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

func newConfigurationCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "configuration",
		Short: "Print the effective configuration (after ${VAR} substitution and defaults)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.Options{RepoPath: g.chdir, ConfigPath: g.yamlPath})
			if err != nil {
				return err
			}
			out := map[string]any{
				"project": cfg.Project, "provider": cfg.Provider,
				"registry":     map[string]any{"registry_type": cfg.Registry.RegistryType, "path": redact.String(cfg.Registry.Path), "cache_ttl_seconds": int(cfg.Registry.CacheTTL().Seconds())},
				"online_store": onlineSummary(cfg), "offline_store": offlineSummary(cfg),
				"batch_engine": map[string]any{"type": cfg.BatchEngine.Type}, "entity_key_serialization_version": cfg.EntityKeySerializationVersion,
				"auth": authSummary(cfg.Auth),
			}
			enc := yaml.NewEncoder(g.stdout)
			enc.SetIndent(2)
			return enc.Encode(out)
		},
	}
}

// authSummary is the auth section as the server uses it, secrets masked.
func authSummary(a config.AuthConfig) map[string]any {
	mask := func(v string) string {
		if v == "" {
			return ""
		}
		return "xxxxx"
	}
	switch a.Type {
	case "token":
		return map[string]any{"type": "token", "tokens": len(a.Tokens)}
	case "oidc":
		m := map[string]any{"type": "oidc", "auth_discovery_url": redact.String(a.AuthDiscoveryURL), "client_id": a.ClientID,
			"audience": a.Audience, "issuer": a.Issuer, "verify_ssl": a.VerifyTLS(), "ca_cert_path": a.CACertPath,
			"jwks_cache_lifespan_seconds": int(a.JWKSCacheLifespan().Seconds()), "permissions_enforced": true}
		for k, v := range map[string]string{"client_secret": a.ClientSecret, "password": a.Password, "token": a.Token} {
			if v != "" {
				m[k] = mask(v)
			}
		}
		return m
	case "kubernetes":
		return map[string]any{"type": "kubernetes", "namespace": a.Namespace, "kubeconfig": a.Kubeconfig,
			"cache_ttl_seconds": int(a.KubernetesCacheTTL().Seconds()), "permissions_enforced": true}
	}
	return map[string]any{"type": "no_auth"}
}

func onlineSummary(cfg *config.RepoConfig) map[string]any {
	o := cfg.OnlineStore
	switch o.Type {
	case "sqlite":
		return map[string]any{"type": "sqlite", "path": o.SQLite.Path}
	case "redis":
		return map[string]any{"type": "redis", "redis_type": o.Redis.RedisType, "connection_string": redact.String(o.Redis.ConnectionString), "key_ttl_seconds": o.Redis.KeyTTLSeconds}
	case "postgres":
		return postgresSummary(o.Postgres)
	}
	return map[string]any{"type": o.Type}
}

// offlineSummary shows which offline store an environment selects: the
// database host, port, database, schema and user of postgres (password
// and DSN secrets masked), or DuckDB's limits.
func offlineSummary(cfg *config.RepoConfig) map[string]any {
	o := cfg.OfflineStore
	switch o.Type {
	case "postgres":
		return postgresSummary(o.Postgres)
	case "duckdb":
		m := map[string]any{"type": "duckdb", "memory_limit": o.MemoryLimit}
		if o.Threads != 0 {
			m["threads"] = o.Threads
		}
		return m
	}
	return map[string]any{"type": o.Type}
}

func postgresSummary(p config.PostgresConfig) map[string]any {
	m := map[string]any{"type": "postgres", "host": p.Host, "port": p.Port, "database": p.Database, "db_schema": p.DBSchema, "user": p.User}
	if p.Password != "" {
		m["password"] = redact.Mask
	}
	if p.DSN != "" {
		m["dsn"] = redact.String(p.DSN)
	}
	return m
}

type objectCmd struct {
	use, short string
	kind       registry.Kind
	header     []string
	row        func(snap *registry.Snapshot, name string) []string
}

func objectCommands(g *globals) []*cobra.Command {
	defs := []objectCmd{
		{"entities", "List and describe entities", registry.KindEntity, []string{"NAME", "DESCRIPTION", "TYPE"},
			func(s *registry.Snapshot, n string) []string {
				e := s.Entities[n]
				return []string{e.Name, e.Description, e.ValueType.String()}
			}},
		{"data-sources", "List and describe data sources", registry.KindDataSource, []string{"NAME", "CLASS"},
			func(s *registry.Snapshot, n string) []string {
				d := s.DataSources[n]
				return []string{d.Name, string(d.Kind)}
			}},
		{"feature-views", "List and describe feature views", registry.KindFeatureView, []string{"NAME", "ENTITIES", "TYPE", "TTL", "ONLINE"},
			func(s *registry.Snapshot, n string) []string {
				fv := s.FeatureViews[n]
				typ := "FeatureView"
				if fv.IsStream {
					typ = "StreamFeatureView"
				}
				return []string{fv.Name, "{" + strings.Join(fv.Entities, ", ") + "}", typ, definitions.FormatDuration(fv.TTL), fmt.Sprint(fv.Online && !fv.Disabled)}
			}},
		{"stream-feature-views", "List and describe stream feature views", registry.KindStreamView, []string{"NAME", "ENTITIES", "TTL"},
			func(s *registry.Snapshot, n string) []string {
				fv := s.FeatureViews[n]
				return []string{fv.Name, "{" + strings.Join(fv.Entities, ", ") + "}", definitions.FormatDuration(fv.TTL)}
			}},
		{"on-demand-feature-views", "List and describe on demand feature views", registry.KindOnDemandView, []string{"NAME", "FEATURES"},
			func(s *registry.Snapshot, n string) []string {
				o := s.OnDemandViews[n]
				var fs []string
				for _, f := range o.Features {
					fs = append(fs, f.Name)
				}
				return []string{o.Name, strings.Join(fs, ", ")}
			}},
		{"feature-services", "List and describe feature services", registry.KindFeatureService, []string{"NAME", "FEATURES"},
			func(s *registry.Snapshot, n string) []string {
				var refs []string
				for _, p := range s.FeatureServices[n].Projections {
					for _, f := range p.Features {
						refs = append(refs, p.NameToUse()+":"+f.Name)
					}
				}
				return []string{n, strings.Join(refs, ", ")}
			}},
	}
	var cmds []*cobra.Command
	for _, d := range defs {
		cmds = append(cmds, d.command(g))
	}
	return cmds
}

func (d objectCmd) command(g *globals) *cobra.Command {
	parent := &cobra.Command{Use: d.use, Short: d.short}
	var tags []string
	list := &cobra.Command{
		Use:   "list",
		Short: "List " + strings.ReplaceAll(d.use, "-", " "),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			snap, err := fs.Registry().Refresh(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(d.header, "\t"))
			for _, o := range registry.Objects(snap.Proto, fs.Project()) {
				if o.Kind != d.kind || o.Name == model.DummyEntityName || !matchTags(o.Msg, tags) {
					continue
				}
				fmt.Fprintln(w, strings.Join(d.row(snap, o.Name), "\t"))
			}
			return w.Flush()
		},
	}
	list.Flags().StringSliceVar(&tags, "tags", nil, "only objects with these tags (key:value, repeatable; all must match)")
	describe := &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe one of the " + strings.ReplaceAll(d.use, "-", " ") + " as YAML",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			r, err := fs.Registry().Store().Load(cmd.Context(), fs.Project())
			if err != nil {
				return err
			}
			var names []string
			for _, o := range registry.Objects(r, fs.Project()) {
				if o.Kind != d.kind {
					continue
				}
				names = append(names, o.Name)
				if o.Name == args[0] {
					v, err := protoToPlain(o.Msg)
					if err != nil {
						return err
					}
					enc := yaml.NewEncoder(g.stdout)
					enc.SetIndent(2)
					return enc.Encode(v)
				}
			}
			return &registry.NotFoundError{Kind: string(d.kind), Name: args[0], Project: fs.Project(), Suggestions: config.Closest(args[0], names, 3)}
		},
	}
	parent.AddCommand(list, describe)
	return parent
}

func matchTags(m proto.Message, want []string) bool {
	if len(want) == 0 {
		return true
	}
	var tags map[string]string
	switch x := m.(type) {
	case *core.Entity:
		tags = x.GetSpec().GetTags()
	case *core.DataSource:
		tags = x.GetTags()
	case *core.FeatureView:
		tags = x.GetSpec().GetTags()
	case *core.StreamFeatureView:
		tags = x.GetSpec().GetTags()
	case *core.OnDemandFeatureView:
		tags = x.GetSpec().GetTags()
	case *core.FeatureService:
		tags = x.GetSpec().GetTags()
	}
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, ":")
		if tags[k] != v {
			return false
		}
	}
	return true
}
