package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
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

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/auth/oidc"
	"github.com/feastgo/feast/config"
)

// signer is one key of the test provider.
type signer struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func newRSA(t testing.TB, kid string) signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: jwt.SigningMethodRS256, priv: k}
}

func newEC(t testing.TB, kid string) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: jwt.SigningMethodES256, priv: k}
}

// idp is an OpenID provider: a discovery document and a JWKS of the
// published keys, with request counters and an outage switch.
type idp struct {
	srv       *httptest.Server
	mu        sync.Mutex
	published []signer
	down      atomic.Bool
	discovery atomic.Int64
	jwks      atomic.Int64
}

func newIDP(t testing.TB, tlsServer bool, keys ...signer) *idp {
	t.Helper()
	p := &idp{published: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("/realms/feast/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discovery.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":   p.issuer(),
			"jwks_uri": p.srv.URL + "/realms/feast/protocol/openid-connect/certs",
		})
	})
	mux.HandleFunc("/realms/feast/protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		p.jwks.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		set := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
		for _, s := range p.published {
			jwk, err := jwkset.NewJWKFromKey(s.priv.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
				KID: s.kid, ALG: jwkset.ALG(s.method.Alg()), USE: jwkset.UseSig}})
			if err != nil {
				t.Error(err)
				return
			}
			set.Keys = append(set.Keys, jwk.Marshal())
		}
		// An encryption key, as Keycloak publishes: never used to verify.
		set.Keys = append(set.Keys, jwkset.JWKMarshal{KTY: jwkset.KtyRSA, USE: jwkset.UseEnc, KID: "enc-key", N: "AQAB", E: "AQAB"})
		_ = json.NewEncoder(w).Encode(set)
	})
	p.srv = httptest.NewUnstartedServer(mux)
	// The untrusted-certificate case makes the server log handshake errors.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsServer {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) issuer() string       { return p.srv.URL + "/realms/feast" }
func (p *idp) discoveryURL() string { return p.issuer() + "/.well-known/openid-configuration" }
func (p *idp) publish(s signer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, s)
}

