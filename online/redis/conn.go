package redis

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultConnectionString is used when the config names no servers.
const DefaultConnectionString = "localhost:6379"

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
}

// TLSConfig returns the TLS configuration, or nil without ssl=true.
func (o *ConnOptions) TLSConfig() *tls.Config {
	if !o.TLS {
		return nil
	}
	return &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // opted in by ssl_cert_reqs=none
}

// ParseConnectionString parses Feast's redis connection_string:
// "host:port[,host:port...][,password=...][,username=...][,db=N][,ssl=true]".
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
		default:
			return nil, fmt.Errorf("connection string: unsupported option %q", k)
		}
	}
	if len(o.Addrs) == 0 {
		return nil, fmt.Errorf("connection string %q names no host:port", s)
	}
	return o, nil
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
