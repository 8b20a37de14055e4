// Package oidc is the authenticator of Feast's auth type oidc: a request's
// bearer token is a JWT signed by an OpenID Connect provider (Keycloak, Dex,
// Entra ID, ...), verified with the provider's published keys (its JWKS),
// and the user is read from its claims as Feast reads them.
//
// The key set is never fetched for a request: it is loaded in the
// background (at start, then every jwks_cache_lifespan_seconds), and a token
// signed with a key the cache does not know triggers at most one refresh
// per UnknownKIDInterval. While no keys have ever been loaded, requests fail
// as unavailable (HTTP 503); once loaded, keys stay in use through provider
// outages.
//
// JOSE is not done here: JWK parsing is github.com/MicahParks/jwkset, key
// selection by kid github.com/MicahParks/keyfunc/v3, and signature and
// claim checks github.com/golang-jwt/jwt/v5.
package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/config"
)

// Algorithms are the signature algorithms a token may use: asymmetric
// ones only, so "alg: none" and HMAC with a public key as the secret (the
// algorithm-confusion attack) are refused.
var Algorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// Leeway is the clock skew allowed when checking exp and nbf (Feast's
// PyJWT call uses 10 seconds).
const Leeway = 10 * time.Second

// Defaults of Options.
const (
	DefaultUnknownKIDInterval = 10 * time.Second
	DefaultRetryInterval      = 10 * time.Second
)

// maxDocumentBytes bounds a discovery document or key set response.
const maxDocumentBytes = 4 << 20

// Options tune the refresh policy; the zero value means the defaults.
type Options struct {
	// UnknownKIDInterval is the least time between two refreshes caused by
	// tokens whose kid is not in the cache (or by requests while no keys are
	// loaded). Default DefaultUnknownKIDInterval.
	UnknownKIDInterval time.Duration
	// RetryInterval is how soon a failed background refresh is retried
	// (at most the cache lifespan). Default DefaultRetryInterval.
	RetryInterval time.Duration
}

// Authenticator verifies OIDC bearer tokens. It implements
// auth.Authenticator; Close stops its background refresh.
type Authenticator struct {
	log          *slog.Logger
	client       *http.Client
	discoveryURL string
	clientID     string
	audience     string
	issuer       string
	lifespan     time.Duration
	timeout      time.Duration
	retry        time.Duration
	parser       *jwt.Parser
	unknownKID   *rate.Limiter

	keys atomic.Pointer[keySet]

	// refreshMu serializes refreshes; jwksURI and docIssuer are what the
	// discovery document said (empty until it has been read).
	refreshMu sync.Mutex
	jwksURI   string
	docIssuer string

	cancel context.CancelFunc
	done   chan struct{}
}

// keySet is one loaded JWKS.
type keySet struct {
	kf      keyfunc.Keyfunc
	kids    []string
	fetched time.Time
}

// New returns the authenticator for auth.type oidc. It reads the discovery
// document and key set once (bounded by jwks_request_timeout_seconds); if
// the provider cannot be reached it still returns, logs a warning and keeps
// trying in the background. It fails only for configuration errors (no
// discovery URL, an unreadable ca_cert_path). ctx bounds the background
// refresh as Close does.
func New(ctx context.Context, cfg config.AuthConfig, log *slog.Logger) (*Authenticator, error) {
	return NewWithOptions(ctx, cfg, log, Options{})
}