// cfg is an oidc auth config for p.
func (p *idp) cfg() config.AuthConfig {
	return config.AuthConfig{Type: "oidc", AuthDiscoveryURL: p.discoveryURL(), ClientID: "feast-client", JWKSRequestTimeoutSeconds: 2}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newAuth(t testing.TB, cfg config.AuthConfig, opts oidc.Options) *oidc.Authenticator {
	t.Helper()
	a, err := oidc.NewWithOptions(context.Background(), cfg, quiet(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// claims are valid for an hour, issued by p.
func (p *idp) claims(extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":                p.issuer(),
		"sub":                "f4e3-0001",
		"aud":                "account",
		"exp":                time.Now().Add(time.Hour).Unix(),
		"iat":                time.Now().Unix(),
		"preferred_username": "alice",
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func sign(t testing.TB, s signer, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, c)
	tok.Header["kid"] = s.kid
	str, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return str
}

// refused asserts the token is refused as a 401 whose message contains want.
func refused(t *testing.T, a *oidc.Authenticator, token, want string) {
	t.Helper()
	u, err := a.Authenticate(context.Background(), token)
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatalf("token accepted (user %+v) or not an *auth.Error: %v", u, err)
	}
	if ae.Unavailable {
		t.Fatalf("refused as unavailable, want a 401: %v", err)
	}
	if !strings.Contains(ae.Msg, want) {
		t.Fatalf("message %q, want it to contain %q", ae.Msg, want)
	}
}

func accepted(t *testing.T, a *oidc.Authenticator, token string) *auth.User {
	t.Helper()
	u, err := a.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("token refused: %v", err)
	}
	return u
}

func TestValidAndInvalidTokens(t *testing.T) {
	rsaKey, ecKey := newRSA(t, "rsa-1"), newEC(t, "ec-1")
	p := newIDP(t, false, rsaKey, ecKey)
	a := newAuth(t, p.cfg(), oidc.Options{UnknownKIDInterval: time.Hour})
	if got := a.DiscoveredIssuer(); got != p.issuer() {
		t.Errorf("DiscoveredIssuer = %q, want %q", got, p.issuer())
	}

	for _, s := range []signer{rsaKey, ecKey} {
		if u := accepted(t, a, sign(t, s, p.claims(nil))); u.Username != "alice" {
			t.Errorf("%s: username %q", s.kid, u.Username)
		}
	}
	// A JWK that names its alg (RS256) is not used for another (PS256).
	ps := rsaKey
	ps.method = jwt.SigningMethodPS256
	refused(t, a, sign(t, ps, p.claims(nil)), "cannot be verified")

	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})), "token expired")
	// Within the leeway an expired token still passes.
	accepted(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"exp": time.Now().Add(-2 * time.Second).Unix()})))
	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()})), "token not valid yet")
	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"exp": nil})), "no exp")
	refused(t, a, "not-a-jwt", "malformed")
	refused(t, a, "", "malformed")

	// Signed by a key that is not the published one, under its kid.
	forged := newRSA(t, "rsa-1")
	refused(t, a, sign(t, forged, p.claims(nil)), "token signature invalid")
	// A tampered payload.
	good := sign(t, rsaKey, p.claims(nil))
	parts := strings.Split(good, ".")
	other := strings.Split(sign(t, rsaKey, p.claims(jwt.MapClaims{"preferred_username": "admin"})), ".")
	refused(t, a, parts[0]+"."+other[1]+"."+parts[2], "token signature invalid")

	// alg none.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, p.claims(nil))
	none.Header["kid"] = "rsa-1"
	noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	refused(t, a, noneTok, "algorithm not accepted")

	// HS256 keyed with the RSA public key (algorithm confusion).
	der, err := x509.MarshalPKIXPublicKey(rsaKey.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range [][]byte{der, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})} {
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, p.claims(nil))
		hs.Header["kid"] = "rsa-1"
		hsTok, err := hs.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, a, hsTok, "algorithm not accepted")
	}

	// A token without kid is tried against every key.
	noKid := jwt.NewWithClaims(jwt.SigningMethodES256, p.claims(nil))
	noKidTok, err := noKid.SignedString(ecKey.priv)
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, a, noKidTok)

	// audience and issuer are not checked when not configured.
	accepted(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": "someone-else", "iss": "https://elsewhere"})))
	if n := p.jwks.Load(); n != 1 {
		t.Errorf("%d JWKS fetches, want 1 (keys are never fetched per request)", n)
	}
}

func TestAudienceAndIssuer(t *testing.T) {
	rsaKey := newRSA(t, "rsa-1")
	p := newIDP(t, false, rsaKey)
	cfg := p.cfg()
	cfg.Audience = "feast"
	cfg.Issuer = p.issuer()
	a := newAuth(t, cfg, oidc.Options{})

	accepted(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": "feast"})))
	accepted(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": []string{"account", "feast"}})))
	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": "account"})), "token audience")
	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": nil})), "no aud claim")
	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": "feast", "iss": nil})), "no iss claim")
	refused(t, a, sign(t, rsaKey, p.claims(jwt.MapClaims{"aud": "feast", "iss": "https://evil.example/realms/feast"})), "token issuer")
}

func TestUnknownKIDAndRotation(t *testing.T) {
	old := newRSA(t, "2024")
	p := newIDP(t, false, old)
	a := newAuth(t, p.cfg(), oidc.Options{UnknownKIDInterval: time.Second})
	stranger, stranger2 := newRSA(t, "stranger"), newRSA(t, "stranger-2")
	if n := p.jwks.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches at start, want 1", n)
	}

	// An unknown kid: one refresh, then refused.
	refused(t, a, sign(t, stranger, p.claims(nil)), "unknown key")
	if n := p.jwks.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches after an unknown kid, want 2", n)
	}
	// Another unknown kid within the rate-limit window: no fetch.
	refused(t, a, sign(t, stranger2, p.claims(nil)), "unknown key")
	refused(t, a, sign(t, stranger, p.claims(nil)), "unknown key")
	if n := p.jwks.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches after more unknown kids in the window, want still 2", n)
	}
	// Known keys go on without fetching.
	accepted(t, a, sign(t, old, p.claims(nil)))

	// Rotation: the provider publishes a new key; after the window the first
	// token signed with it refreshes the cache and is accepted.
	next := newEC(t, "2025")
	p.publish(next)
	time.Sleep(1100 * time.Millisecond)
	accepted(t, a, sign(t, next, p.claims(nil)))
	accepted(t, a, sign(t, next, p.claims(nil)))
	accepted(t, a, sign(t, old, p.claims(nil)))
	if n := p.jwks.Load(); n != 3 {
		t.Fatalf("%d JWKS fetches after rotation, want 3", n)
	}
}

