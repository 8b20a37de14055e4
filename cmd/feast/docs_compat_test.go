package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// compatRow is one row of docs/migrating.md's command compatibility table.
type compatRow struct {
	line                int
	python, here, notes string
}

// compatTable reads the table under "## Command compatibility".
func compatTable(t *testing.T) []compatRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "migrating.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []compatRow
	in := false
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.TrimSpace(line) == "## Command compatibility"
		case in && strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "|---"):
			// \| inside a cell is a literal bar.
			cells := strings.Split(strings.ReplaceAll(strings.Trim(line, "|"), `\|`, "\x00"), "|")
			if len(cells) != 3 {
				t.Fatalf("docs/migrating.md:%d: a compatibility row needs 3 cells, has %d", i+1, len(cells))
			}
			for j := range cells {
				cells[j] = strings.TrimSpace(strings.ReplaceAll(cells[j], "\x00", "|"))
			}
			if cells[0] == "Python Feast" {
				continue // the header
			}
			rows = append(rows, compatRow{i + 1, cells[0], cells[1], cells[2]})
		}
	}
	if len(rows) == 0 {
		t.Fatal("docs/migrating.md has no rows under ## Command compatibility")
	}
	return rows
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// commandWords are the words of a cell's code spans (`feast a / b`, `c`).
func commandWords(cell string) map[string]bool {
	out := map[string]bool{}
	for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
		for _, w := range regexp.MustCompile(`[a-z][a-z0-9_-]*`).FindAllString(m[1], -1) {
			out[w] = true
		}
	}
	return out
}

// TestMigratingCommandTable keeps docs/migrating.md's compatibility table
// in step with the CLI: every command of `feast` appears in a row that
// says it is available here, and no row says a command is not available
// when it exists.
func TestMigratingCommandTable(t *testing.T) {
	rows := compatTable(t)
	root := newRootCmd(io.Discard, io.Discard)
	for _, c := range root.Commands() {
		name := c.Name()
		if c.Hidden || name == "help" || name == "completion" {
			continue
		}
		found := false
		for _, r := range rows {
			unavailable := strings.Contains(strings.ToLower(r.here), "not available")
			if unavailable && commandWords(r.python)[name] {
				t.Errorf("docs/migrating.md:%d says `%s` is not available, but `feast %s` exists: move it to a row of its own (%s)", r.line, name, name, c.Short)
			}
			here := commandWords(r.here)
			if strings.HasPrefix(r.here, "same") {
				for w := range commandWords(r.python) {
					here[w] = true
				}
			}
			if !unavailable && here[name] {
				found = true
			}
		}
		if !found {
			t.Errorf("`feast %s` (%s) is missing from docs/migrating.md's command compatibility table: add a row", name, c.Short)
		}
	}
}