// NewWithOptions is New with a refresh policy other than the defaults.
func NewWithOptions(ctx context.Context, cfg config.AuthConfig, log *slog.Logger, opts Options) (*Authenticator, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.AuthDiscoveryURL == "" {
		return nil, errors.New("auth.type oidc needs auth.auth_discovery_url (the provider's /.well-known/openid-configuration URL)")
	}
	client, err := httpClient(cfg)
	if err != nil {
		return nil, err
	}
	if opts.UnknownKIDInterval <= 0 {
		opts.UnknownKIDInterval = DefaultUnknownKIDInterval
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	a := &Authenticator{
		log:          log.With("auth", "oidc"),
		client:       client,
		discoveryURL: cfg.AuthDiscoveryURL,
		clientID:     cfg.ClientID,
		audience:     cfg.Audience,
		issuer:       cfg.Issuer,
		lifespan:     cfg.JWKSCacheLifespan(),
		timeout:      cfg.JWKSRequestTimeout(),
		retry:        min(opts.RetryInterval, cfg.JWKSCacheLifespan()),
		unknownKID:   rate.NewLimiter(rate.Every(opts.UnknownKIDInterval), 1),
		done:         make(chan struct{}),
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(Algorithms),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
	}
	if a.audience != "" {
		popts = append(popts, jwt.WithAudience(a.audience))
	}
	if a.issuer != "" {
		popts = append(popts, jwt.WithIssuer(a.issuer))
	}
	a.parser = jwt.NewParser(popts...)

	next := a.lifespan
	if err := a.refresh(ctx); err != nil {
		a.log.Warn("OIDC provider not reachable at start; requests get 503 until its keys are loaded, retrying in the background",
			"discovery_url", a.discoveryURL, "retry_in", a.retry, "error", err)
		next = a.retry
	}
	ctx, a.cancel = context.WithCancel(ctx)
	go a.loop(ctx, next)
	return a, nil
}

// httpClient is the client used to reach the provider: system roots plus
// ca_cert_path, or no verification with verify_ssl: false.
func httpClient(cfg config.AuthConfig) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACertPath != "" {
		pem, err := os.ReadFile(cfg.CACertPath)
		if err != nil {
			return nil, fmt.Errorf("auth.ca_cert_path: reading the provider's CA certificate %s: %w", cfg.CACertPath, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("auth.ca_cert_path: %s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)", cfg.CACertPath)
		}
		tlsCfg.RootCAs = pool
	}
	if !cfg.VerifyTLS() {
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // verify_ssl: false asks for it
	}
	tr.TLSClientConfig = tlsCfg
	return &http.Client{Transport: tr}, nil
}

// Close stops the background refresh. The authenticator keeps verifying
// with the keys it has.
func (a *Authenticator) Close() {
	a.cancel()
	<-a.done
}

// loop refreshes the key set every lifespan, and every retry interval
// after a failure.
func (a *Authenticator) loop(ctx context.Context, next time.Duration) {
	defer close(a.done)
	t := time.NewTimer(next)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next = a.lifespan
		if err := a.refresh(ctx); err != nil {
			level := slog.LevelWarn
			if a.keys.Load() == nil {
				level = slog.LevelError
			}
			a.log.Log(ctx, level, "refreshing the OIDC provider's keys failed; keeping the cached keys", "discovery_url", a.discoveryURL,
				"keys_loaded", a.keys.Load() != nil, "retry_in", a.retry, "error", err)
			next = a.retry
		}
		t.Reset(next)
	}
}

// refresh reads the discovery document (unless known) and the key set,
// and replaces the cached keys. On failure the cached keys stay.
func (a *Authenticator) refresh(ctx context.Context) error {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	return a.refreshLocked(ctx)
}

func (a *Authenticator) refreshLocked(ctx context.Context) error {
	if a.jwksURI == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := a.getJSON(ctx, a.discoveryURL, &doc); err != nil {
			return fmt.Errorf("discovery document: %w", err)
		}
		if doc.JWKSURI == "" {
			return fmt.Errorf("discovery document %s has no jwks_uri", a.discoveryURL)
		}
		a.jwksURI, a.docIssuer = doc.JWKSURI, doc.Issuer
		if a.issuer != "" && doc.Issuer != "" && doc.Issuer != a.issuer {
			a.log.Warn("auth.issuer differs from the issuer of the discovery document; tokens of this provider will be refused",
				"issuer", a.issuer, "document_issuer", doc.Issuer)
		}
	}
	var set jwkset.JWKSMarshal
	if err := a.getJSON(ctx, a.jwksURI, &set); err != nil {
		// The next attempt reads the discovery document again, in case
		// the provider moved its keys.
		a.jwksURI = ""
		return fmt.Errorf("key set: %w", err)
	}
	ks, err := newKeySet(set)
	if err != nil {
		return fmt.Errorf("key set %s: %w", a.jwksURI, err)
	}
	old := a.keys.Swap(ks)
	if old == nil || !slices.Equal(old.kids, ks.kids) {
		a.log.Info("loaded the OIDC provider's keys", "jwks_uri", a.jwksURI, "kids", ks.kids)
	}
	return nil
}

// newKeySet keeps the signature keys of a JWKS: asymmetric keys not
// marked for encryption. Keys jwkset does not support are skipped.
func newKeySet(set jwkset.JWKSMarshal) (*keySet, error) {
	store := jwkset.NewMemoryStorage()
	var kids []string
	var skipped []error
	for _, m := range set.Keys {
		if m.USE == jwkset.UseEnc || m.KTY == jwkset.KtyOct {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			skipped = append(skipped, fmt.Errorf("kid %q: %w", m.KID, err))
			continue
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			return nil, err
		}
		kids = append(kids, m.KID)
	}
	if len(kids) == 0 {
		return nil, fmt.Errorf("no usable signature key (of %d keys): %w", len(set.Keys), errors.Join(skipped...))
	}
	kf, err := keyfunc.New(keyfunc.Options{Storage: store})
	if err != nil {
		return nil, err
	}
	return &keySet{kf: kf, kids: kids, fetched: time.Now()}, nil
}

