package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/config"
)

// The server's own credentials, from the kubeconfig the tests write.
const serverToken = "feast-server-token"

// The namespace the feature server runs in (whose RoleBindings grant roles).
const serverNS = "feast"

// apiServer is a stand-in for the Kubernetes API server: TokenReviews and
// the two RBAC lists, answered with JSON as the real server sends it.
type apiServer struct {
	t   testing.TB
	srv *httptest.Server

	// users maps a token to the JSON of status.user of its review.
	users map[string]string
	// roleBindings maps a namespace to the JSON of its RoleBindingList.
	roleBindings        map[string]string
	clusterRoleBindings string

	// status, when not 0, answers every request with that status.
	status atomic.Int32
	// rbacStatus, when not 0, answers the RBAC lists with that status.
	rbacStatus atomic.Int32
	// hold, when set, holds TokenReviews until it is closed; reviewing
	// receives a value when a held review arrives.
	hold      chan struct{}
	reviewing chan struct{}

	reviews atomic.Int64
	lists   atomic.Int64
	mu      sync.Mutex
	paths   []string
}

const (
	saUser = `{"username":"system:serviceaccount:ml:client","uid":"8d3c0e4e-5f77-4a57-9d53-0b9f2a1c0c11",
		"groups":["system:serviceaccounts","system:serviceaccounts:ml","system:authenticated"],
		"extra":{"authentication.kubernetes.io/pod-name":["client-7c9d"]}}`
	aliceUser = `{"username":"alice@example.com","groups":["data-team","system:authenticated"]}`
)

// feastRoleBindings is the RoleBindingList of the server's namespace.
const feastRoleBindings = `{
  "kind": "RoleBindingList",
  "apiVersion": "rbac.authorization.k8s.io/v1",
  "metadata": {"resourceVersion": "4711"},
  "items": [
    {
      "metadata": {"name": "client-reader", "namespace": "feast", "uid": "1", "resourceVersion": "10", "creationTimestamp": "2026-01-02T03:04:05Z"},
      "subjects": [
        {"kind": "ServiceAccount", "name": "other", "namespace": "ml"},
        {"kind": "ServiceAccount", "name": "client", "namespace": "ml"}
      ],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "feast-reader"}
    },
    {
      "metadata": {"name": "client-writer", "namespace": "feast"},
      "subjects": [{"kind": "ServiceAccount", "name": "client", "namespace": "ml"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "feast-writer"}
    },
    {
      "metadata": {"name": "same-name-other-namespace", "namespace": "feast"},
      "subjects": [{"kind": "ServiceAccount", "name": "client", "namespace": "dev"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "dev-admin"}
    },
    {
      "metadata": {"name": "local-pipeline", "namespace": "feast"},
      "subjects": [{"kind": "ServiceAccount", "name": "pipeline"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "feast-pipeline"}
    },
    {
      "metadata": {"name": "data-team", "namespace": "feast"},
      "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "data-team"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "feast-data-scientist"}
    },
    {
      "metadata": {"name": "no-subjects", "namespace": "feast"},
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "nobody"}
    }
  ]
}`

// otherRoleBindings binds the same service account in another namespace:
// it must never be read.
const otherRoleBindings = `{
  "kind": "RoleBindingList",
  "apiVersion": "rbac.authorization.k8s.io/v1",
  "metadata": {"resourceVersion": "4711"},
  "items": [
    {
      "metadata": {"name": "client-admin", "namespace": "ml"},
      "subjects": [{"kind": "ServiceAccount", "name": "client", "namespace": "ml"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ml-admin"}
    }
  ]
}`

const clusterRoleBindings = `{
  "kind": "ClusterRoleBindingList",
  "apiVersion": "rbac.authorization.k8s.io/v1",
  "metadata": {"resourceVersion": "4711"},
  "items": [
    {
      "metadata": {"name": "alice-admin", "uid": "2", "creationTimestamp": "2026-01-02T03:04:05Z"},
      "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice@example.com"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "feast-admin"}
    },
    {
      "metadata": {"name": "bob-admin"},
      "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob@example.com"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
    },
    {
      "metadata": {"name": "other-team"},
      "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "other-team"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "other-role"}
    },
    {
      "metadata": {"name": "sa-cluster-wide"},
      "subjects": [{"kind": "ServiceAccount", "name": "client", "namespace": "ml"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "sa-cluster-role"}
    }
  ]
}`