func TestProviderDownWithCachedKeys(t *testing.T) {
	k := newRSA(t, "k1")
	p := newIDP(t, false, k)
	cfg := p.cfg()
	cfg.JWKSCacheLifespanSeconds = 1
	a := newAuth(t, cfg, oidc.Options{RetryInterval: 50 * time.Millisecond, UnknownKIDInterval: time.Millisecond})
	accepted(t, a, sign(t, k, p.claims(nil)))

	p.down.Store(true)
	// An unknown kid forces a refresh, which fails.
	refused(t, a, sign(t, newRSA(t, "k2"), p.claims(nil)), "unknown key")
	// Wait for a background refresh to fail as well.
	before := p.discovery.Load() + p.jwks.Load()
	deadline := time.Now().Add(5 * time.Second)
	for p.discovery.Load()+p.jwks.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no background refresh within 5s of a 1s lifespan")
		}
		time.Sleep(20 * time.Millisecond)
	}
	u := accepted(t, a, sign(t, k, p.claims(nil)))
	if u.Username != "alice" {
		t.Errorf("username %q", u.Username)
	}
}

func TestProviderDownAtStart(t *testing.T) {
	k := newRSA(t, "k1")
	p := newIDP(t, false, k)
	p.down.Store(true)
	a := newAuth(t, p.cfg(), oidc.Options{RetryInterval: 50 * time.Millisecond, UnknownKIDInterval: time.Hour})
	tok := sign(t, k, p.claims(nil))
	_, err := a.Authenticate(context.Background(), tok)
	if !auth.IsUnavailable(err) {
		t.Fatalf("provider down at start: got %v, want an Unavailable *auth.Error (503)", err)
	}
	p.down.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := a.Authenticate(context.Background(), tok)
		if err == nil {
			break
		}
		if !auth.IsUnavailable(err) {
			t.Fatalf("while recovering: %v, want 503 or success", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("not recovered within 5s of the provider coming back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProviderUnreachableAtStart(t *testing.T) {
	cfg := config.AuthConfig{Type: "oidc", AuthDiscoveryURL: "http://127.0.0.1:1/.well-known/openid-configuration", JWKSRequestTimeoutSeconds: 1}
	start := time.Now()
	a := newAuth(t, cfg, oidc.Options{})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("New took %v", d)
	}
	_, err := a.Authenticate(context.Background(), "x.y.z")
	if !auth.IsUnavailable(err) {
		t.Fatalf("got %v, want Unavailable", err)
	}
}

func TestClaimsToUser(t *testing.T) {
	k := newRSA(t, "k1")
	p := newIDP(t, false, k)
	a := newAuth(t, p.cfg(), oidc.Options{})
	noClient := p.cfg()
	noClient.ClientID = ""
	b := newAuth(t, noClient, oidc.Options{})

	keycloak := jwt.MapClaims{
		"preferred_username": "alice",
		"azp":                "feast-client",
		"resource_access": map[string]any{
			"feast-client": map[string]any{"roles": []string{"writer", "reader"}},
			"account":      map[string]any{"roles": []string{"manage-account"}},
		},
		"realm_access": map[string]any{"roles": []string{"offline_access"}},
		"roles":        []string{"super-reader", "reader"},
		"groups":       []string{"/team-a", "eng"},
	}
	for _, tc := range []struct {
		name          string
		a             *oidc.Authenticator
		claims        jwt.MapClaims
		user          string
		roles, groups []string
		wantErr       string
	}{
		{name: "keycloak", a: a, claims: keycloak, user: "alice",
			roles: []string{"reader", "super-reader", "writer"}, groups: []string{"/team-a", "eng"}},
		{name: "keycloak without client_id", a: b, claims: keycloak, user: "alice",
			roles: []string{"reader", "super-reader"}, groups: []string{"/team-a", "eng"}},
		{name: "sub fallback", a: a, claims: jwt.MapClaims{"preferred_username": nil, "sub": "CiQwOGE4Njg0Yi1kYjg4"}, user: "CiQwOGE4Njg0Yi1kYjg4"},
		{name: "empty preferred_username", a: a, claims: jwt.MapClaims{"preferred_username": "", "upn": "bob@example.com"}, user: "bob@example.com"},
		{name: "entra app", a: a, claims: jwt.MapClaims{"preferred_username": nil, "appid": "11111111-2222", "roles": []string{"Feast.Read"}},
			user: "11111111-2222", roles: []string{"Feast.Read"}},
		{name: "azp before appid and sub", a: a, claims: jwt.MapClaims{"preferred_username": nil, "azp": "svc", "appid": "x"}, user: "svc"},
		{name: "dex", a: a, claims: jwt.MapClaims{"preferred_username": nil, "name": "Carol", "groups": []any{"admins", 7, "devs"}},
			user: "f4e3-0001", groups: []string{"admins", "devs"}},
		{name: "single string roles", a: a, claims: jwt.MapClaims{"roles": "reader"}, user: "alice", roles: []string{"reader"}},
		{name: "no username", a: a, claims: jwt.MapClaims{"preferred_username": nil, "sub": nil}, wantErr: "no username claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := sign(t, k, p.claims(tc.claims))
			if tc.wantErr != "" {
				refused(t, tc.a, tok, tc.wantErr)
				return
			}
			u := accepted(t, tc.a, tok)
			if u.Username != tc.user || !slices.Equal(u.Roles, tc.roles) || !slices.Equal(u.Groups, tc.groups) || len(u.Namespaces) != 0 {
				t.Errorf("user %q roles %q groups %q namespaces %q; want %q %q %q", u.Username, u.Roles, u.Groups, u.Namespaces, tc.user, tc.roles, tc.groups)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	k := newEC(t, "k1")
	p := newIDP(t, true, k)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "idp-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := sign(t, k, p.claims(nil))

	t.Run("ca_cert_path", func(t *testing.T) {
		cfg := p.cfg()
		cfg.CACertPath = caFile
		accepted(t, newAuth(t, cfg, oidc.Options{}), tok)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		a := newAuth(t, p.cfg(), oidc.Options{})
		if _, err := a.Authenticate(context.Background(), tok); !auth.IsUnavailable(err) {
			t.Fatalf("provider with an unknown CA: got %v, want Unavailable", err)
		}
	})
	t.Run("verify_ssl false", func(t *testing.T) {
		cfg := p.cfg()
		off := false
		cfg.VerifySSL = &off
		accepted(t, newAuth(t, cfg, oidc.Options{}), tok)
	})
	t.Run("bad ca_cert_path", func(t *testing.T) {
		notPEM := filepath.Join(dir, "not.pem")
		if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(dir, "missing.pem"), notPEM} {
			cfg := p.cfg()
			cfg.CACertPath = f
			_, err := oidc.New(context.Background(), cfg, quiet())
			if err == nil || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "auth.ca_cert_path") {
				t.Errorf("ca_cert_path %s: error %v, want one naming the file and the setting", f, err)
			}
		}
	})
}

func TestNewNeedsDiscoveryURL(t *testing.T) {
	_, err := oidc.New(context.Background(), config.AuthConfig{Type: "oidc"}, nil)
	if err == nil || !strings.Contains(err.Error(), "auth_discovery_url") {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	k := newRSA(b, "k1")
	p := newIDP(b, false, k)
	a := newAuth(b, p.cfg(), oidc.Options{})
	tok := sign(b, k, p.claims(jwt.MapClaims{
		"resource_access": map[string]any{"feast-client": map[string]any{"roles": []string{"reader"}}},
		"groups":          []string{"eng"},
	}))
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConcurrentRotationFetchesOnce(t *testing.T) {
	old := newRSA(t, "old")
	p := newIDP(t, false, old)
	a := newAuth(t, p.cfg(), oidc.Options{UnknownKIDInterval: time.Hour})
	next := newEC(t, "next")
	p.publish(next)
	tok := sign(t, next, p.claims(nil))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := a.Authenticate(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := p.jwks.Load(); n != 2 {
		t.Errorf("%d JWKS fetches for 20 concurrent requests with a new kid, want 2 (start + one refresh)", n)
	}
}
