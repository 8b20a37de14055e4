package diff

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNormalizeRemote(t *testing.T) {
	for in, want := range map[string]string{
		"git@github.com:acme/features.git":                            "github.com/acme/features",
		"https://github.com/acme/features":                            "github.com/acme/features",
		"https://x-access-token:secret@GitHub.com/acme/features.git/": "github.com/acme/features",
		"ssh://git@github.com:22/acme/features.git":                   "github.com/acme/features",
		"git@gitlab.example.com:group/sub/features":                   "gitlab.example.com/group/sub/features",
		"/srv/git/features.git":                                       "/srv/git/features",
		"file:///srv/git/features.git":                                "/srv/git/features",
	} {
		if got := normalizeRemote(in); got != want {
			t.Errorf("normalizeRemote(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeGit(t *testing.T, top, config string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(top, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, ".git", "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRepoIdentity checks one repository gets one identity whether it was
// cloned over SSH (a laptop) or HTTPS with a token (CI), that feature
// repositories in two folders of one checkout differ, and the fallbacks.
func TestRepoIdentity(t *testing.T) {
	t.Setenv(RepoIDEnv, "")
	laptop, ci := t.TempDir(), t.TempDir()
	writeGit(t, laptop, "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:acme/features.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n")
	writeGit(t, ci, "[remote \"origin\"]\n\turl = https://github.com/acme/features\n[branch \"main\"]\n\tremote = origin\n")
	for _, top := range []string{laptop, ci} {
		os.MkdirAll(filepath.Join(top, "feature_repo"), 0o755)
		os.MkdirAll(filepath.Join(top, "other_repo"), 0o755)
	}
	a, err := RepoIdentity(filepath.Join(laptop, "feature_repo"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := RepoIdentity(filepath.Join(ci, "feature_repo"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "github.com/acme/features//feature_repo" || b.ID != a.ID {
		t.Errorf("identities %q (%s) and %q (%s), want both github.com/acme/features//feature_repo", a.ID, a.From, b.ID, b.From)
	}
	other, _ := RepoIdentity(filepath.Join(ci, "other_repo"))
	top, _ := RepoIdentity(ci)
	if other.ID != "github.com/acme/features//other_repo" || top.ID != "github.com/acme/features" {
		t.Errorf("other folder %q, top %q", other.ID, top.ID)
	}

	// A fork: upstream wins over origin.
	fork := t.TempDir()
	writeGit(t, fork, "[remote \"origin\"]\n\turl = git@github.com:me/features.git\n[remote \"upstream\"]\n\turl = https://github.com/acme/features.git\n")
	if f, _ := RepoIdentity(fork); f.ID != "github.com/acme/features" {
		t.Errorf("fork identity %q", f.ID)
	}

	// A worktree: its .git file points at the shared git dir.
	wt := t.TempDir()
	gitDir := filepath.Join(laptop, ".git", "worktrees", "wt")
	os.MkdirAll(gitDir, 0o755)
	os.WriteFile(filepath.Join(gitDir, "commondir"), []byte("../..\n"), 0o644)
	os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: "+gitDir+"\n"), 0o644)
	if w, _ := RepoIdentity(wt); w.ID != "github.com/acme/features" {
		t.Errorf("worktree identity %q (%s)", w.ID, w.From)
	}

	// No remote: the absolute path.
	plain := t.TempDir()
	writeGit(t, plain, "[core]\n\tbare = false\n")
	p, _ := RepoIdentity(plain)
	if want, _ := filepath.EvalSymlinks(plain); p.ID != filepath.ToSlash(want) {
		t.Errorf("identity without a remote = %q, want the path %q", p.ID, want)
	}

	t.Setenv(RepoIDEnv, "payments-features")
	if e, _ := RepoIdentity(plain); e.ID != "payments-features" || e.From != RepoIDEnv {
		t.Errorf("override: %+v", e)
	}
}