func newAPIServer(t testing.TB) *apiServer {
	t.Helper()
	s := &apiServer{
		t: t,
		users: map[string]string{
			"sa-token":       saUser,
			"alice-token":    aliceUser,
			"pipeline-token": `{"username":"system:serviceaccount:feast:pipeline","groups":["system:serviceaccounts","system:serviceaccounts:feast","system:authenticated"]}`,
		},
		roleBindings:        map[string]string{serverNS: feastRoleBindings, "ml": otherRoleBindings},
		clusterRoleBindings: clusterRoleBindings,
	}
	// TLS, as a real API server: client-go sends credentials over TLS only.
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%q,"reason":%q,"code":%d}`, msg, reason, code)
}

func (s *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.paths = append(s.paths, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+serverToken {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	if code := s.status.Load(); code != 0 {
		writeStatus(w, int(code), "ServiceUnavailable", "the server is currently unable to handle the request")
		return
	}
	const rbacPrefix = "/apis/rbac.authorization.k8s.io/v1/"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authentication.k8s.io/v1/tokenreviews":
		s.review(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, rbacPrefix):
		s.lists.Add(1)
		if code := s.rbacStatus.Load(); code != 0 {
			writeStatus(w, int(code), "Forbidden", "rolebindings.rbac.authorization.k8s.io is forbidden")
			return
		}
		var body string
		rest := strings.TrimPrefix(r.URL.Path, rbacPrefix)
		if rest == "clusterrolebindings" {
			body = s.clusterRoleBindings
		} else if ns, ok := strings.CutSuffix(strings.TrimPrefix(rest, "namespaces/"), "/rolebindings"); ok && strings.HasPrefix(rest, "namespaces/") {
			body, ok = s.roleBindings[ns]
			if !ok {
				body = `{"kind":"RoleBindingList","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"resourceVersion":"1"},"items":[]}`
			}
		} else {
			writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}
}

func (s *apiServer) review(w http.ResponseWriter, r *http.Request) {
	s.reviews.Add(1)
	var req struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Token string `json:"token"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Kind != "TokenReview" || req.APIVersion != "authentication.k8s.io/v1" {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("bad TokenReview %+v: %v", req, err))
		return
	}
	if s.hold != nil {
		s.reviewing <- struct{}{}
		<-s.hold
	}
	spec, _ := json.Marshal(req.Spec.Token)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	if user, ok := s.users[req.Spec.Token]; ok {
		fmt.Fprintf(w, `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},
			"spec":{"token":%s},"status":{"authenticated":true,"user":%s,"audiences":["https://kubernetes.default.svc.cluster.local"]}}`, spec, user)
		return
	}
	fmt.Fprintf(w, `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},
		"spec":{"token":%s},"status":{"user":{},"error":"[invalid bearer token, token lookup failed]"}}`, spec)
}

func (s *apiServer) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

// kubeconfig writes a kubeconfig reaching s whose context has namespace ns.
func (s *apiServer) kubeconfig(ns string) string {
	s.t.Helper()
	path := filepath.Join(s.t.TempDir(), "kubeconfig")
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}))
	nsLine := ""
	if ns != "" {
		nsLine = "\n    namespace: " + ns
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: feast-server
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: feast-server%s
current-context: test
`, s.srv.URL, ca, serverToken, nsLine)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

func init() {
	// Tests do not run in a pod, whatever the machine has.
	namespaceFile = "/nonexistent/serviceaccount/namespace"
}

func ttl(seconds int) *int { return &seconds }

