package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	st "github.com/feastgo/feast/server/servingtest"
)

// testIdP is an OpenID provider started by the test: a discovery document
// and one RSA key in its JWKS.
type testIdP struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp := &testIdP{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": idp.srv.URL, "jwks_uri": idp.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *testIdP) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(idp.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOIDCServer runs the server with auth.type oidc from feature_store.yaml
// against a provider started by the test: Keycloak-shaped client roles
// decide with the registry's permissions, on both HTTP transports.
func TestOIDCServer(t *testing.T) {
	idp := newTestIdP(t)
	authYAML := "online_store:\n  type: sqlite\n  path: data/online.db\nauth:\n  type: oidc\n  client_id: feast\n  auth_discovery_url: " +
		idp.srv.URL + "/.well-known/openid-configuration\n  audience: feast\n"
	f := st.NewRepo(t, t.TempDir(), "teams", authYAML, teamDefs, false)
	s := newServer(t, f, Options{})
	t.Cleanup(s.Close)
	setPermissions(t, f, teamPermissions)

	now := time.Now()
	claims := func(user, role string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"preferred_username": user, "aud": "feast", "iss": idp.srv.URL, "exp": exp.Unix(), "iat": now.Unix(),
			"resource_access": map[string]any{"feast": map[string]any{"roles": []string{role}}}}
	}
	alice := idp.token(t, claims("alice", "team-a-reader", now.Add(time.Hour)))
	expired := idp.token(t, claims("alice", "team-a-reader", now.Add(-time.Hour)))
	otherAud := claims("alice", "team-a-reader", now.Add(time.Hour))
	otherAud["aud"] = "someone-else"
	wrongAud := idp.token(t, otherAud)

	forEachTransport(t, s, func(t *testing.T, call caller) {
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer "+alice); code != 200 {
			t.Errorf("alice reads team A: %d %s", code, body)
		}
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[2].body, "Authorization", "Bearer "+alice); code != 403 ||
			!strings.Contains(body, `user \"alice\" may not READ_ONLINE FeatureView \"team_b_stats\"`) {
			t.Errorf("alice reads team B: %d %s", code, body)
		}
		for name, tok := range map[string]string{"expired": expired, "wrong audience": wrongAud, "garbage": "abc.def.ghi"} {
			code, body := call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer "+tok)
			if code != 401 || strings.Contains(body, "go-jose") || strings.Contains(body, "jwt") {
				t.Errorf("%s token: %d %s", name, code, body)
			}
		}
		if code, _ := call(t, "POST", "/push", matrixCalls[5].body); code != 401 {
			t.Errorf("push without a token: %d", code)
		}
	})
}
