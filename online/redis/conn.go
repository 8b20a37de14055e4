package redis

import (
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/feastgo/feast/internal/redact"
)

// DefaultConnectionString is used when the config names no servers.
const DefaultConnectionString = "localhost:6379"

// Default timeouts, well below the feature server's request timeout so that
// an outage answers fast (503) instead of holding requests.
const (
	// DefaultDialTimeout bounds connecting (socket_connect_timeout).
	DefaultDialTimeout = time.Second
	// DefaultReadTimeout bounds each read and ping (socket_timeout).
	DefaultReadTimeout = time.Second
)

// ConnOptions is a parsed Feast connection string.
type ConnOptions struct {
	// Addrs are the host:port entries, in order.
	Addrs    []string
	Username string
	Password string
	DB       int
	// TLS is set by ssl=true; InsecureSkipVerify by ssl_cert_reqs=none.
	TLS                bool
	InsecureSkipVerify bool
	// DialTimeout bounds connecting to a server (socket_connect_timeout=
	// seconds, redis-py's option); 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// ReadTimeout bounds each read (one online request's HMGETs) and ping
	// (socket_timeout=seconds); 0 means DefaultReadTimeout. Writes are
	// bounded by their caller instead: a materialization pipeline may
	// rightly take longer.
	ReadTimeout time.Duration
}

// TLSConfig returns the TLS configuration, or nil without ssl=true.
func (o *ConnOptions) TLSConfig() *tls.Config {
	if !o.TLS {
		return nil
	}
	return &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // opted in by ssl_cert_reqs=none
}

// ParseConnectionString parses Feast's redis connection_string:
// "host:port[,host:port...][,password=...][,username=...][,db=N][,ssl=true]
// [,socket_timeout=S][,socket_connect_timeout=S]" (timeouts in seconds,
// fractions allowed, as redis-py takes them).
// Entries without "=" are servers; values may be JSON-style quoted. Keys
// Feast passes through to redis-py that have no meaning here are an error.
func ParseConnectionString(s string) (*ConnOptions, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultConnectionString
	}
	o := &ConnOptions{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, isKV := strings.Cut(part, "=")
		if !isKV {
			host, port, err := net.SplitHostPort(part)
			if err != nil {
				// Feast allows a bare host; redis-py then uses port 6379.
				host, port = part, "6379"
			}
			if _, err := strconv.Atoi(port); err != nil || host == "" {
				return nil, fmt.Errorf("connection string: bad server %q", part)
			}
			o.Addrs = append(o.Addrs, net.JoinHostPort(host, port))
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "password":
			o.Password = v
		case "username":
			o.Username = v
		case "db":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("connection string: db=%q is not a database number", v)
			}
			o.DB = n
		case "ssl":
			b, err := parseBool(v)
			if err != nil {
				return nil, fmt.Errorf("connection string: ssl=%q: %w", v, err)
			}
			o.TLS = b
		case "ssl_cert_reqs":
			o.InsecureSkipVerify = strings.EqualFold(v, "none")
		case "socket_timeout", "socket_connect_timeout":
			d, err := parseSeconds(v)
			if err != nil {
				return nil, fmt.Errorf("connection string: %s=%q: %w", k, v, err)
			}
			if k == "socket_timeout" {
				o.ReadTimeout = d
			} else {
				o.DialTimeout = d
			}
		default:
			return nil, fmt.Errorf("connection string: unsupported option %q", k)
		}
	}
	if len(o.Addrs) == 0 {
		return nil, fmt.Errorf("connection string %q names no host:port", redact.String(s))
	}
	return o, nil
}

// parseSeconds parses a positive number of seconds ("0.5", "2").
func parseSeconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 24*3600 {
		return 0, fmt.Errorf("not a number of seconds between 0 and 86400")
	}
	return time.Duration(f * float64(time.Second)), nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}