// newAuth returns an authenticator reaching s through a kubeconfig whose
// context's namespace is the server's.
func newAuth(t *testing.T, s *apiServer, cacheTTL *int) *Authenticator {
	t.Helper()
	a, err := New(context.Background(), config.AuthConfig{Type: "kubernetes", Kubeconfig: s.kubeconfig(serverNS), CacheTTLSeconds: cacheTTL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Namespace() != serverNS {
		t.Fatalf("namespace %q, want the kubeconfig context's %q", a.Namespace(), serverNS)
	}
	return a
}

func checkUser(t *testing.T, u *auth.User, name string, roles, groups, namespaces []string) {
	t.Helper()
	want := auth.NewUser(name, roles, groups, namespaces)
	if u == nil || u.Key() != want.Key() {
		t.Fatalf("user %+v\nwant %+v", u, want)
	}
}

func TestServiceAccount(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, nil)
	u, err := a.Authenticate(context.Background(), "sa-token")
	if err != nil {
		t.Fatal(err)
	}
	// Only the RoleBindings of the server's namespace that bind ml:client:
	// not dev:client's, not the ml namespace's own, not ClusterRoleBindings.
	checkUser(t, u, "system:serviceaccount:ml:client", []string{"feast-reader", "feast-writer"},
		[]string{"system:serviceaccounts", "system:serviceaccounts:ml", "system:authenticated"}, []string{"ml"})
	if got, want := s.requested(), []string{
		"POST /apis/authentication.k8s.io/v1/tokenreviews",
		"GET /apis/rbac.authorization.k8s.io/v1/namespaces/feast/rolebindings",
	}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestServiceAccountSubjectWithoutNamespace(t *testing.T) {
	// A RoleBinding's ServiceAccount subject without a namespace is in the
	// binding's namespace.
	s := newAPIServer(t)
	u, err := newAuth(t, s, nil).Authenticate(context.Background(), "pipeline-token")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Roles, []string{"feast-pipeline"}) || !slices.Equal(u.Namespaces, []string{"feast"}) {
		t.Errorf("user %+v", u)
	}
}

func TestUserWithClusterRoleBindingAndGroup(t *testing.T) {
	s := newAPIServer(t)
	u, err := newAuth(t, s, nil).Authenticate(context.Background(), "alice-token")
	if err != nil {
		t.Fatal(err)
	}
	// feast-admin by a ClusterRoleBinding to the user, feast-data-scientist
	// by a RoleBinding to one of its groups; no namespaces.
	checkUser(t, u, "alice@example.com", []string{"feast-admin", "feast-data-scientist"}, []string{"data-team", "system:authenticated"}, nil)
	if got := s.requested(); !slices.Contains(got, "GET /apis/rbac.authorization.k8s.io/v1/clusterrolebindings") {
		t.Errorf("requests %q", got)
	}
}

func TestInvalidToken(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, nil)
	for i := range 2 {
		u, err := a.Authenticate(context.Background(), "forged.jwt.token")
		var ae *auth.Error
		if u != nil || !errors.As(err, &ae) || ae.Unavailable || ae.Msg == "" {
			t.Fatalf("got %+v, %v; want a 401 *auth.Error", u, err)
		}
		if !strings.Contains(err.Error(), "token lookup failed") {
			t.Errorf("error %q does not carry the review's error", err)
		}
		// A rejected token is never cached as a user: each try is reviewed.
		if n := s.reviews.Load(); n != int64(i+1) {
			t.Errorf("%d reviews after %d tries", n, i+1)
		}
	}
	if n := s.lists.Load(); n != 0 {
		t.Errorf("RBAC read %d times for a rejected token", n)
	}
	if _, err := a.Authenticate(context.Background(), ""); !errors.Is(err, auth.ErrNoToken) {
		t.Errorf("empty token: %v", err)
	}
}

