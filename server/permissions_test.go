package server

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	st "github.com/feastgo/feast/server/servingtest"
)

// teamDefs is a store shared by two teams: team A's views are fed by a
// push source, team B's by a file.
const teamDefs = `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - {name: team_a_src, type: file, path: data/team_a/, timestamp_field: event_timestamp}
  - {name: team_a_push, type: push, batch_source: team_a_src}
  - {name: team_b_src, type: file, path: data/team_b/, timestamp_field: event_timestamp}
feature_views:
  - name: team_a_stats
    entities: [driver]
    source: team_a_push
    tags: {team: a}
    schema:
      - {name: conv_rate, dtype: Float64}
  - name: shared_counts
    entities: [driver]
    source: team_a_push
    tags: {team: shared}
    schema:
      - {name: conv_rate, dtype: Float64}
  - name: team_b_stats
    entities: [driver]
    source: team_b_src
    tags: {team: b}
    schema:
      - {name: trips, dtype: Int64}
on_demand_feature_views:
  - name: team_a_plus
    sources: [team_a_stats]
    tags: {team: a}
    schema:
      - {name: conv_x2, dtype: Float64, expression: "conv_rate * 2.0"}
feature_services:
  - name: team_a_service
    features: [team_a_stats]
`

// tokenUsers is an authenticator for the decision matrix: each token is a
// user. (The OIDC and Kubernetes authenticators have their own tests; this
// one isolates the decisions.)
type tokenUsers map[string]*auth.User

func (m tokenUsers) Authenticate(_ context.Context, tok string) (*auth.User, error) {
	if u, ok := m[tok]; ok {
		return u, nil
	}
	return nil, &auth.Error{Msg: "invalid bearer token"}
}

var matrixUsers = tokenUsers{
	"alice":  auth.NewUser("alice", []string{"team-a-reader"}, nil, nil),
	"bob":    auth.NewUser("bob", []string{"team-b-reader"}, nil, nil),
	"ingest": auth.NewUser("ingest", []string{"ingest"}, nil, nil),
	"ops":    auth.NewUser("ops", nil, []string{"ops"}, nil),
	"carol":  auth.NewUser("carol", nil, nil, []string{"ml-a"}),
	"nobody": auth.NewUser("nobody", nil, nil, nil),
	"awrite": auth.NewUser("awrite", []string{"team-a-writer"}, nil, nil),
}

// teamPermissions are the rules of a store shared by team A, team B, an
// ingestion job and an ops group.
var teamPermissions = []*model.Permission{
	{Name: "team_a_reads", Types: []model.ResourceType{model.TypeFeatureView, model.TypeOnDemandFeatureView, model.TypeFeatureService},
		NamePatterns: []string{"team_a_.*"}, Actions: []model.Action{model.ActionReadOnline},
		Policy: model.Policy{Kind: model.PolicyRoles, Roles: []string{"team-a-reader"}}},
	{Name: "team_b_reads", Types: []model.ResourceType{model.TypeFeatureView}, RequiredTags: map[string]string{"team": "b"},
		Actions: []model.Action{model.ActionReadOnline}, Policy: model.Policy{Kind: model.PolicyRoles, Roles: []string{"team-b-reader"}}},
	{Name: "ingest_writes", Types: []model.ResourceType{model.TypeFeatureView},
		Actions: []model.Action{model.ActionWriteOnline, model.ActionWriteOffline}, Policy: model.Policy{Kind: model.PolicyRoles, Roles: []string{"ingest"}}},
	{Name: "ops_all", Actions: model.AllActions(), Policy: model.Policy{Kind: model.PolicyGroups, Groups: []string{"ops"}}},
	// Team A may write its own views, but its push source also feeds
	// shared_counts: a push needs WRITE on every view the source feeds.
	{Name: "team_a_writes", Types: []model.ResourceType{model.TypeFeatureView}, NamePatterns: []string{"team_a_.*"},
		Actions: []model.Action{model.ActionWriteOnline}, Policy: model.Policy{Kind: model.PolicyRoles, Roles: []string{"team-a-writer"}}},
	{Name: "ml_a_namespace", NamePatterns: []string{"team_a_stats"}, Actions: []model.Action{model.ActionReadOnline},
		Policy: model.Policy{Kind: model.PolicyNamespaces, Namespaces: []string{"ml-a"}}},
}

// setPermissions replaces the project's permissions in the registry and
// reloads the server's snapshot.
func setPermissions(t *testing.T, f *st.Fixture, perms []*model.Permission) {
	setPermissionsTB(t, f, perms)
}

