package objstore

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/feastgo/feast/internal/redact"
)

// Schemes are the object-store URL schemes a file source path may use
// (file:// paths are local and read by the engine directly).
var Schemes = []string{"s3", "gs", "azblob", "mem"}

// IsRemote reports whether a source path names an object store (s3://,
// gs://, azblob:// or, in tests, mem://) rather than a local file.
func IsRemote(p string) bool {
	scheme, _, ok := strings.Cut(p, "://")
	if !ok {
		return false
	}
	for _, s := range Schemes {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}

// Location is a parsed object-store path: the bucket to open and the key,
// prefix or glob inside it.
type Location struct {
	// Scheme is s3, gs, azblob or mem.
	Scheme string
	// Bucket is the bucket (container) name.
	Bucket string
	// BucketURL opens the bucket with gocloud.dev/blob: scheme, bucket and
	// the path's query parameters (endpoint, region, use_path_style, ...).
	BucketURL string
	// Key is the path inside the bucket without a leading slash: an object
	// key, a prefix ending in "/", or a glob.
	Key string
	// Glob is the compiled pattern when Key has wildcards (*, ?, [...], and
	// ** across folders).
	Glob *regexp.Regexp
}

// String is the location as written, with credentials in the query (if
// any) redacted, for messages.
func (l Location) String() string {
	return redact.String(l.BucketURL)
}

// ObjectURL names one object of the location's bucket, for messages.
func (l Location) ObjectURL(key string) string {
	return l.Scheme + "://" + l.Bucket + "/" + key
}

// ListPrefix is the key prefix to list: everything before the first
// wildcard of a glob, else the key itself.
func (l Location) ListPrefix() string {
	if i := strings.IndexAny(l.Key, "*?["); i >= 0 {
		return l.Key[:i]
	}
	return l.Key
}

// HasGlob reports whether the key has wildcards.
func (l Location) HasGlob() bool { return l.Glob != nil }

// ParseLocation parses an object-store path such as
// s3://bucket/features/dt=*/part-*.parquet?region=eu-west-1. s3Endpoint,
// when not empty and the path has no endpoint parameter, is added to s3://
// paths as their endpoint with path-style addressing (S3-compatible stores
// such as MinIO).
func ParseLocation(p, s3Endpoint string) (Location, error) {
	u, err := url.Parse(p)
	if err != nil {
		return Location{}, fmt.Errorf("object-store path %s: %w", redact.String(p), redact.Error(err, p))
	}
	scheme := strings.ToLower(u.Scheme)
	if !IsRemote(scheme + "://") {
		return Location{}, fmt.Errorf("object-store path %s: scheme %q is not one of %s", redact.String(p), u.Scheme, strings.Join(Schemes, ", "))
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("object-store path %s has no bucket (write %s://BUCKET/PREFIX)", redact.String(p), scheme)
	}
	q := u.Query()
	if scheme == "s3" && s3Endpoint != "" && q.Get("endpoint") == "" {
		q.Set("endpoint", s3Endpoint)
		if q.Get("use_path_style") == "" && q.Get("s3ForcePathStyle") == "" {
			q.Set("use_path_style", "true")
		}
		if strings.HasPrefix(s3Endpoint, "http://") && q.Get("disable_https") == "" {
			q.Set("disable_https", "true")
		}
	}
	b := url.URL{Scheme: scheme, Host: u.Host, RawQuery: q.Encode()}
	l := Location{Scheme: scheme, Bucket: u.Host, BucketURL: b.String(), Key: strings.TrimPrefix(u.Path, "/")}
	if strings.ContainsAny(l.Key, "*?[") {
		re, err := globRegexp(l.Key)
		if err != nil {
			return Location{}, fmt.Errorf("object-store path %s: %w", redact.String(p), err)
		}
		l.Glob = re
	}
	return l, nil
}

// globRegexp compiles a key glob: * and ? within one folder, ** across
// folders, [...] classes as in path.Match.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				i++
				if i+1 < len(glob) && glob[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?") // **/ matches zero or more folders
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := strings.IndexByte(glob[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("glob %s has an unclosed [", glob)
			}
			class := glob[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// formatOf is the file format of a key by its extension, as
// offline.FileFormat names it ("" when unknown).
func formatOf(key string) string {
	k := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(key, ".gz"), ".zst"))
	switch path.Ext(k) {
	case ".parquet", ".pq":
		return "parquet"
	case ".csv", ".tsv", ".txt":
		return "csv"
	}
	return ""
}