func TestAPIDownIsUnavailableAndNotCached(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, nil)
	unavailable := func(what string) {
		t.Helper()
		u, err := a.Authenticate(context.Background(), "sa-token")
		if u != nil || !auth.IsUnavailable(err) {
			t.Fatalf("%s: got %+v, %v; want an Unavailable *auth.Error (503)", what, u, err)
		}
	}
	s.status.Store(http.StatusServiceUnavailable)
	unavailable("TokenReview 503")
	s.status.Store(http.StatusInternalServerError)
	unavailable("TokenReview 500")
	s.status.Store(0)
	s.rbacStatus.Store(http.StatusForbidden)
	unavailable("RoleBindings forbidden")
	s.rbacStatus.Store(0)

	// The API server answers again: the outage left nothing in the cache.
	before := s.reviews.Load()
	if u, err := a.Authenticate(context.Background(), "sa-token"); err != nil || len(u.Roles) != 2 {
		t.Fatalf("after the outage: %+v, %v", u, err)
	}
	if s.reviews.Load() != before+1 {
		t.Error("the recovered API server was not asked")
	}

	// Unreachable (connection refused) is an outage too.
	a2 := newAuth(t, s, nil)
	s.srv.Close()
	start := time.Now()
	if u, err := a2.Authenticate(context.Background(), "sa-token"); u != nil || !auth.IsUnavailable(err) {
		t.Fatalf("API server gone: %+v, %v", u, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("an unreachable API server took %v to fail", d)
	}
	// The cached identity of the first authenticator outlives the outage.
	if _, err := a.Authenticate(context.Background(), "sa-token"); err != nil {
		t.Errorf("cached identity during the outage: %v", err)
	}
}

func TestCacheHit(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, nil)
	first, err := a.Authenticate(context.Background(), "alice-token")
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.requested())
	second, err := a.Authenticate(context.Background(), "alice-token")
	if err != nil || second != first {
		t.Fatalf("second call: %+v, %v", second, err)
	}
	if got := len(s.requested()); got != n {
		t.Errorf("a cached token made %d more requests", got-n)
	}
	// Another token is looked up on its own.
	if _, err := a.Authenticate(context.Background(), "sa-token"); err != nil || s.reviews.Load() != 2 {
		t.Errorf("second token: %v, %d reviews", err, s.reviews.Load())
	}
	// The cache is keyed by a hash: the raw token is nowhere in it.
	a.mu.Lock()
	for k := range a.cache {
		if strings.Contains(string(k[:]), "alice-token") {
			t.Error("raw token in the cache key")
		}
	}
	a.mu.Unlock()
}

func TestCacheExpiry(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, ttl(30))
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	for i, step := range []struct {
		advance time.Duration
		reviews int64
	}{{0, 1}, {29 * time.Second, 1}, {time.Second, 2}, {10 * time.Second, 2}} {
		advance(step.advance)
		u, err := a.Authenticate(context.Background(), "sa-token")
		if err != nil {
			t.Fatal(err)
		}
		// The user says when its cache entry ends, so the server's own
		// cache of it stops there too.
		mu.Lock()
		if u.Expires.Before(now) || u.Expires.After(now.Add(30*time.Second)) {
			t.Errorf("step %d: Expires %v, want within 30 s of %v", i, u.Expires, now)
		}
		mu.Unlock()
		if got := s.reviews.Load(); got != step.reviews {
			t.Errorf("step %d: %d reviews, want %d", i, got, step.reviews)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, ttl(0))
	for i := range 3 {
		if _, err := a.Authenticate(context.Background(), "sa-token"); err != nil {
			t.Fatal(err)
		}
		if got := s.reviews.Load(); got != int64(i+1) {
			t.Fatalf("cache_ttl_seconds 0: %d reviews after %d calls", got, i+1)
		}
	}
	if len(a.cache) != 0 {
		t.Errorf("cache_ttl_seconds 0 stored %d entries", len(a.cache))
	}
}

func TestCacheBounded(t *testing.T) {
	s := newAPIServer(t)
	a := newAuth(t, s, nil)
	u := auth.NewUser("x", nil, nil, nil)
	for i := range MaxCachedTokens + 10 {
		var k [32]byte
		copy(k[:], fmt.Sprint(i))
		a.store(k, u)
	}
	if n := len(a.cache); n > MaxCachedTokens {
		t.Errorf("cache holds %d entries, bound %d", n, MaxCachedTokens)
	}
}

