// Package kubernetes is the authenticator of auth.type kubernetes: a bearer
// token is a Kubernetes token (normally a pod's service-account token),
// checked by the API server with a TokenReview; the user's roles are the
// names of the Roles and ClusterRoles bound to it, read from the RBAC API.
//
// Unlike Python Feast, which reads a service account's name from the
// token's unverified "sub" claim, every token is reviewed: a forged JWT
// naming a service account is rejected.
package kubernetes

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	authnv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	rbacclient "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/config"
)

// namespaceFile is where a pod finds its own namespace (a variable so that
// tests can point it elsewhere).
var namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// MaxCachedTokens bounds the identity cache: past it, expired entries are
// dropped first, then arbitrary ones.
const MaxCachedTokens = 10000

// requestTimeout bounds one call to the API server when the configuration
// sets no timeout of its own, so that an unreachable API server fails a
// request (503) instead of holding it.
const requestTimeout = 10 * time.Second

// serviceAccountPrefix starts the username of a service account:
// system:serviceaccount:<namespace>:<name>.
const serviceAccountPrefix = "system:serviceaccount:"

// Authenticator is the auth.Authenticator of auth.type kubernetes.
type Authenticator struct {
	reviews   authnclient.TokenReviewInterface
	rbac      rbacclient.RbacV1Interface
	namespace string
	ttl       time.Duration
	log       *slog.Logger
	now       func() time.Time

	flight singleflight.Group
	mu     sync.Mutex
	cache  map[[sha256.Size]byte]cached
}

type cached struct {
	user    *auth.User
	expires time.Time
}

var _ auth.Authenticator = (*Authenticator)(nil)

// New returns the authenticator for cfg (auth.type kubernetes). The API
// server is reached with cfg.Kubeconfig when set, else with the pod's
// in-cluster configuration, else with $KUBECONFIG or ~/.kube/config. Roles
// are read from the RoleBindings of cfg.Namespace, else of the pod's own
// namespace, else of the kubeconfig context's namespace. New does not call
// the API server: an API server that is down at start-up fails requests
// (503) until it answers, not the start. ctx is not retained.
func New(ctx context.Context, cfg config.AuthConfig, log *slog.Logger) (*Authenticator, error) {
	_ = ctx
	if log == nil {
		log = slog.Default()
	}
	restCfg, kubeconfig, err := loadConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	ns, err := namespace(cfg.Namespace, kubeconfig)
	if err != nil {
		return nil, err
	}
	restCfg = rest.CopyConfig(restCfg)
	if restCfg.Timeout == 0 {
		restCfg.Timeout = requestTimeout
	}
	// client-go's default client-side limit (5 requests/s) would queue
	// authentication behind it; the API server's own fairness applies.
	if restCfg.QPS == 0 && restCfg.RateLimiter == nil {
		restCfg.QPS, restCfg.Burst = 100, 200
	}
	// JSON, which every API server (and stand-in) speaks; the typed
	// clients would otherwise send protobuf.
	restCfg.ContentType = "application/json"
	restCfg.AcceptContentTypes = "application/json"
	if restCfg.UserAgent == "" {
		restCfg.UserAgent = "feast-go (auth kubernetes)"
	}
	httpClient, err := rest.HTTPClientFor(restCfg)
	if err != nil {
		return nil, fmt.Errorf("client for the Kubernetes API server %s: %w", restCfg.Host, err)
	}
	authn, err := authnclient.NewForConfigAndClient(restCfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("client for the Kubernetes API server %s: %w", restCfg.Host, err)
	}
	rbac, err := rbacclient.NewForConfigAndClient(restCfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("client for the Kubernetes API server %s: %w", restCfg.Host, err)
	}
	log.Info("kubernetes authentication", "api_server", restCfg.Host, "namespace", ns, "cache_ttl", cfg.KubernetesCacheTTL())
	return &Authenticator{
		reviews:   authn.TokenReviews(),
		rbac:      rbac,
		namespace: ns,
		ttl:       cfg.KubernetesCacheTTL(),
		log:       log,
		now:       time.Now,
		cache:     map[[sha256.Size]byte]cached{},
	}, nil
}

