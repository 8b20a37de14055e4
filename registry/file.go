package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	// Object-store drivers for registry paths: s3://, gs://, and the local
	// file:// and mem:// drivers used in tests.
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/feastgo/feast/internal/redact"
	"github.com/feastgo/feast/proto/feast/core"
)

// SchemaVersion is Feast's registry_schema_version.
const SchemaVersion = "1"

// FileStore keeps the whole registry as one serialized feast.core.Registry
// message, in a local file or an object-store blob, as Feast's file registry
// does. Local files are replaced atomically (temp file, fsync, rename) and
// updates are serialized across processes with an flock on "<path>.lock".
// Object-store updates are serialized within the process only: concurrent
// applies from several machines to one blob are last-writer-wins, as in Feast.
type FileStore struct {
	mu sync.Mutex
	// Exactly one of path (local) or bucket+key (object store) is set.
	path      string
	bucket    *blob.Bucket
	bucketURL string
	key       string
	now       func() time.Time
}

var _ Store = (*FileStore)(nil)

// OpenFile opens a file registry. location is a local path or a URL with a
// scheme gocloud.dev/blob understands (s3://bucket/key, gs://bucket/key,
// file:///dir/key, mem://bucket/key).
func OpenFile(ctx context.Context, location string) (*FileStore, error) {
	if !strings.Contains(location, "://") {
		return &FileStore{path: location, now: time.Now}, nil
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("registry path %q: %w", redact.String(location), redact.Error(err, location))
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key == "" {
		return nil, fmt.Errorf("registry path %q has no object key", redact.String(location))
	}
	bucketURL := *u
	bucketURL.Path = ""
	if u.Scheme == "file" {
		// fileblob's bucket is a directory; the key is the file name in it.
		bucketURL.Path = filepath.Dir(u.Path)
		key = filepath.Base(u.Path)
		if err := os.MkdirAll(bucketURL.Path, 0o755); err != nil {
			return nil, fmt.Errorf("create registry directory: %w", err)
		}
	}
	b, err := blob.OpenBucket(ctx, bucketURL.String())
	if err != nil {
		return nil, fmt.Errorf("open registry bucket %s: %w", redact.String(bucketURL.String()), redact.Error(err, location, bucketURL.String()))
	}
	return &FileStore{bucket: b, bucketURL: bucketURL.String(), key: key, now: time.Now}, nil
}

// Load reads the registry. A missing file loads as an empty registry.
func (s *FileStore) Load(ctx context.Context, _ string) (*core.Registry, error) {
	if s.bucket != nil {
		l := s.blobLock()
		l.Lock()
		defer l.Unlock()
	}
	data, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return decode(data, s.location())
}

func decode(data []byte, where string) (*core.Registry, error) {
	r := &core.Registry{}
	if err := proto.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("decode registry %s: %w (is it a Feast registry file?)", where, err)
	}
	// Feast and write both set last_updated on every commit, and write
	// puts it last in the file: without it the bytes are a cut-short
	// copy (a prefix of a registry decodes cleanly when the cut falls
	// between two objects) or not a registry at all.
	if len(data) > 0 && r.GetLastUpdated() == nil {
		return nil, fmt.Errorf("decode registry %s: it has no last_updated field, so it is truncated or is not a Feast registry; "+
			"restore it from a backup (or remove it and run feast apply)", where)
	}
	return r, nil
}

func (s *FileStore) location() string {
	if s.bucket != nil {
		return s.key
	}
	return s.path
}

func (s *FileStore) read(ctx context.Context) ([]byte, error) {
	if s.bucket != nil {
		data, err := s.bucket.ReadAll(ctx, s.key)
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read registry %s: %w", s.key, err)
		}
		return data, nil
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	return data, nil
}

// blobLocks serializes registry updates to one object-store location
// within this process (several FileStores may point at the same blob).
// Object stores offer no portable cross-machine lock, so applies from
// several machines to one blob are last-writer-wins, as in Feast.
var blobLocks sync.Map // location -> *sync.Mutex

func (s *FileStore) blobLock() *sync.Mutex {
	m, _ := blobLocks.LoadOrStore(s.bucketURL+"/"+s.key, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// Update applies fn under the registry lock and writes the result atomically.
func (s *FileStore) Update(ctx context.Context, _ string, fn func(*core.Registry) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket != nil {
		l := s.blobLock()
		l.Lock()
		defer l.Unlock()
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	data, err := s.read(ctx)
	if err != nil {
		return err
	}
	r, err := decode(data, s.location())
	if err != nil {
		return err
	}
	if err := fn(r); err != nil {
		return err
	}
	return s.write(ctx, r)
}

// Delete removes every object of project from the registry.
func (s *FileStore) Delete(ctx context.Context, project string) error {
	return s.Update(ctx, project, func(r *core.Registry) error {
		DeleteProject(r, project)
		return nil
	})
}

func (s *FileStore) lock() (func(), error) {
	if s.bucket != nil {
		return func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return nil, fmt.Errorf("create registry directory: %w", err)
	}
	f, err := os.OpenFile(s.path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open registry lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock registry: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func (s *FileStore) write(ctx context.Context, r *core.Registry) error {
	r.RegistrySchemaVersion = SchemaVersion
	r.VersionId = uuid.NewString()
	data, err := encode(r, s.now())
	if err != nil {
		return err
	}
	if s.bucket != nil {
		if err := s.bucket.WriteAll(ctx, s.key, data, nil); err != nil {
			return fmt.Errorf("write registry %s: %w", s.key, err)
		}
		return nil
	}
	return writeFileAtomic(s.path, data)
}

// encode serializes r with last_updated set to now and written as the
// file's last field (protobuf readers accept fields in any order), so that
// every proper prefix of the file lacks it or fails to decode: decode
// rejects both, and a truncated registry is never read as a smaller one.
func encode(r *core.Registry, now time.Time) ([]byte, error) {
	r.LastUpdated = nil
	opts := proto.MarshalOptions{Deterministic: true}
	data, err := opts.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode registry: %w", err)
	}
	r.LastUpdated = timestamppb.New(now)
	data, err = opts.MarshalAppend(data, &core.Registry{LastUpdated: r.LastUpdated})
	if err != nil {
		return nil, fmt.Errorf("encode registry: %w", err)
	}
	return data, nil
}

// writeFileAtomic replaces path with data: a reader sees the old bytes or the
// new bytes, never a mix, and a crash leaves one of the two.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, strings.NewReader(string(data))); err != nil {
		tmp.Close()
		return fmt.Errorf("write registry: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync registry: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace registry: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Close releases the bucket, if any.
func (s *FileStore) Close() error {
	if s.bucket != nil {
		return s.bucket.Close()
	}
	return nil
}
