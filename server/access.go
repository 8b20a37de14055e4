package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/push"
	"github.com/feastgo/feast/registry"
)

// access is the server's authentication and authorization: who a request
// is from (authn, nil when the server is open) and, when enforce is set,
// Feast's permissions from the registry snapshot.
type access struct {
	authn   auth.Authenticator
	enforce bool
	// tokens caches verified tokens for tokenTTL (0: no cache) so a client
	// reusing its token pays the signature check or TokenReview once, and
	// the fasthttp header check and the handler do not both pay it.
	tokens   tokenCache
	tokenTTL time.Duration
	now      func() time.Time

	perms atomic.Pointer[permState]
	// audit, when set, receives one line per write, materialization and
	// denied request.
	audit *slog.Logger
	log   *slog.Logger
	close func()
}

type permState struct {
	snap *registry.Snapshot
	set  *permissions.Set
}

// maxCachedTokens bounds the verified-token cache; it is reset when full.
const maxCachedTokens = 10_000

type tokenCache struct {
	mu sync.RWMutex
	m  map[string]cachedToken
}

type cachedToken struct {
	user  *auth.User
	until time.Time
}

func (c *tokenCache) get(tok string, now time.Time) *auth.User {
	c.mu.RLock()
	e, ok := c.m[tok]
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return e.user
	}
	return nil
}

func (c *tokenCache) put(tok string, u *auth.User, until time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedTokens {
		c.m = map[string]cachedToken{}
	}
	c.m[tok] = cachedToken{user: u, until: until}
	c.mu.Unlock()
}

// on reports whether requests must authenticate.
func (a *access) on() bool { return a.authn != nil }

// authenticate returns the user of an Authorization header: nil when the
// server is open, else an error that classify maps to 401 (or 503 when the
// identity provider cannot be asked).
func (a *access) authenticate(ctx context.Context, header string) (*auth.User, error) {
	if a.authn == nil {
		return nil, nil
	}
	tok, err := auth.BearerToken(header)
	if err != nil {
		return nil, err
	}
	var now time.Time
	if a.tokenTTL > 0 {
		now = a.now()
		if u := a.tokens.get(tok, now); u != nil {
			return u, nil
		}
	}
	u, err := a.authn.Authenticate(ctx, tok)
	if err != nil {
		return nil, err
	}
	if a.tokenTTL > 0 {
		until := now.Add(a.tokenTTL)
		if !u.Expires.IsZero() && u.Expires.Before(until) {
			until = u.Expires
		}
		a.tokens.put(tok, u, until)
	}
	return u, nil
}

// set returns the compiled permissions of snap, compiling them once per
// snapshot.
func (a *access) set(snap *registry.Snapshot) *permissions.Set {
	if st := a.perms.Load(); st != nil && st.snap == snap {
		return st.set
	}
	list := make([]*model.Permission, 0, len(snap.Permissions))
	for _, p := range snap.Permissions {
		list = append(list, p)
	}
	set := permissions.Compile(list)
	for _, p := range set.Problems() {
		a.log.Warn("permission cannot match anything", "problem", p)
	}
	a.perms.Store(&permState{snap: snap, set: set})
	return set
}

// check decides whether the request's user may do actions on resources.
// request names the resolved request for the decision cache (see
// permissions.Set.Check). Without enforcement it allows everything, as
// Feast does without oidc or kubernetes auth.
func (a *access) check(ctx context.Context, snap *registry.Snapshot, request any, resources []permissions.Resource, actions ...model.Action) error {
	if !a.enforce {
		return nil
	}
	u := auth.UserFrom(ctx)
	if u == nil {
		return errUnauthorized
	}
	err := a.set(snap).Check(u, request, resources, actions...)
	if err != nil && a.audit != nil {
		var d *permissions.DeniedError
		if errors.As(err, &d) {
			a.audit.LogAttrs(ctx, slog.LevelWarn, "denied", slog.String("user", u.Username), slog.String("actions", actionList(d.Actions)),
				slog.String("resource", d.Resource.String()), slog.Any("evaluated", d.Evaluated))
		}
	}
	return err
}

// authorizer is check as a push.Authorizer for the request's user, or nil
// without enforcement.
func (a *access) authorizer(ctx context.Context) push.Authorizer {
	if !a.enforce {
		return nil
	}
	return func(snap *registry.Snapshot, request any, resources []permissions.Resource, actions ...model.Action) error {
		return a.check(ctx, snap, request, resources, actions...)
	}
}

// auditedWrite logs a write with its outcome; a denied one was logged by
// check already.
func (a *access) auditedWrite(ctx context.Context, what string, err error, attrs ...slog.Attr) {
	if a.audit == nil {
		return
	}
	var d *permissions.DeniedError
	if errors.As(err, &d) {
		return
	}
	attrs = append(attrs, slog.Bool("ok", err == nil))
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	a.audited(ctx, what, attrs...)
}

// audited logs a write or materialization.
func (a *access) audited(ctx context.Context, what string, attrs ...slog.Attr) {
	if a.audit == nil {
		return
	}
	user := ""
	if u := auth.UserFrom(ctx); u != nil {
		user = u.Username
	}
	a.audit.LogAttrs(ctx, slog.LevelInfo, what, append([]slog.Attr{slog.String("user", user)}, attrs...)...)
}

func actionList(actions []model.Action) string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// setupAccess builds the authenticator the options and cfg.Auth select.
func (s *Server) setupAccess(cfg *config.RepoConfig) error {
	a := &s.access
	a.now, a.log = time.Now, s.log
	if s.opts.AuditLog {
		// Audit lines are written whatever the log level (the CLI's
		// default, warning, would drop them).
		a.audit = slog.New(alwaysEnabled{s.log.Handler()}).With(slog.String("logger", "feast.audit"))
	}
	switch {
	case s.opts.Authenticator != nil:
		a.authn = s.opts.Authenticator
		a.enforce = s.opts.EnforcePermissions
		a.tokenTTL = defaultTokenCacheTTL
	case len(s.opts.AuthTokens) > 0:
		a.authn = auth.NewStaticTokens(s.opts.AuthTokens)
		a.enforce = s.opts.EnforcePermissions
	case s.opts.DisableAuth:
	case cfg.Auth.Type == "oidc" || cfg.Auth.Type == "kubernetes":
		authn, closeFn, ttl, err := newAuthenticator(cfg.Auth, s.log)
		if err != nil {
			return err
		}
		a.authn, a.close, a.tokenTTL = authn, closeFn, ttl
		a.enforce = true
	}
	return nil
}

// defaultTokenCacheTTL is how long a verified token is reused by the
// server (never past the token's own expiry).
const defaultTokenCacheTTL = 30 * time.Second

// Close stops the authenticator's background work (the OIDC key refresh).
// The server must not be used afterwards.
func (s *Server) Close() {
	if s.access.close != nil {
		s.access.close()
	}
}

// alwaysEnabled passes every record to its handler, whatever the level.
type alwaysEnabled struct{ slog.Handler }

func (alwaysEnabled) Enabled(context.Context, slog.Level) bool { return true }

func (h alwaysEnabled) WithAttrs(attrs []slog.Attr) slog.Handler {
	return alwaysEnabled{h.Handler.WithAttrs(attrs)}
}

func (h alwaysEnabled) WithGroup(name string) slog.Handler {
	return alwaysEnabled{h.Handler.WithGroup(name)}
}