// Namespace is the namespace whose RoleBindings grant roles.
func (a *Authenticator) Namespace() string { return a.namespace }

// loadConfig finds the API server: an explicit kubeconfig, else in-cluster,
// else the default loading rules. It also returns the kubeconfig it used,
// nil in-cluster, for the namespace fallback.
func loadConfig(path string) (*rest.Config, clientcmd.ClientConfig, error) {
	if path != "" {
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{})
		c, err := cc.ClientConfig()
		if err != nil {
			return nil, nil, fmt.Errorf("auth.kubeconfig %s: %w", path, err)
		}
		return c, cc, nil
	}
	c, inErr := rest.InClusterConfig()
	if inErr == nil {
		return c, nil, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	c, err := cc.ClientConfig()
	if err == nil {
		return c, cc, nil
	}
	where := "$KUBECONFIG is not set, ~/.kube/config"
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		where = "$KUBECONFIG=" + env
	}
	return nil, nil, fmt.Errorf("no Kubernetes API server configuration: auth.kubeconfig is not set; "+
		"in-cluster: %v; %s: %v (run in a pod with a service account token, or set auth.kubeconfig)", inErr, where, err)
}

// namespace is the configured namespace, else the pod's, else the
// kubeconfig context's.
func namespace(configured string, kubeconfig clientcmd.ClientConfig) (string, error) {
	if configured != "" {
		return configured, nil
	}
	b, fileErr := os.ReadFile(namespaceFile)
	if ns := strings.TrimSpace(string(b)); fileErr == nil && ns != "" {
		return ns, nil
	}
	if kubeconfig != nil {
		// RawConfig, not Namespace(): the latter answers "default" for a
		// context without a namespace, which would hide a misconfiguration.
		if raw, err := kubeconfig.RawConfig(); err == nil {
			if ctx, ok := raw.Contexts[raw.CurrentContext]; ok && ctx.Namespace != "" {
				return ctx.Namespace, nil
			}
		}
	}
	return "", fmt.Errorf("no namespace to read RoleBindings from: auth.namespace is not set, %s cannot be read (%v) "+
		"and the kubeconfig context names none; set auth.namespace", namespaceFile, fileErr)
}

// Authenticate reviews token with the API server (or reuses the identity of
// a review less than the cache TTL old) and returns its user with the roles
// bound to it. A token the API server does not authenticate is an
// *auth.Error; an API server that cannot be asked is one with Unavailable
// set, and nothing is cached.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*auth.User, error) {
	if token == "" {
		return nil, auth.ErrNoToken
	}
	key := sha256.Sum256([]byte(token))
	if u := a.cached(key); u != nil {
		return u, nil
	}
	// Concurrent requests with the same token share one lookup. The lookup
	// runs without the first caller's cancellation (each caller still
	// stops waiting when its own context ends), bounded by the client's
	// timeout.
	ch := a.flight.DoChan(string(key[:]), func() (any, error) {
		if u := a.cached(key); u != nil {
			return u, nil
		}
		u, err := a.lookup(context.WithoutCancel(ctx), token)
		if err != nil {
			return nil, err
		}
		a.store(key, u)
		return u, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*auth.User), nil
	case <-ctx.Done():
		return nil, &auth.Error{Msg: "authentication was cancelled", Unavailable: true, Err: ctx.Err()}
	}
}

func (a *Authenticator) cached(key [sha256.Size]byte) *auth.User {
	if a.ttl <= 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.cache[key]
	if !ok {
		return nil
	}
	if !a.now().Before(e.expires) {
		delete(a.cache, key)
		return nil
	}
	return e.user
}

