package objstore

import (
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// cache tracks the staged objects on local disk: their sizes, when each was
// last used and how many running reads use it (pins). Unpinned objects are
// removed, least recently used first, once the total exceeds max; pinned
// ones never are, so a single read may take the total past max until it
// ends. It is safe for concurrent use.
type cache struct {
	dir string
	max int64

	mu      sync.Mutex
	entries map[string]*entry
	total   int64
	clock   int64
}

type entry struct {
	size int64
	used int64
	pins int
}

// openCache adopts the files a previous process left in dir (a configured,
// persistent directory) and removes unfinished downloads.
func openCache(dir string, max int64) (*cache, error) {
	c := &cache{dir: dir, max: max, entries: map[string]*entry{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type found struct {
		path string
		size int64
		mod  int64
	}
	var files []found
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(d.Name(), ".download-") {
			os.Remove(p)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		files = append(files, found{p, info.Size(), info.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b found) int { return cmp.Compare(a.mod, b.mod) })
	for _, f := range files {
		c.clock++
		c.entries[f.path] = &entry{size: f.size, used: c.clock}
		c.total += f.size
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// pin marks a cached file as used by a read; it reports false when the
// file is not cached.
func (c *cache) pin(path string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[path]
	if !ok {
		return false
	}
	c.clock++
	e.used, e.pins = c.clock, e.pins+1
	return true
}

// add records a file just downloaded, unpinned.
func (c *cache) add(path string, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[path]; ok {
		return
	}
	c.clock++
	c.entries[path] = &entry{size: size, used: c.clock}
	c.total += size
}

// unpin ends a read's use of its files and evicts what no longer fits.
func (c *cache) unpin(paths []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range paths {
		if e, ok := c.entries[p]; ok && e.pins > 0 {
			e.pins--
		}
	}
	c.evictLocked()
}

// size is the bytes the cache holds on disk.
func (c *cache) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

func (c *cache) evictLocked() {
	if c.total <= c.max {
		return
	}
	var idle []string
	for p, e := range c.entries {
		if e.pins == 0 {
			idle = append(idle, p)
		}
	}
	slices.SortFunc(idle, func(a, b string) int { return cmp.Compare(c.entries[a].used, c.entries[b].used) })
	for _, p := range idle {
		if c.total <= c.max {
			return
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			continue // kept; tried again at the next eviction
		}
		c.total -= c.entries[p].size
		delete(c.entries, p)
	}
}
