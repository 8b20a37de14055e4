package lambda_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/lambda"
	"github.com/feastgo/feast/server"
)

// seen is what the echo handler observed of a request.
type seen struct {
	Method, Path, RawQuery, Host, RemoteAddr, Body, Cookie, ContentType string
	Tags, XTest                                                         []string
	HasDeadline                                                         bool
}

// echo answers with what it saw, sets two cookies and a repeated header,
// and serves binary bytes on /binary.
func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/binary" {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0, 1, 2, 0xff, 0xfe})
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, hasDeadline := r.Context().Deadline()
		s := seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, RemoteAddr: r.RemoteAddr,
			Body: string(body), Cookie: r.Header.Get("Cookie"), ContentType: r.Header.Get("Content-Type"),
			Tags: r.URL.Query()["tag"], XTest: r.Header.Values("X-Test"), HasDeadline: hasDeadline,
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		http.SetCookie(w, &http.Cookie{Name: "c1", Value: "v1"})
		http.SetCookie(w, &http.Cookie{Name: "c2", Value: "v2"})
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(s)
	})
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const wantBody = `{"features":["driver_hourly_stats:conv_rate"],"entities":{"driver_id":[1001]}}`

func invoke(t *testing.T, h *lambda.Handler, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeSeen(t *testing.T, body string, b64 bool) seen {
	t.Helper()
	if b64 {
		t.Fatal("a JSON response must not be base64-encoded")
	}
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("response body %q: %v", body, err)
	}
	return s
}

func checkSeen(t *testing.T, s seen, wantPath, wantHost, wantIP string, wantCookie bool) {
	t.Helper()
	if s.Method != "POST" || s.Path != wantPath || s.Host != wantHost || s.RemoteAddr != wantIP+":0" && wantIP != "" {
		t.Errorf("request line: %+v", s)
	}
	if s.Body != wantBody || s.ContentType != "application/json" || !s.HasDeadline {
		t.Errorf("body/content type/deadline: %+v", s)
	}
	if strings.Join(s.Tags, ",") != "a,b" || !strings.Contains(s.RawQuery, "full_feature_names=true") {
		t.Errorf("query: %q tags %v", s.RawQuery, s.Tags)
	}
	if strings.Join(s.XTest, ",") != "one,two" {
		t.Errorf("X-Test: %v", s.XTest)
	}
	if wantCookie && s.Cookie != "session=s1; theme=dark" {
		t.Errorf("Cookie: %q", s.Cookie)
	}
}

// TestRuntimeCallsInvoke checks that aws-lambda-go's Start, which wraps its
// argument as NewHandler does, hands the payload to Handler.Invoke instead of
// treating the Handler as a reflected function.
func TestRuntimeCallsInvoke(t *testing.T) {
	h := lambda.New(echo(), lambda.Options{})
	payload := fixture(t, "rest_api_v1.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := awslambda.NewHandler(h).Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("runtime response %s: %v", out, err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want %d", resp.StatusCode, http.StatusCreated)
	}
	checkSeen(t, decodeSeen(t, resp.Body, resp.IsBase64Encoded), "/get-online-features", "abc123.execute-api.us-east-1.amazonaws.com", "203.0.113.7", false)
}

func TestRESTAPIv1(t *testing.T) {
	out := invoke(t, lambda.New(echo(), lambda.Options{}), fixture(t, "rest_api_v1.json"))
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	checkSeen(t, decodeSeen(t, resp.Body, resp.IsBase64Encoded), "/get-online-features", "abc123.execute-api.us-east-1.amazonaws.com", "203.0.113.7", false)
	if got := resp.MultiValueHeaders["X-Multi"]; strings.Join(got, ",") != "a,b" {
		t.Errorf("X-Multi %v", got)
	}
	if got := resp.MultiValueHeaders["Set-Cookie"]; len(got) != 2 {
		t.Errorf("Set-Cookie %v", got)
	}
}

func TestHTTPAPIv2WithStage(t *testing.T) {
	out := invoke(t, lambda.New(echo(), lambda.Options{StripPrefix: "/prod"}), fixture(t, "http_api_v2.json"))
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The base64 request body was decoded; the stage prefix stripped.
	checkSeen(t, decodeSeen(t, resp.Body, resp.IsBase64Encoded), "/get-online-features", "abc123.execute-api.us-east-1.amazonaws.com", "203.0.113.8", true)
	if resp.Headers["X-Multi"] != "a,b" || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("headers %v", resp.Headers)
	}
	if _, ok := resp.Headers["Set-Cookie"]; ok || strings.Join(resp.Cookies, "|") != "c1=v1|c2=v2" {
		t.Errorf("cookies %v, headers %v", resp.Cookies, resp.Headers)
	}
}

