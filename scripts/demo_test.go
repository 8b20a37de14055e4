// Package scripts_test checks the shell scripts behind the Makefile.
package scripts_test

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// make demo must not query a server that is not its own: with the port it
// was told to use already taken, it fails before doing anything.
func TestDemoRefusesBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := exec.Command("bash", "demo.sh", "/bin/true", t.TempDir()+"/demo")
	cmd.Env = append(cmd.Environ(), "FEAST_DEMO_PORT="+port)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("demo.sh succeeded with port %s taken:\n%s", port, out)
	}
	if !strings.Contains(string(out), "port "+port+" (FEAST_DEMO_PORT) is already in use") {
		t.Errorf("unclear error:\n%s", out)
	}
}