func TestConcurrentLookupsShareOneReview(t *testing.T) {
	s := newAPIServer(t)
	s.hold, s.reviewing = make(chan struct{}), make(chan struct{}, 100)
	a := newAuth(t, s, nil)
	const n = 20
	var started, done sync.WaitGroup
	users := make([]*auth.User, n)
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			users[i], errs[i] = a.Authenticate(context.Background(), "sa-token")
		}()
	}
	started.Wait()
	select {
	case <-s.reviewing:
	case <-time.After(10 * time.Second):
		t.Fatal("no TokenReview arrived")
	}
	// Give every goroutine time to join the lookup in flight; without
	// sharing, each would be a review held here.
	time.Sleep(200 * time.Millisecond)
	close(s.hold)
	done.Wait()
	for i := range n {
		if errs[i] != nil || users[i] == nil || len(users[i].Roles) != 2 {
			t.Fatalf("call %d: %+v, %v", i, users[i], errs[i])
		}
	}
	if got := s.reviews.Load(); got != 1 {
		t.Errorf("%d concurrent calls made %d TokenReviews, want 1", n, got)
	}
}

func TestCallerCancellation(t *testing.T) {
	s := newAPIServer(t)
	s.hold, s.reviewing = make(chan struct{}), make(chan struct{}, 10)
	a := newAuth(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := a.Authenticate(ctx, "sa-token"); errc <- err }()
	select {
	case <-s.reviewing:
	case err := <-errc:
		t.Fatalf("no TokenReview arrived: %v", err)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled caller kept waiting for the review")
	}
	// The shared lookup went on and cached its result for the next caller.
	close(s.hold)
	deadline := time.Now().Add(5 * time.Second)
	for a.cached(sha256.Sum256([]byte("sa-token"))) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.Authenticate(context.Background(), "sa-token"); err != nil || s.reviews.Load() != 1 {
		t.Errorf("after the cancelled caller: %v, %d reviews", err, s.reviews.Load())
	}
}

func TestNamespaceAndConfiguration(t *testing.T) {
	s := newAPIServer(t)
	// auth.namespace wins over the kubeconfig context.
	a, err := New(context.Background(), config.AuthConfig{Kubeconfig: s.kubeconfig("ctx-ns"), Namespace: "configured"}, nil)
	if err != nil || a.Namespace() != "configured" {
		t.Fatalf("configured namespace: %v, %v", a, err)
	}
	// The pod's namespace file comes before the context.
	f := filepath.Join(t.TempDir(), "namespace")
	os.WriteFile(f, []byte("pod-ns\n"), 0o600)
	old := namespaceFile
	namespaceFile = f
	a, err = New(context.Background(), config.AuthConfig{Kubeconfig: s.kubeconfig("ctx-ns")}, nil)
	namespaceFile = old
	if err != nil || a.Namespace() != "pod-ns" {
		t.Fatalf("pod namespace: %v, %v", a, err)
	}
	// No namespace anywhere: an error that says to set auth.namespace.
	if _, err := New(context.Background(), config.AuthConfig{Kubeconfig: s.kubeconfig("")}, nil); err == nil || !strings.Contains(err.Error(), "auth.namespace") {
		t.Errorf("no namespace: %v", err)
	}
	// A kubeconfig that does not exist.
	if _, err := New(context.Background(), config.AuthConfig{Kubeconfig: "/nonexistent/kubeconfig"}, nil); err == nil || !strings.Contains(err.Error(), "/nonexistent/kubeconfig") {
		t.Errorf("missing kubeconfig: %v", err)
	}

	// Without auth.kubeconfig: $KUBECONFIG when not in a pod.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", s.kubeconfig(serverNS))
	a, err = New(context.Background(), config.AuthConfig{}, nil)
	if err != nil || a.Namespace() != serverNS {
		t.Fatalf("$KUBECONFIG: %v, %v", a, err)
	}
	if _, err := a.Authenticate(context.Background(), "sa-token"); err != nil {
		t.Errorf("through $KUBECONFIG: %v", err)
	}
	// Nothing at all: the error names what was tried.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	_, err = New(context.Background(), config.AuthConfig{}, nil)
	if err == nil {
		t.Fatal("no configuration accepted")
	}
	for _, want := range []string{"auth.kubeconfig", "in-cluster", "KUBERNETES_SERVICE_HOST", "$KUBECONFIG="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func BenchmarkAuthenticateCached(b *testing.B) {
	s := newAPIServer(b)
	a, err := New(context.Background(), config.AuthConfig{Kubeconfig: s.kubeconfig(serverNS)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, "sa-token"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(ctx, "sa-token"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if s.reviews.Load() != 1 {
		b.Errorf("%d reviews", s.reviews.Load())
	}
}
