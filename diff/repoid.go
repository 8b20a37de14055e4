package diff

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// RepoIDEnv overrides the identity RepoIdentity derives: set it where the
// same feature repository is checked out without a git remote, under
// different remotes (a fork), or to give two folders one identity.
const RepoIDEnv = "FEAST_REPO_ID"

// RepoID is a feature repository's identity, recorded in the RepoTag of the
// objects it applies, and how it was derived.
type RepoID struct {
	ID string
	// From says where ID comes from, for messages: "FEAST_REPO_ID", "git
	// remote origin of /path" or "the repository's absolute path".
	From string
}

// RepoIdentity derives the identity of the feature repository in dir, the
// same for one repository on a laptop and in CI:
//
//   - $FEAST_REPO_ID when set;
//   - else, in a git checkout with a remote, the remote's URL without scheme,
//     credentials, port and ".git" (git@github.com:acme/features.git and
//     https://github.com/acme/features both give github.com/acme/features),
//     followed by //SUBDIR when dir is a folder of the checkout (two feature
//     repositories of one git repository are two repositories). The remote
//     is "upstream" if there is one (a fork's origin differs between
//     people), else "origin", else the first by name;
//   - else dir's absolute path.
//
// The git configuration is read as a file; git need not be installed.
func RepoIdentity(dir string) (RepoID, error) {
	if v := strings.TrimSpace(os.Getenv(RepoIDEnv)); v != "" {
		return RepoID{ID: v, From: RepoIDEnv}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return RepoID{}, fmt.Errorf("repository identity of %s: %w (set %s)", dir, err, RepoIDEnv)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	if top, config, ok := findGit(abs); ok {
		if name, url, err := gitRemote(config); err != nil {
			return RepoID{}, fmt.Errorf("repository identity of %s: read %s: %w (fix it, or set %s)", dir, config, err, RepoIDEnv)
		} else if url != "" {
			id := normalizeRemote(url)
			if rel, err := filepath.Rel(top, abs); err == nil && rel != "." {
				id += "//" + filepath.ToSlash(rel)
			}
			return RepoID{ID: id, From: fmt.Sprintf("git remote %s of %s", name, top)}, nil
		}
	}
	return RepoID{ID: filepath.ToSlash(abs), From: "the repository's absolute path (no git remote; set " + RepoIDEnv + " to name it)"}, nil
}

// findGit returns the top folder of the git checkout holding dir and its
// config file (following a worktree's or submodule's .git file).
func findGit(dir string) (top, config string, ok bool) {
	for d := dir; ; d = filepath.Dir(d) {
		g := filepath.Join(d, ".git")
		if st, err := os.Stat(g); err == nil {
			gitDir := g
			if !st.IsDir() {
				data, err := os.ReadFile(g)
				if err != nil {
					return "", "", false
				}
				line := strings.TrimSpace(string(data))
				if !strings.HasPrefix(line, "gitdir:") {
					return "", "", false
				}
				gitDir = strings.TrimSpace(strings.TrimPrefix(line, "gitdir:"))
				if !filepath.IsAbs(gitDir) {
					gitDir = filepath.Join(d, gitDir)
				}
			}
			// A worktree's git dir names the shared one in commondir.
			if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
				common := strings.TrimSpace(string(c))
				if !filepath.IsAbs(common) {
					common = filepath.Join(gitDir, common)
				}
				gitDir = common
			}
			return d, filepath.Join(gitDir, "config"), true
		}
		if filepath.Dir(d) == d {
			return "", "", false
		}
	}
}

var remoteSection = regexp.MustCompile(`^\[\s*remote\s+"([^"]+)"\s*\]$`)

// gitRemote picks the remote of a git config: upstream, else origin, else
// the first by name. url is "" when the config has no remote.
func gitRemote(config string) (name, url string, err error) {
	f, err := os.Open(config)
	if err != nil {
		if os.IsNotExist(err) {
			return "", "", nil
		}
		return "", "", err
	}
	defer f.Close()
	urls := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = ""
			if m := remoteSection.FindStringSubmatch(line); m != nil {
				section = m[1]
			}
			continue
		}
		if section == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "url") {
			if _, seen := urls[section]; !seen {
				urls[section] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	for _, n := range []string{"upstream", "origin"} {
		if u := urls[n]; u != "" {
			return n, u, nil
		}
	}
	names := make([]string, 0, len(urls))
	for n := range urls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if urls[n] != "" {
			return n, urls[n], nil
		}
	}
	return "", "", nil
}

// normalizeRemote reduces a git remote URL to host/path: no scheme, user,
// password or port, no trailing ".git" or "/", the host in lower case.
// A local path remote is kept as a path.
func normalizeRemote(u string) string {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		if strings.HasPrefix(strings.ToLower(rest[:i]), "file") {
			return strings.TrimSuffix(strings.TrimSuffix(rest[i+3:], "/"), ".git")
		}
		rest = rest[i+3:]
	} else if !strings.Contains(rest, ":") || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, ".") {
		return strings.TrimSuffix(strings.TrimSuffix(rest, "/"), ".git") // a local path
	}
	host, path, found := strings.Cut(rest, "/")
	if !found {
		host, path = rest, ""
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	// scp-like git@host:org/repo, or host:port.
	if h, p, ok := strings.Cut(host, ":"); ok {
		host = h
		if p != "" && strings.Trim(p, "0123456789") != "" {
			path = strings.TrimPrefix(p+"/"+path, "/")
			path = strings.TrimSuffix(path, "/")
		}
	}
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	path = strings.TrimSuffix(path, "/")
	return strings.ToLower(host) + "/" + path
}
