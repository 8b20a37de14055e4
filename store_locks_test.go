package feast

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An offline PostgreSQL that accepts connections and never answers holds
// up the offline store's open until its connect timeout, and nothing
// else: the online store opens meanwhile (the two used to share a lock, so
// one offline push to a hung database stalled every online read, write
// and readiness check for the whole request timeout).
func TestHungOfflineOpenDoesNotBlockOnline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
			accepted <- struct{}{}
		}
	}()
	dir := t.TempDir()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := fmt.Sprintf("project: locks\nregistry: data/registry.db\nprovider: local\n"+
		"online_store: {type: sqlite, path: data/online.db}\n"+
		"offline_store: {type: postgres, host: 127.0.0.1, port: %d, database: x, user: x, connect_timeout: 3}\n", port)
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs, err := Open(ctx, Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	offlineDone := make(chan error, 1)
	started := time.Now()
	go func() {
		_, err := fs.OfflineStore(ctx)
		offlineDone <- err
	}()
	<-accepted // the offline open holds its lock and waits for an answer
	onlineCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := fs.OnlineStore(onlineCtx); err != nil {
		t.Fatalf("online store while the offline open hangs: %v", err)
	}
	select {
	case err := <-offlineDone:
		t.Fatalf("the offline open returned before the online one needed it to hang: %v", err)
	default:
	}
	err = <-offlineDone
	if err == nil || !strings.Contains(err.Error(), "open postgres offline store") || strings.Count(err.Error(), "open postgres offline store") != 1 {
		t.Fatalf("offline open of a database that never answers: %v", err)
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Fatalf("the offline open took %v; connect_timeout is 3s", took)
	}
}
