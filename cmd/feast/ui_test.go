package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUICommandAppliesAuth runs feast ui on a repository with token auth:
// pages answer the sign-in form without a token and the catalog with one.
func TestUICommandAppliesAuth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo_repo")
	mustRun(t, "init", dir)
	mustRun(t, "-c", dir, "apply")
	cfg := filepath.Join(dir, "feature_store.yaml")
	yaml, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(yaml, "auth:\n  type: token\n  tokens: [s3cret-token]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out, errOut bytes.Buffer
		cmd := newRootCmd(&out, &errOut)
		cmd.SetArgs([]string{"-c", dir, "ui", "--port", strconv.Itoa(port)})
		done <- cmd.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("feast ui: %v", err)
		}
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/feature-views", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	code, body := get("")
	for code == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		code, body = get("")
	}
	if code != http.StatusUnauthorized || !strings.Contains(body, `id="token"`) || strings.Contains(body, "driver_hourly_stats") {
		t.Fatalf("without a token: %d\n%s", code, body)
	}
	if code, body := get("s3cret-token"); code != http.StatusOK || !strings.Contains(body, "driver_hourly_stats") {
		t.Errorf("with the token: %d\n%s", code, body)
	}
	if code, _ := get("wrong"); code != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d", code)
	}
}
