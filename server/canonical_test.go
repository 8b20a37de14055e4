package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	st "github.com/feastgo/feast/server/servingtest"
)

// Every spelling of a protected endpoint's path is refused before its body
// is read, and with a token it reaches the same handler as the plain path.
// It runs with a static token and with OIDC (where an expired token is
// refused before the body too).
func TestCanonicalPathsAuthorizeBeforeBody(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		f := st.New(t, st.SQLite())
		canonicalPathsBeforeBody(t, newServer(t, f, Options{AuthTokens: []string{"s3cret"}}), "s3cret", "")
	})
	t.Run("oidc", func(t *testing.T) {
		idp := newTestIdP(t)
		f := st.NewRepo(t, t.TempDir(), "serving", "online_store:\n  type: sqlite\n  path: data/online.db\nauth:\n  type: oidc\n  auth_discovery_url: "+
			idp.srv.URL+"/.well-known/openid-configuration\n", st.Definitions, false)
		f.WriteStandardRows(t)
		s := newServer(t, f, Options{})
		t.Cleanup(s.Close)
		now := time.Now()
		valid := idp.token(t, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()})
		expired := idp.token(t, jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix()})
		canonicalPathsBeforeBody(t, s, valid, expired)
	})
}

// canonicalPathsBeforeBody checks every spelling of the protected paths
// against s: without a token (and with badToken, when given) the answer is
// 401 before the announced body; with token the request is served.
func canonicalPathsBeforeBody(t *testing.T, s *Server, token, badToken string) {
	addr := listenerAddr(t, s)
	targets := []string{
		"/push",
		"/%70ush",
		"/%70%75%73%68",
		"/%2Fpush",
		"//push",
		"/./push",
		"/x/../push",
		"/x/%2E%2E/push",
		"http://" + addr + "/push",
		"HTTP://example.com/push?a=",
		"/%67et-online-features",
		"http://h/get-online-features?x=%70",
		"/write-to-online-stor%65",
		"/materialize%2Dincremental",
	}
	for _, target := range targets {
		// The headers announce a megabyte that is never sent: the
		// answer must come before it.
		code, body := rawRequest(t, addr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
		if code != 401 || body != `{"error":"missing bearer token: send \"Authorization: Bearer <token>\""}` {
			t.Errorf("%s without a token: %d %s", target, code, body)
		}
		if badToken != "" {
			code, body := rawRequest(t, addr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+badToken+"\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
			if code != 401 {
				t.Errorf("%s with a refused token: %d %s", target, code, body)
			}
		}
	}
	online := `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`
	for _, target := range []string{"/%67et-online-features", "//get-online-features", "http://h/get-online-features"} {
		req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", target, token, len(online), online)
		if code, body := rawRequest(t, addr, req); code != 200 || !strings.Contains(body, `"trips"`) {
			t.Errorf("%s with a token: %d %s", target, code, body)
		}
	}
	// The net/http endpoints route on the canonical path too.
	push := `{"push_source_name":"nope","df":{}}`
	req := fmt.Sprintf("POST /%%70ush HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(push), push)
	if code, body := rawRequest(t, addr, req); code == 404 && strings.Contains(body, "404 page not found") || code == 401 {
		t.Errorf("/%%70ush with a token did not reach /push: %d %s", code, body)
	}
}

func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestCanonicalizeTarget(t *testing.T) {
	for in, want := range map[string]string{
		"/push":                  "/push",
		"/push?x=1":              "/push?x=1",
		"/%70ush":                "/push",
		"/a/b/../../push":        "/push",
		"http://h:1/push?q=%20":  "/push?q=%20",
		"//get-online-features":  "/get-online-features",
		"/get%20online":          "/get%20online",
		"/push#frag":             "/push",
		"*":                      "/%2A",
		"/caf%C3%A9":             "/caf%C3%A9",
		"/x/%2e%2e/%2e/metrics/": "/metrics/",
	} {
		var h fasthttp.RequestHeader
		h.SetRequestURI(in)
		canonicalizeTarget(&h)
		if got := string(h.RequestURI()); got != want {
			t.Errorf("canonicalizeTarget(%q) = %q, want %q", in, got, want)
		}
		// Canonical output is a fixed point.
		if again := string(h.RequestURI()); !isCanonicalTarget([]byte(again)) {
			var h2 fasthttp.RequestHeader
			h2.SetRequestURI(again)
			canonicalizeTarget(&h2)
			if string(h2.RequestURI()) != again {
				t.Errorf("canonical %q is not a fixed point: %q", again, h2.RequestURI())
			}
		}
	}
}

// With auth on, gRPC server reflection needs a token as every service
// method does; health checking stays open.
func TestGRPCReflectionNeedsToken(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{AuthTokens: []string{"tok"}})
	conn := bufServer(t, s)
	list := func(ctx context.Context) error {
		stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			return err
		}
		// A stream the server has already ended answers Send with io.EOF;
		// its status comes from Recv, as gRPC documents.
		if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil && err != io.EOF {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	if err := list(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("reflection without a token: %v, want Unauthenticated", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")
	if err := list(ctx); err != nil {
		t.Errorf("reflection with a token: %v", err)
	}
}

// With auth on, /health (which needs no token) reports that a refresh
// failed without the error's text, which can name hosts, users and paths.
func TestHealthHidesRefreshErrorWithAuth(t *testing.T) {
	for _, auth := range []bool{false, true} {
		f := st.New(t, st.SQLite())
		var opts Options
		if auth {
			opts.AuthTokens = []string{"tok"}
		}
		s := newServer(t, f, opts)
		ctx := context.Background()
		if _, err := s.refresh(ctx); err != nil {
			t.Fatal(err)
		}
		regPath := filepath.Join(f.Dir, "data", "registry.db")
		if err := os.WriteFile(regPath, []byte("not a registry"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.refresh(ctx); err == nil {
			t.Fatal("refresh of a corrupt registry succeeded")
		}
		code, body := do(t, s.Handler(), "GET", "/health", "")
		leaks := strings.Contains(body, "registry.db") || strings.Contains(body, f.Dir)
		if code != 200 || !strings.Contains(body, `"status":"degraded"`) || leaks == auth {
			t.Errorf("auth=%v: %d %s", auth, code, body)
		}
		// /ready answers without a token too.
		code, body = do(t, s.Handler(), "GET", "/ready", "")
		leaks = strings.Contains(body, "registry.db") || strings.Contains(body, f.Dir)
		if code != 200 || !strings.Contains(body, `"last_refresh_error"`) || leaks == auth {
			t.Errorf("/ready auth=%v: %d %s", auth, code, body)
		}
	}
}