func (a *Authenticator) getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return fmt.Errorf("GET %s: HTTP %s", url, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentBytes)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decoding JSON: %w", url, err)
	}
	return nil
}

// refreshIfAllowed refreshes the keys unless the unknown-kid rate limit
// forbids it now; it reports whether the key set changed from seen. A
// caller that finds a refresh in flight waits for it if wait is set and
// otherwise returns at once.
func (a *Authenticator) refreshIfAllowed(ctx context.Context, seen *keySet, wait bool) bool {
	if wait {
		a.refreshMu.Lock()
	} else if !a.refreshMu.TryLock() {
		return false
	}
	defer a.refreshMu.Unlock()
	if cur := a.keys.Load(); cur != seen {
		return true // someone else refreshed while we waited
	}
	if !a.unknownKID.Allow() {
		return false
	}
	// A client that goes away does not abort the refresh other requests
	// wait for; jwks_request_timeout_seconds bounds it.
	if err := a.refreshLocked(context.WithoutCancel(ctx)); err != nil {
		a.log.Warn("refreshing the OIDC provider's keys for an unknown kid failed", "error", err)
		return false
	}
	return a.keys.Load() != seen
}

// Authenticate verifies token and returns its user. A token that is not
// accepted is an *auth.Error with a short reason; while the provider's keys
// have never been loaded the error has Unavailable set.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*auth.User, error) {
	ks := a.keys.Load()
	if ks == nil {
		a.refreshIfAllowed(ctx, nil, false)
		if ks = a.keys.Load(); ks == nil {
			return nil, &auth.Error{Msg: "identity provider unavailable: its signing keys could not be loaded yet", Unavailable: true}
		}
	}
	claims, err := a.verify(ks, token)
	if err != nil && errors.Is(err, jwkset.ErrKeyNotFound) && a.refreshIfAllowed(ctx, ks, true) {
		claims, err = a.verify(a.keys.Load(), token)
	}
	if err != nil {
		return nil, &auth.Error{Msg: reason(err), Err: err}
	}
	u, err := userFrom(claims, a.clientID)
	if err != nil {
		return nil, err
	}
	// Callers that cache the user (the server's verified-token cache) stop
	// at the token's expiry.
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		u.Expires = exp.Time
	}
	return u, nil
}

func (a *Authenticator) verify(ks *keySet, token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	if _, err := a.parser.ParseWithClaims(token, claims, ks.kf.Keyfunc); err != nil {
		return nil, err
	}
	return claims, nil
}

// reason is the client-safe message for a verification error.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token malformed: not a signed JWT"
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return "token signed with an unknown key (kid not in the provider's key set)"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token cannot be verified (algorithm or key not accepted)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if strings.Contains(err.Error(), "signing method") {
			return "token algorithm not accepted (allowed: " + strings.Join(Algorithms, ", ") + ")"
		}
		return "token signature invalid"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, c := range []struct{ claim, why string }{
			{"aud", " (auth.audience is set)"}, {"iss", " (auth.issuer is set)"}, {"exp", ""},
		} {
			if strings.Contains(err.Error(), c.claim+" claim is required") {
				return "token has no " + c.claim + " claim" + c.why
			}
		}
		return "token lacks a required claim"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token audience does not match auth.audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token issuer does not match auth.issuer"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return "token claims invalid"
	}
	return "invalid token"
}

// usernameClaims are read in order; the first non-empty one is the
// username (Feast's order).
var usernameClaims = []string{"preferred_username", "upn", "azp", "appid", "sub"}

// userFrom maps claims to a user as Feast does: the username is the first
// of usernameClaims, roles are resource_access.<clientID>.roles plus a
// top-level roles claim, groups the groups claim.
func userFrom(claims jwt.MapClaims, clientID string) (*auth.User, error) {
	var name string
	for _, c := range usernameClaims {
		if s, ok := claims[c].(string); ok && s != "" {
			name = s
			break
		}
	}
	if name == "" {
		return nil, &auth.Error{Msg: "token has no username claim (preferred_username, upn, azp, appid or sub)"}
	}
	var roles []string
	if clientID != "" {
		if ra, ok := claims["resource_access"].(map[string]any); ok {
			if cl, ok := ra[clientID].(map[string]any); ok {
				roles = append(roles, stringList(cl["roles"])...)
			}
		}
	}
	roles = append(roles, stringList(claims["roles"])...)
	return auth.NewUser(name, roles, stringList(claims["groups"]), nil), nil
}

// stringList is a claim as a list of strings: a JSON array (non-strings
// dropped) or a single string.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// DiscoveredIssuer is the issuer the provider's discovery document
// names (empty until it has been read). It is not enforced unless
// auth.issuer is set; it helps when writing that setting.
func (a *Authenticator) DiscoveredIssuer() string {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	return a.docIssuer
}
