// Package fakes3 starts an in-process S3-compatible server (gofakes3 over
// an httptest server) for tests and benchmarks of object-store sources: no
// cloud account, no network beyond loopback. Requests must be signed with
// AccessKey; others are refused as S3 refuses unknown keys, so tests can
// exercise wrong credentials.
package fakes3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
)

// Credentials the server accepts; Start puts them in the environment as
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
const (
	AccessKey = "FEASTTESTKEY"
	SecretKey = "feast-test-secret"
	Region    = "us-east-1"
)

// Server is a running fake S3.
type Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:PORT).
	Endpoint string
	// Backend holds the buckets and objects.
	Backend *s3mem.Backend
	srv     *httptest.Server
	hook    atomic.Pointer[func(*http.Request)]
	gets    atomic.Int64
}

// SetHook runs fn before the server answers each authorized request (a
// fault seam: delete an object as a read begins); nil removes it.
func (s *Server) SetHook(fn func(*http.Request)) {
	if fn == nil {
		s.hook.Store(nil)
		return
	}
	s.hook.Store(&fn)
}

// Gets is the number of GET requests served so far.
func (s *Server) Gets() int64 { return s.gets.Load() }

// Start starts a server with the given buckets, stops it when the test
// ends, and sets the standard AWS environment (keys, region; no profile
// files, no instance metadata) for the test.
func Start(tb testing.TB, buckets ...string) *Server {
	tb.Helper()
	s, err := StartServer(buckets...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	for k, v := range Env() {
		tb.Setenv(k, v)
	}
	return s
}

// Env is the AWS environment a client of the server needs.
func Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": AccessKey, "AWS_SECRET_ACCESS_KEY": SecretKey, "AWS_REGION": Region,
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
}

// StartServer starts a server outside a test (benchmark programs); the
// caller must Close it and set Env itself.
func StartServer(buckets ...string) (*Server, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	faker := gofakes3.New(backend, gofakes3.WithIntegrityCheck(true))
	h := faker.Server()
	s := &Server{Backend: backend}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKey+"/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		if r.Method == http.MethodGet {
			s.gets.Add(1)
		}
		if fn := s.hook.Load(); fn != nil {
			(*fn)(r)
		}
		h.ServeHTTP(w, r)
	}))
	s.Endpoint = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is an s3:// path on the server, with gocloud's URL parameters for
// it: s3://bucket/key?endpoint=...&use_path_style=true&disable_https=true&region=us-east-1.
func (s *Server) URL(bucket, key string) string {
	return "s3://" + bucket + "/" + key + "?" + s.query()
}

func (s *Server) query() string {
	return url.Values{"endpoint": {s.Endpoint}, "use_path_style": {"true"}, "disable_https": {"true"}, "region": {Region}}.Encode()
}

// Bucket opens a bucket on the server with gocloud.
func (s *Server) Bucket(ctx context.Context, bucket string) (*blob.Bucket, error) {
	return blob.OpenBucket(ctx, "s3://"+bucket+"?"+s.query())
}

// Put writes an object.
func (s *Server) Put(tb testing.TB, bucket, key string, data []byte) {
	tb.Helper()
	if err := s.PutReader(bucket, key, bytes.NewReader(data)); err != nil {
		tb.Fatal(err)
	}
}

// PutReader writes an object from a reader, streaming.
func (s *Server) PutReader(bucket, key string, r io.Reader) error {
	ctx := context.Background()
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return err
	}
	defer b.Close()
	w, err := b.NewWriter(ctx, key, nil)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// PutFile uploads a local file.
func (s *Server) PutFile(bucket, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.PutReader(bucket, key, f)
}