func (a *Authenticator) store(key [sha256.Size]byte, u *auth.User) {
	if a.ttl <= 0 {
		return
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= MaxCachedTokens {
		for k, e := range a.cache {
			if !now.Before(e.expires) {
				delete(a.cache, k)
			}
		}
		// Still full of live entries: drop a tenth of them, arbitrarily
		// (map order), so that the next inserts do not sweep again.
		for k := range a.cache {
			if len(a.cache) < MaxCachedTokens-MaxCachedTokens/10 {
				break
			}
			delete(a.cache, k)
		}
	}
	// Callers that cache the user too (the server's verified-token
	// cache) stop where this entry does, so an identity lives at most
	// the TTL in all.
	u.Expires = now.Add(a.ttl)
	a.cache[key] = cached{user: u, expires: u.Expires}
}

// lookup reviews the token and reads the roles bound to its user.
func (a *Authenticator) lookup(ctx context.Context, token string) (*auth.User, error) {
	review, err := a.reviews.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		a.log.Warn("kubernetes TokenReview failed", "err", err)
		return nil, &auth.Error{Msg: "the Kubernetes API server could not review the token", Unavailable: true, Err: err}
	}
	st := review.Status
	if !st.Authenticated {
		e := &auth.Error{Msg: "invalid bearer token: the Kubernetes API server did not authenticate it"}
		if st.Error != "" {
			e.Err = errors.New(st.Error)
		}
		return nil, e
	}
	name := st.User.Username
	if name == "" {
		return nil, &auth.Error{Msg: "invalid bearer token: the Kubernetes TokenReview names no user"}
	}
	groups := st.User.Groups

	var roles, namespaces []string
	if saNS, saName, ok := serviceAccount(name); ok {
		namespaces = []string{saNS}
		roles, err = a.serviceAccountRoles(ctx, saNS, saName)
	} else {
		roles, err = a.userRoles(ctx, name, groups)
	}
	if err != nil {
		a.log.Warn("kubernetes RBAC lookup failed", "user", name, "namespace", a.namespace, "err", err)
		return nil, &auth.Error{Msg: "the Kubernetes API server could not list the user's role bindings", Unavailable: true, Err: err}
	}
	u := auth.NewUser(name, roles, groups, namespaces)
	a.log.Debug("kubernetes token reviewed", "user", u.Username, "roles", u.Roles, "groups", u.Groups)
	return u, nil
}

// serviceAccount splits system:serviceaccount:<namespace>:<name>.
func serviceAccount(username string) (ns, name string, ok bool) {
	tail, ok := strings.CutPrefix(username, serviceAccountPrefix)
	if !ok {
		return "", "", false
	}
	ns, name, ok = strings.Cut(tail, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return ns, name, true
}

// serviceAccountRoles are the roleRef names of the RoleBindings in the
// server's namespace that bind the service account, as Feast.
func (a *Authenticator) serviceAccountRoles(ctx context.Context, saNS, saName string) ([]string, error) {
	list, err := a.rbac.RoleBindings(a.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list RoleBindings in %s: %w", a.namespace, err)
	}
	var roles []string
	for _, b := range list.Items {
		for _, s := range b.Subjects {
			// A ServiceAccount subject of a RoleBinding without a namespace
			// is in the binding's namespace.
			ns := s.Namespace
			if ns == "" {
				ns = b.Namespace
			}
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == saName && ns == saNS {
				roles = append(roles, b.RoleRef.Name)
				break
			}
		}
	}
	return roles, nil
}

// userRoles are the roleRef names of the RoleBindings in the server's
// namespace and of the ClusterRoleBindings that bind the user by name or
// one of its groups.
func (a *Authenticator) userRoles(ctx context.Context, username string, groups []string) ([]string, error) {
	matches := func(subjects []rbacv1.Subject) bool {
		for _, s := range subjects {
			switch s.Kind {
			case rbacv1.UserKind:
				if s.Name == username {
					return true
				}
			case rbacv1.GroupKind:
				for _, g := range groups {
					if s.Name == g {
						return true
					}
				}
			}
		}
		return false
	}
	rbs, err := a.rbac.RoleBindings(a.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list RoleBindings in %s: %w", a.namespace, err)
	}
	var roles []string
	for _, b := range rbs.Items {
		if matches(b.Subjects) {
			roles = append(roles, b.RoleRef.Name)
		}
	}
	crbs, err := a.rbac.ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list ClusterRoleBindings: %w", err)
	}
	for _, b := range crbs.Items {
		if matches(b.Subjects) {
			roles = append(roles, b.RoleRef.Name)
		}
	}
	return roles, nil
}
