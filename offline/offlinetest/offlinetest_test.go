package offlinetest

import (
	"strings"
	"testing"
)

// The reference implementation must agree with the hand-written golden
// corpus; otherwise the randomized comparisons would prove nothing.
func TestReferenceAgreesWithGolden(t *testing.T) {
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d golden cases parsed", len(cases))
	}
	for _, c := range cases {
		if c.ExpectError != "" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			var tbl *Table
			var err error
			if c.Pull != nil {
				tbl, err = ReferencePull(c)
			} else {
				tbl, err = Reference(c)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, want := tbl.Render(), c.Expect
			if c.Pull != nil {
				got, want = sortRows(got), sortRows(want)
			}
			compare(t, c, got, want)
		})
	}
}

func TestRandomCasesAreDefined(t *testing.T) {
	nonNull := 0
	for seed := uint64(1); seed <= 500; seed++ {
		c := RandomCase(seed)
		tbl, err := Reference(c)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, line := range tbl.Render()[1:] {
			if !strings.HasSuffix(line, "null") {
				nonNull++
			}
		}
	}
	// The generator must produce matches, not only nulls.
	if nonNull < 500 {
		t.Fatalf("only %d rows with a last feature present over 500 seeds", nonNull)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		"source x\n",                            // before the first case
		"case a\nentities\n  id:int64\n  1 2\n", // wrong cell count
		"case a\nfrobnicate\n",                  // unknown directive
		"case a\nrequest\n",                     // no expect
	} {
		if _, err := ParseCases("bad.txt", bad); err == nil {
			t.Errorf("ParseCases(%q) succeeded, want an error", bad)
		}
	}
}