func TestFunctionURL(t *testing.T) {
	out := invoke(t, lambda.New(echo(), lambda.Options{}), fixture(t, "function_url.json"))
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	checkSeen(t, decodeSeen(t, resp.Body, resp.IsBase64Encoded), "/get-online-features", "abcdefg.lambda-url.us-east-1.on.aws", "203.0.113.9", true)
}

func TestALB(t *testing.T) {
	out := invoke(t, lambda.New(echo(), lambda.Options{}), fixture(t, "alb.json"))
	var resp events.ALBTargetGroupResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || resp.StatusDescription != "201 Created" {
		t.Fatalf("status %d %q", resp.StatusCode, resp.StatusDescription)
	}
	checkSeen(t, decodeSeen(t, resp.Body, resp.IsBase64Encoded), "/get-online-features", "feast-alb-123.us-east-1.elb.amazonaws.com", "", true)
	if strings.Join(resp.MultiValueHeaders["X-Multi"], ",") != "a,b" || resp.Headers != nil {
		t.Errorf("a multi-value target group gets multi-value headers: %v / %v", resp.MultiValueHeaders, resp.Headers)
	}
}

func TestBinaryResponseIsBase64(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/binary"}
	ev.RequestContext.HTTP.Method = "GET"
	payload, _ := json.Marshal(ev)
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(invoke(t, lambda.New(echo(), lambda.Options{}), payload), &resp); err != nil {
		t.Fatal(err)
	}
	got, err := base64.StdEncoding.DecodeString(resp.Body)
	if !resp.IsBase64Encoded || err != nil || !bytes.Equal(got, []byte{0, 1, 2, 0xff, 0xfe}) {
		t.Fatalf("binary body %q (base64 %v): %v", resp.Body, resp.IsBase64Encoded, err)
	}
}

func TestBadEvents(t *testing.T) {
	h := lambda.New(echo(), lambda.Options{MaxBodyBytes: 10})
	if _, err := h.Invoke(context.Background(), []byte(`{"source":"aws.events","detail-type":"Scheduled Event"}`)); !errors.Is(err, lambda.ErrUnsupportedEvent) {
		t.Errorf("scheduled event: %v", err)
	}
	if _, err := h.Invoke(context.Background(), []byte(`not json`)); err == nil {
		t.Error("invalid JSON must fail")
	}
	// A body over the limit and a broken base64 body are 400 responses, not invocation errors.
	for _, payload := range []string{
		`{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"POST"}},"body":"this body is too long"}`,
		`{"httpMethod":"POST","path":"/x","body":"!!!","isBase64Encoded":true}`,
	} {
		out, err := h.Invoke(context.Background(), []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		var resp struct{ StatusCode int }
		json.Unmarshal(out, &resp)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", payload, resp.StatusCode)
		}
	}
}

// TestFeatureServerOverLambda serves the real feature server through the
// adapter and checks that answers equal those of the handler over HTTP.
func TestFeatureServerOverLambda(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := examples.WriteRepo(dir, "demo", now); err != nil {
		t.Fatal(err)
	}
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(fs, server.Options{NoAccessLog: true, RegistryTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	adapter := lambda.New(h, lambda.Options{})

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/health", ""},
		{"POST", "/get-online-features", `{"features":["driver_hourly_stats:conv_rate","driver_hourly_stats:avg_daily_trips"],"entities":{"driver_id":[1001,1002,9999]},"full_feature_names":true}`},
		{"POST", "/get-online-features", `{"features":["no_such_view:x"],"entities":{"driver_id":[1001]}}`},
	} {
		direct := httptest.NewRecorder()
		h.ServeHTTP(direct, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))

		ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: c.path, Body: c.body,
			Headers: map[string]string{"content-type": "application/json"}}
		ev.RequestContext.HTTP.Method = c.method
		payload, _ := json.Marshal(ev)
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(invoke(t, adapter, payload), &resp); err != nil {
			t.Fatal(err)
		}
		// The registry snapshot's age on /health grows between the two calls.
		age := regexp.MustCompile(`"age_seconds":[0-9.e+-]+`)
		got, want := age.ReplaceAllString(resp.Body, `"age_seconds":0`), age.ReplaceAllString(direct.Body.String(), `"age_seconds":0`)
		if resp.StatusCode != direct.Code || resp.IsBase64Encoded || !sameJSON(got, want) {
			t.Errorf("%s %s over lambda: %d %s\ndirect: %d %s", c.method, c.path, resp.StatusCode, resp.Body, direct.Code, direct.Body)
		}
		if c.method == "POST" && strings.Contains(c.body, "1002") && (direct.Code != http.StatusOK || !strings.Contains(resp.Body, "driver_hourly_stats__conv_rate")) {
			t.Errorf("online features over lambda: %d %s", resp.StatusCode, resp.Body)
		}
	}
}

// sameJSON compares two JSON documents ignoring formatting, or two
// non-JSON bodies byte for byte.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
