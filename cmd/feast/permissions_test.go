package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// permissionsFeatures is a small repository: an entity, a file and a kafka
// source, a batch and a stream view, an on-demand view and a service.
const permissionsFeatures = `entities:
  - name: driver
    join_keys: [driver_id]
    value_type: INT64
    tags: {team: a}
data_sources:
  - name: stats_source
    type: file
    path: data/driver_stats/
    timestamp_field: event_timestamp
  - name: stats_stream
    type: kafka
    kafka_bootstrap_servers: localhost:9092
    topic: stats
    timestamp_field: event_timestamp
    batch_source: stats_source
feature_views:
  - name: team_a_stats
    entities: [driver]
    ttl: 1d
    source: stats_source
    schema:
      - {name: conv_rate, dtype: Float32}
    tags: {team: a}
  - name: team_a_stream
    entities: [driver]
    ttl: 1d
    source: stats_stream
    schema:
      - {name: acc_rate, dtype: Float32}
    tags: {team: b}
on_demand_feature_views:
  - name: conv_plus
    sources: [team_a_stats]
    schema:
      - {name: conv_plus_one, dtype: Float64, expression: "double(conv_rate) + 1.0"}
feature_services:
  - name: svc
    features: [team_a_stats]
`

// permissionsRepo writes and applies the repository above, then stores
// perms in its registry as Feast's Permission protos.
func permissionsRepo(t *testing.T, perms ...*model.Permission) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "perm")
	mustRun(t, "init", dir)
	if err := os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(permissionsFeatures), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "-c", dir, "apply")
	if len(perms) == 0 {
		return dir
	}
	store, err := registry.OpenFile(context.Background(), filepath.Join(dir, "data", "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Update(context.Background(), "perm", func(r *core.Registry) error {
		for _, p := range perms {
			r.Permissions = append(r.Permissions, p.ToProto("perm"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// testPermissions: readers read views and services; team_a_writers write
// team_a_* views tagged team=a for a group or a namespace; admins may do
// all but write on views, services and entities. Nothing covers data
// sources; nothing lets anyone write team_a_stream (tagged team=b).
func testPermissions() []*model.Permission {
	return []*model.Permission{
		{Name: "readers", Types: []model.ResourceType{model.TypeFeatureView, model.TypeOnDemandFeatureView, model.TypeFeatureService},
			Actions: []model.Action{model.ActionDescribe, model.ActionReadOnline, model.ActionReadOffline},
			Policy:  model.Policy{Kind: model.PolicyRoles, Roles: []string{"reader"}}, Tags: map[string]string{"scope": "read"}},
		{Name: "team_a_writers", Types: []model.ResourceType{model.TypeFeatureView}, NamePatterns: []string{"team_a_.*"},
			RequiredTags: map[string]string{"team": "a"}, Actions: []model.Action{model.ActionWriteOnline, model.ActionWriteOffline},
			Policy: model.Policy{Kind: model.PolicyGroupsNamespaces, Groups: []string{"team-a"}, Namespaces: []string{"feast"}}},
		{Name: "admins", Types: []model.ResourceType{model.TypeFeatureView, model.TypeOnDemandFeatureView, model.TypeFeatureService, model.TypeEntity},
			Actions: []model.Action{model.ActionCreate, model.ActionDescribe, model.ActionUpdate, model.ActionDelete, model.ActionReadOnline, model.ActionReadOffline},
			Policy:  model.Policy{Kind: model.PolicyRoles, Roles: []string{"admin"}}},
	}
}

func golden(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestPermissionsNone(t *testing.T) {
	dir := permissionsRepo(t)
	out, errOut, err := run(t, "-c", dir, "permissions", "check")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "check", out, `The following resources are not secured by any permission configuration:
NAME           TYPE
driver         Entity
team_a_stats   FeatureView
team_a_stream  StreamFeatureView
conv_plus      OnDemandFeatureView
svc            FeatureService
stats_source   DataSource
stats_stream   DataSource
The following actions are not secured by any permission configuration (Note: this might not be a security concern, depending on the used APIs):
NAME           TYPE                 UNSECURED ACTIONS
driver         Entity               CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
team_a_stats   FeatureView          CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
team_a_stream  StreamFeatureView    CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
conv_plus      OnDemandFeatureView  CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
svc            FeatureService       CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
stats_source   DataSource           CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
stats_stream   DataSource           CREATE
                                    DESCRIBE
                                    UPDATE
                                    DELETE
                                    READ_ONLINE
                                    READ_OFFLINE
                                    WRITE_ONLINE
                                    WRITE_OFFLINE
`)
	if !strings.Contains(errOut, "no permissions are defined: the servers let every authenticated user do every action on every resource") {
		t.Errorf("check stderr: %q", errOut)
	}
	golden(t, "list", mustRun(t, "-c", dir, "permissions", "list"), "NAME    TYPES    NAME_PATTERNS    ACTIONS    ROLES    REQUIRED_TAGS\n")
	golden(t, "list-roles", mustRun(t, "-c", dir, "permissions", "list-roles"), `+-------------+
| ROLE NAME   |
+=============+
+-------------+
`)
	golden(t, "check --roles", mustRun(t, "-c", dir, "permissions", "check", "--roles", "nobody", "--action", "READ"), `Decisions for user "" (roles: nobody; groups: -; namespaces: -) under 0 permission(s) of project "perm":

NAME           TYPE                 READ_ONLINE    READ_OFFLINE
driver         Entity               allow          allow
team_a_stats   FeatureView          allow          allow
team_a_stream  StreamFeatureView    allow          allow
conv_plus      OnDemandFeatureView  allow          allow
svc            FeatureService       allow          allow
stats_source   DataSource           allow          allow
stats_stream   DataSource           allow          allow

No permissions are defined: every authenticated user may do every action on every resource.
`)
}

func TestPermissionsCommands(t *testing.T) {
	dir := permissionsRepo(t, testPermissions()...)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, `NAME            TYPES                NAME_PATTERNS    ACTIONS        ROLES    REQUIRED_TAGS
admins          FeatureView          -                CREATE         admin    -
                OnDemandFeatureView                   DESCRIBE
                FeatureService                        UPDATE
                Entity                                DELETE
                                                      READ_ONLINE
                                                      READ_OFFLINE
readers         FeatureView          -                DESCRIBE       reader   -
                OnDemandFeatureView                   READ_ONLINE
                FeatureService                        READ_OFFLINE
team_a_writers  FeatureView          team_a_.*        WRITE_ONLINE   -        team : a
                                                      WRITE_OFFLINE
`},
		{[]string{"list", "-v"}, `Permissions:

permissions
├── admins ['admin']
│   ├── FeatureView: ['team_a_stats', 'team_a_stream']
│   ├── OnDemandFeatureView: ['conv_plus']
│   ├── FeatureService: ['svc']
│   └── Entity: ['driver']
├── readers ['reader']
│   ├── FeatureView: ['team_a_stats', 'team_a_stream']
│   ├── OnDemandFeatureView: ['conv_plus']
│   └── FeatureService: ['svc']
└── team_a_writers
    └── FeatureView: ['team_a_stats']
`},
		{[]string{"list", "--tags", "scope:read"}, `NAME     TYPES                NAME_PATTERNS    ACTIONS       ROLES    REQUIRED_TAGS
readers  FeatureView          -                DESCRIBE      reader   -
         OnDemandFeatureView                   READ_ONLINE
         FeatureService                        READ_OFFLINE
`},
		{[]string{"list", "--name", "admins", "-v"}, `Permissions:

permissions
└── admins ['admin']
    ├── FeatureView: ['team_a_stats', 'team_a_stream']
    ├── OnDemandFeatureView: ['conv_plus']
    ├── FeatureService: ['svc']
    └── Entity: ['driver']
`},
		{[]string{"check"}, `The following resources are not secured by any permission configuration:
NAME            TYPE
stats_source    DataSource
stats_stream    DataSource
admins          Permission
readers         Permission
team_a_writers  Permission
The following actions are not secured by any permission configuration (Note: this might not be a security concern, depending on the used APIs):
NAME            TYPE                 UNSECURED ACTIONS
driver          Entity               WRITE_ONLINE
                                     WRITE_OFFLINE
team_a_stream   StreamFeatureView    WRITE_ONLINE
                                     WRITE_OFFLINE
conv_plus       OnDemandFeatureView  WRITE_ONLINE
                                     WRITE_OFFLINE
svc             FeatureService       WRITE_ONLINE
                                     WRITE_OFFLINE
stats_source    DataSource           CREATE
                                     DESCRIBE
                                     UPDATE
                                     DELETE
                                     READ_ONLINE
                                     READ_OFFLINE
                                     WRITE_ONLINE
                                     WRITE_OFFLINE
stats_stream    DataSource           CREATE
                                     DESCRIBE
                                     UPDATE
                                     DELETE
                                     READ_ONLINE
                                     READ_OFFLINE
                                     WRITE_ONLINE
                                     WRITE_OFFLINE
admins          Permission           CREATE
                                     DESCRIBE
                                     UPDATE
                                     DELETE
                                     READ_ONLINE
                                     READ_OFFLINE
                                     WRITE_ONLINE
                                     WRITE_OFFLINE
readers         Permission           CREATE
                                     DESCRIBE
                                     UPDATE
                                     DELETE
                                     READ_ONLINE
                                     READ_OFFLINE
                                     WRITE_ONLINE
                                     WRITE_OFFLINE
team_a_writers  Permission           CREATE
                                     DESCRIBE
                                     UPDATE
                                     DELETE
                                     READ_ONLINE
                                     READ_OFFLINE
                                     WRITE_ONLINE
                                     WRITE_OFFLINE
`},
		{[]string{"list-roles"}, `+-------------+
| ROLE NAME   |
+=============+
| admin       |
+-------------+
| reader      |
+-------------+
`},
		{[]string{"list-roles", "-v"}, `ROLE NAME    RESOURCE NAME    RESOURCE TYPE        PERMITTED ACTIONS
admin        driver           Entity               CREATE
                                                   DESCRIBE
                                                   UPDATE
                                                   DELETE
                                                   READ_ONLINE
                                                   READ_OFFLINE
admin        team_a_stats     FeatureView          CREATE
                                                   DESCRIBE
                                                   UPDATE
                                                   DELETE
                                                   READ_ONLINE
                                                   READ_OFFLINE
admin        team_a_stream    StreamFeatureView    CREATE
                                                   DESCRIBE
                                                   UPDATE
                                                   DELETE
                                                   READ_ONLINE
                                                   READ_OFFLINE
admin        conv_plus        OnDemandFeatureView  CREATE
                                                   DESCRIBE
                                                   UPDATE
                                                   DELETE
                                                   READ_ONLINE
                                                   READ_OFFLINE
admin        svc              FeatureService       CREATE
                                                   DESCRIBE
                                                   UPDATE
                                                   DELETE
                                                   READ_ONLINE
                                                   READ_OFFLINE
admin        stats_source     DataSource           -
admin        stats_stream     DataSource           -
admin        admins           Permission           -
admin        readers          Permission           -
admin        team_a_writers   Permission           -
reader       driver           Entity               -
reader       team_a_stats     FeatureView          DESCRIBE
                                                   READ_ONLINE
                                                   READ_OFFLINE
reader       team_a_stream    StreamFeatureView    DESCRIBE
                                                   READ_ONLINE
                                                   READ_OFFLINE
reader       conv_plus        OnDemandFeatureView  DESCRIBE
                                                   READ_ONLINE
                                                   READ_OFFLINE
reader       svc              FeatureService       DESCRIBE
                                                   READ_ONLINE
                                                   READ_OFFLINE
reader       stats_source     DataSource           -
reader       stats_stream     DataSource           -
reader       admins           Permission           -
reader       readers          Permission           -
reader       team_a_writers   Permission           -
`},
		{[]string{"check", "--roles", "reader", "--action", "READ_ONLINE,WRITE"}, `Decisions for user "" (roles: reader; groups: -; namespaces: -) under 3 permission(s) of project "perm":

NAME           TYPE                 READ_ONLINE    WRITE_ONLINE    WRITE_OFFLINE
driver         Entity               deny           deny            deny
team_a_stats   FeatureView          allow          deny            deny
team_a_stream  StreamFeatureView    allow          deny            deny
conv_plus      OnDemandFeatureView  allow          deny            deny
svc            FeatureService       allow          deny            deny
stats_source   DataSource           deny           deny            deny
stats_stream   DataSource           deny           deny            deny
`},
		{[]string{"check", "--user", "ann", "--groups", "team-a", "--action", "WRITE_ONLINE", "-v"}, `Decisions for user "ann" (roles: -; groups: team-a; namespaces: -) under 3 permission(s) of project "perm":

NAME           TYPE                 WRITE_ONLINE
driver         Entity               deny
team_a_stats   FeatureView          allow
team_a_stream  StreamFeatureView    deny
conv_plus      OnDemandFeatureView  deny
svc            FeatureService       deny
stats_source   DataSource           deny
stats_stream   DataSource           deny

Denials:
  permission denied: user "ann" may not WRITE_ONLINE Entity "driver": no permission covers it (with permissions defined, what none covers is denied)
  permission denied: user "ann" may not WRITE_ONLINE StreamFeatureView "team_a_stream": no permission covers it (with permissions defined, what none covers is denied)
  permission denied: user "ann" may not WRITE_ONLINE OnDemandFeatureView "conv_plus": no permission covers it (with permissions defined, what none covers is denied)
  permission denied: user "ann" may not WRITE_ONLINE FeatureService "svc": no permission covers it (with permissions defined, what none covers is denied)
  permission denied: user "ann" may not WRITE_ONLINE DataSource "stats_source": no permission covers it (with permissions defined, what none covers is denied)
  permission denied: user "ann" may not WRITE_ONLINE DataSource "stats_stream": no permission covers it (with permissions defined, what none covers is denied)
`},
	} {
		got := mustRun(t, append([]string{"-c", dir, "permissions"}, tc.args...)...)
		golden(t, strings.Join(tc.args, " "), got, tc.want)
	}
}

func TestPermissionsDescribeAndErrors(t *testing.T) {
	broken := &model.Permission{Name: "broken", NamePatterns: []string{"(?<=x)a"}, Actions: model.AllActions(),
		Policy: model.Policy{Kind: model.PolicyAllowAll}}
	dir := permissionsRepo(t, append(testPermissions(), broken)...)
	out := mustRun(t, "-c", dir, "permissions", "describe", "team_a_writers")
	for _, want := range []string{"spec:\n  actions:\n    - WRITE_ONLINE\n    - WRITE_OFFLINE\n  name: team_a_writers\n",
		"    combinedGroupNamespacePolicy:\n      groups:\n        - team-a\n      namespaces:\n        - feast\n",
		"  namePatterns:\n    - team_a_.*\n", "  requiredTags:\n    team: a\n", "  types:\n    - FEATURE_VIEW\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, "-c", dir, "permissions", "describe", "admin"); err == nil || err.Error() != `permission "admin" not found in project "perm" (did you mean "admins"?)` {
		t.Errorf("describe unknown: %v", err)
	}
	if _, _, err := run(t, "-c", dir, "permissions", "list", "--name", "reader"); err == nil || !strings.Contains(err.Error(), `did you mean "readers"`) {
		t.Errorf("list --name unknown: %v", err)
	}
	if _, _, err := run(t, "-c", dir, "permissions", "check", "--action", "READ_ALL"); err == nil || !strings.Contains(err.Error(), `--action "READ_ALL": unknown action; use one of CREATE,`) {
		t.Errorf("check --action unknown: %v", err)
	}
	// A pattern Go cannot compile matches nothing, and every command says so.
	out, errOut, err := run(t, "-c", dir, "permissions", "check", "--roles", "x", "--action", "DESCRIBE")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, `warning: permission "broken": name pattern "(?<=x)a": `) || !strings.Contains(errOut, "it matches nothing") {
		t.Errorf("broken pattern warning: %q", errOut)
	}
	if !strings.Contains(out, "stats_source   DataSource           deny") {
		t.Errorf("the broken allow-all permission must not grant:\n%s", out)
	}
}
