package server

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	st "github.com/feastgo/feast/server/servingtest"
)

// kubeAPI is a Kubernetes API server stand-in answering TokenReviews and
// RoleBinding lists in their real JSON shapes.
func kubeAPI(t *testing.T) (kubeconfig string) {
	t.Helper()
	users := map[string]string{
		"reader-sa-token": "system:serviceaccount:ml-a:team-a-model",
		"other-sa-token":  "system:serviceaccount:ml-b:team-b-model",
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/apis/authentication.k8s.io/v1/tokenreviews":
			var review struct {
				Spec struct {
					Token string `json:"token"`
				} `json:"spec"`
			}
			json.NewDecoder(r.Body).Decode(&review)
			name, ok := users[review.Spec.Token]
			status := `{"authenticated":false,"error":"invalid bearer token"}`
			if ok {
				status = fmt.Sprintf(`{"authenticated":true,"user":{"username":%q,"groups":["system:serviceaccounts","system:authenticated"]}}`, name)
			}
			fmt.Fprintf(w, `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},"spec":{},"status":%s}`, status)
		case r.URL.Path == "/apis/rbac.authorization.k8s.io/v1/namespaces/feast/rolebindings":
			fmt.Fprint(w, `{"kind":"RoleBindingList","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{},"items":[
			  {"metadata":{"name":"team-a-readers","namespace":"feast"},
			   "subjects":[{"kind":"ServiceAccount","name":"team-a-model","namespace":"ml-a"}],
			   "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"team-a-reader"}}]}`)
		case r.URL.Path == "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings":
			fmt.Fprint(w, `{"kind":"ClusterRoleBindingList","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{},"items":[]}`)
		default:
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":%q}`, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n"+
		"users:\n- name: u\n  user:\n    token: server-token\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n", srv.URL, ca)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubernetesServer runs the server with auth.type kubernetes from
// feature_store.yaml: a service account bound to the team-a-reader role
// reads team A's views and nothing else; an unknown token is 401.
func TestKubernetesServer(t *testing.T) {
	kc := kubeAPI(t)
	yaml := "online_store:\n  type: sqlite\n  path: data/online.db\nauth:\n  type: kubernetes\n  namespace: feast\n  kubeconfig: " + kc + "\n"
	f := st.NewRepo(t, t.TempDir(), "teams", yaml, teamDefs, false)
	s := newServer(t, f, Options{})
	t.Cleanup(s.Close)
	setPermissions(t, f, teamPermissions)
	forEachTransport(t, s, func(t *testing.T, call caller) {
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer reader-sa-token"); code != 200 {
			t.Errorf("team A's service account reads team A: %d %s", code, body)
		}
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[2].body, "Authorization", "Bearer reader-sa-token"); code != 403 ||
			!strings.Contains(body, `system:serviceaccount:ml-a:team-a-model`) {
			t.Errorf("team A's service account reads team B: %d %s", code, body)
		}
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer other-sa-token"); code != 403 {
			t.Errorf("team B's service account reads team A: %d %s", code, body)
		}
		if code, body := call(t, "POST", "/get-online-features", matrixCalls[0].body, "Authorization", "Bearer forged"); code != 401 {
			t.Errorf("unknown token: %d %s", code, body)
		}
	})
}