func setPermissionsTB(t testing.TB, f *st.Fixture, perms []*model.Permission) {
	t.Helper()
	ctx := context.Background()
	err := f.Store.Registry().Store().Update(ctx, f.Project, func(r *core.Registry) error {
		r.Permissions = nil
		for _, p := range perms {
			r.Permissions = append(r.Permissions, p.ToProto(f.Project))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Registry().Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}

type matrixCall struct {
	name, path, body string
	// grpc is the features or service of the same read over gRPC.
	grpcFeatures []string
	grpcService  string
}

var matrixCalls = []matrixCall{
	{name: "read team_a_stats", path: "/get-online-features", body: `{"features":["team_a_stats:conv_rate"],"entities":{"driver_id":[1]}}`, grpcFeatures: []string{"team_a_stats:conv_rate"}},
	{name: "read team_a_plus", path: "/get-online-features", body: `{"features":["team_a_plus:conv_x2"],"entities":{"driver_id":[1]}}`, grpcFeatures: []string{"team_a_plus:conv_x2"}},
	{name: "read team_b_stats", path: "/get-online-features", body: `{"features":["team_b_stats:trips"],"entities":{"driver_id":[1]}}`, grpcFeatures: []string{"team_b_stats:trips"}},
	{name: "read both teams", path: "/get-online-features", body: `{"features":["team_a_stats:conv_rate","team_b_stats:trips"],"entities":{"driver_id":[1]}}`, grpcFeatures: []string{"team_a_stats:conv_rate", "team_b_stats:trips"}},
	{name: "read team_a_service", path: "/get-online-features", body: `{"feature_service":"team_a_service","entities":{"driver_id":[1]}}`, grpcService: "team_a_service"},
	{name: "push online", path: "/push", body: `{"push_source_name":"team_a_push","df":{"driver_id":[1],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5]},"to":"online"}`},
	{name: "push offline", path: "/push", body: `{"push_source_name":"team_a_push","df":{"driver_id":[1],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5]},"to":"offline"}`},
	{name: "push both", path: "/push", body: `{"push_source_name":"team_a_push","df":{"driver_id":[1],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5]},"to":"online_and_offline"}`},
	{name: "write team_a_stats", path: "/write-to-online-store", body: `{"feature_view_name":"team_a_stats","df":{"driver_id":[1],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5]}}`},
	{name: "materialize team_b_stats", path: "/materialize-incremental", body: `{"end_ts":"2024-05-01T12:00:00Z","feature_views":["team_b_stats"]}`},
	{name: "materialize all", path: "/materialize", body: `{"start_ts":"2024-04-01T00:00:00Z","end_ts":"2024-05-01T12:00:00Z"}`},
}

// matrixWant is the golden decision table: per permission set, per user,
// the calls allowed (everything else must be denied with 403).
var matrixWant = map[string]map[string][]string{
	"no permissions": {
		"alice": {"*"}, "bob": {"*"}, "ingest": {"*"}, "ops": {"*"}, "carol": {"*"}, "nobody": {"*"}, "awrite": {"*"},
	},
	"teams": {
		"alice":  {"read team_a_stats", "read team_a_plus", "read team_a_service"},
		"bob":    {"read team_b_stats"},
		"ingest": {"push online", "push offline", "push both", "write team_a_stats", "materialize team_b_stats", "materialize all"},
		"ops":    {"*"},
		"carol":  {"read team_a_stats"},
		"nobody": {},
		"awrite": {"write team_a_stats"},
	},
}

// TestPermissionMatrix runs every user against every endpoint, over HTTP
// (both transports) and gRPC, under each permission set, and compares the
// decisions with the golden table.
func TestPermissionMatrix(t *testing.T) {
	f := st.NewRepo(t, t.TempDir(), "teams", st.SQLite().Section(), teamDefs, false)
	var audit bytes.Buffer
	s := newServer(t, f, Options{Authenticator: matrixUsers, EnforcePermissions: true, AuditLog: true,
		// At level error, as the CLI's default warning would drop info
		// lines: audit lines are written whatever the level.
		Logger: slog.New(slog.NewJSONHandler(&audit, &slog.HandlerOptions{Level: slog.LevelError}))})
	client := serving.NewServingServiceClient(bufServer(t, s))

	users := make([]string, 0, len(matrixUsers))
	for u := range matrixUsers {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, set := range []string{"no permissions", "teams"} {
		perms := teamPermissions
		if set == "no permissions" {
			perms = nil
		}
		setPermissions(t, f, perms)
		t.Run(set, func(t *testing.T) {
			forEachTransport(t, s, func(t *testing.T, call caller) {
				for _, user := range users {
					for _, c := range matrixCalls {
						want := allowed(matrixWant[set][user], c.name)
						code, body := call(t, "POST", c.path, c.body, "Authorization", "Bearer "+user)
						switch {
						case want && (code == 401 || code == 403):
							t.Errorf("%s / %s: want allowed, got %d %s", user, c.name, code, body)
						case want && c.path == "/get-online-features" && code != 200:
							t.Errorf("%s / %s: %d %s", user, c.name, code, body)
						case !want && code != 403:
							t.Errorf("%s / %s: want 403, got %d %s", user, c.name, code, body)
						case !want && !strings.Contains(body, "permission denied: user \\\""+user+"\\\""):
							t.Errorf("%s / %s: denial does not name the user: %s", user, c.name, body)
						}
					}
				}
			})
			for _, user := range users {
				for _, c := range matrixCalls {
					if c.path != "/get-online-features" {
						continue
					}
					want := allowed(matrixWant[set][user], c.name)
					ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+user)
					req := &serving.GetOnlineFeaturesRequest{Entities: map[string]*types.RepeatedValue{"driver_id": rv(st.I64(1))}}
					if c.grpcFeatures != nil {
						req.Kind = &serving.GetOnlineFeaturesRequest_Features{Features: &serving.FeatureList{Val: c.grpcFeatures}}
					} else {
						req.Kind = &serving.GetOnlineFeaturesRequest_FeatureService{FeatureService: c.grpcService}
					}
					_, err := client.GetOnlineFeatures(ctx, req)
					if got := status.Code(err); want && got != codes.OK || !want && got != codes.PermissionDenied {
						t.Errorf("grpc %s / %s: want allowed=%v, got %v", user, c.name, want, err)
					}
				}
			}
		})
	}
	// A push to a source feeding a view the user may not write is refused
	// as a whole, naming that view, and writes nothing.
	code, body := do(t, s.Handler(), "POST", "/push", matrixCalls[5].body, "Authorization", "Bearer awrite")
	if code != 403 || !strings.Contains(body, `FeatureView \"shared_counts\"`) {
		t.Errorf("awrite pushes to a source feeding shared_counts: %d %s", code, body)
	}
	// A token the authenticator rejects is 401 on every endpoint.
	for _, c := range matrixCalls {
		if code, _ := do(t, s.Handler(), "POST", c.path, c.body, "Authorization", "Bearer mallory"); code != 401 {
			t.Errorf("unknown token / %s: %d", c.name, code)
		}
	}
	// The audit log has the denials and the writes, with the user.
	log := audit.String()
	for _, want := range []string{`"msg":"denied","logger":"feast.audit","user":"bob","actions":"WRITE_ONLINE"`, `"msg":"push","logger":"feast.audit","user":"ingest"`,
		`"msg":"materialize-incremental","logger":"feast.audit","user":"ingest"`, `"msg":"write-to-online-store","logger":"feast.audit","user":"ops"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

func allowed(list []string, call string) bool {
	for _, c := range list {
		if c == "*" || c == call {
			return true
		}
	}
	return false
}

// The denial names the action, the resource and the permissions evaluated.
func TestPermissionDeniedMessage(t *testing.T) {
	f := st.NewRepo(t, t.TempDir(), "teams", st.SQLite().Section(), teamDefs, false)
	s := newServer(t, f, Options{Authenticator: matrixUsers, EnforcePermissions: true})
	setPermissions(t, f, teamPermissions[1:3])
	code, body := do(t, s.Handler(), "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer bob")
	want := `{"error":"permission denied: user \"bob\" may not READ_ONLINE FeatureView \"team_a_stats\": no permission covers it (with permissions defined, what none covers is denied)"}`
	if code != 403 || body != want {
		t.Errorf("got %d %s\nwant 403 %s", code, body, want)
	}
	setPermissions(t, f, teamPermissions[:3])
	code, body = do(t, s.Handler(), "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer bob")
	want = `{"error":"permission denied: user \"bob\" may not READ_ONLINE FeatureView \"team_a_stats\": evaluated team_a_reads; none grants to this user's roles, groups or namespaces"}`
	if code != 403 || body != want {
		t.Errorf("got %d %s\nwant 403 %s", code, body, want)
	}
}

// countingAuth counts the tokens it verifies.
type countingAuth struct {
	n atomic.Int64
	tokenUsers
}

func (c *countingAuth) Authenticate(ctx context.Context, tok string) (*auth.User, error) {
	c.n.Add(1)
	return c.tokenUsers.Authenticate(ctx, tok)
}

// A client reusing its token pays its verification once, on both HTTP
// transports (the listener checks the token before reading the body and
// again in the handler).
func TestVerifiedTokenCache(t *testing.T) {
	f := st.NewRepo(t, t.TempDir(), "teams", st.SQLite().Section(), teamDefs, false)
	ca := &countingAuth{tokenUsers: matrixUsers}
	s := newServer(t, f, Options{Authenticator: ca, EnforcePermissions: true})
	call := listenerCaller(t, s)
	for i := 0; i < 5; i++ {
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer alice"); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	}
	if n := ca.n.Load(); n != 1 {
		t.Errorf("token verified %d times, want 1", n)
	}
	// An expired credential is not reused past its expiry.
	s.access.now = func() time.Time { return time.Now().Add(time.Hour) }
	call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer alice")
	if n := ca.n.Load(); n != 2 {
		t.Errorf("after the cache lifetime: verified %d times, want 2", n)
	}
}
