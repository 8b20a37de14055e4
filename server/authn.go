package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/auth/kubernetes"
	"github.com/feastgo/feast/auth/oidc"
	"github.com/feastgo/feast/config"
)

// newAuthenticator builds the oidc or kubernetes authenticator of cfg, the
// function that stops its background work, and how long the server may
// reuse a verified token (oidc: defaultTokenCacheTTL, never past the
// token's exp; kubernetes: its cache_ttl_seconds, never past the expiry of
// the authenticator's own cache entry, so the two together keep an
// identity at most that long).
func newAuthenticator(cfg config.AuthConfig, log *slog.Logger) (auth.Authenticator, func(), time.Duration, error) {
	switch cfg.Type {
	case "oidc":
		ctx, cancel := context.WithCancel(context.Background())
		a, err := oidc.New(ctx, cfg, log)
		if err != nil {
			cancel()
			return nil, nil, 0, fmt.Errorf("auth (oidc): %w", err)
		}
		return a, func() { a.Close(); cancel() }, defaultTokenCacheTTL, nil
	case "kubernetes":
		a, err := kubernetes.New(context.Background(), cfg, log)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("auth (kubernetes): %w", err)
		}
		return a, nil, cfg.KubernetesCacheTTL(), nil
	}
	return nil, nil, 0, fmt.Errorf("auth.type %q has no authenticator", cfg.Type)
}
