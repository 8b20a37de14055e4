package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/feastgo/feast/auth"
)

// The UI signs browser users in with the bearer token the feature server
// would want in an Authorization header: the login page stores it in the
// auth.TokenCookie cookie (HttpOnly, SameSite=Strict, scoped to the root
// path), which the server's Guard reads for the UI's requests only.
// Browsers cannot attach Authorization headers to page loads, so without
// it a UI behind token, OIDC or Kubernetes auth needs an authenticating
// proxy in front (oauth2-proxy; docs/ui.md).

// maxLoginBody bounds the login form.
const maxLoginBody = 64 << 10

// Public reports whether r needs no authentication: the login and logout
// pages and the static assets (server.BrowserLogin).
func (u *UI) Public(r *http.Request) bool {
	switch p := u.strip(r.URL.Path); {
	case p == "/login", p == "/logout", strings.HasPrefix(p, "/static/"):
		return true
	}
	return false
}

// Unauthenticated answers a page request that failed authentication with
// the login page (401), so a browser user can sign in; JSON requests and
// outages (503) keep the server's answer (server.BrowserLogin).
func (u *UI) Unauthenticated(w http.ResponseWriter, r *http.Request, err error) bool {
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Unavailable || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
		strings.HasPrefix(u.strip(r.URL.Path), "/api/") {
		return false
	}
	msg := ""
	if c, cerr := r.Cookie(auth.TokenCookie); cerr == nil && c.Value != "" {
		msg = "The server did not accept your token (" + err.Error() + "). Sign in with a valid one."
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="feast"`)
	w.WriteHeader(http.StatusUnauthorized)
	u.loginPage(w, r, r.URL.RequestURI(), msg)
	return true
}

// strip removes the root path from p.
func (u *UI) strip(p string) string {
	if u.root != "" && (p == u.root || strings.HasPrefix(p, u.root+"/")) {
		return strings.TrimPrefix(p, u.root)
	}
	return p
}

type loginData struct {
	Mode  string // the server's auth type; empty when it asks for no token
	Next  string
	Error string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request, next, msg string) {
	u.render(w, r, "login", &page{Title: "Sign in", Section: "login", Data: loginData{Mode: u.opts.SignIn, Next: next, Error: msg}})
}

// login shows the form (GET) or stores the token and goes on to the page
// that asked for it (POST).
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		u.loginPage(w, r, u.safeNext(r.URL.Query().Get("next")), "")
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		u.loginPage(w, r, u.url("/"), "The form could not be read: "+err.Error())
		return
	}
	next := u.safeNext(r.PostForm.Get("next"))
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if msg := checkToken(tok); msg != "" {
		w.WriteHeader(http.StatusBadRequest)
		u.loginPage(w, r, next, msg)
		return
	}
	http.SetCookie(w, u.tokenCookie(r, tok, 0))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout forgets the token.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed: sign out with the button on any page", http.StatusMethodNotAllowed)
		return
	}
	http.SetCookie(w, u.tokenCookie(r, "", -1))
	http.Redirect(w, r, u.url("/login"), http.StatusSeeOther)
}

// checkToken explains why tok cannot be a bearer token, or returns "".
func checkToken(tok string) string {
	if tok == "" {
		return "Paste a token."
	}
	for i := 0; i < len(tok); i++ {
		// RFC 6750 b64token characters; JWTs and Kubernetes tokens use
		// only these.
		c := tok[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0) {
			return "That is not a bearer token: it may contain only letters, digits and - . _ ~ + / =."
		}
	}
	return ""
}

func (u *UI) tokenCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     auth.TokenCookie,
		Value:    value,
		Path:     u.url("/"),
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
		SameSite: http.SameSiteStrictMode,
	}
}

// safeNext keeps next only when it is a page of this UI (no open
// redirect to another site).
func (u *UI) safeNext(next string) string {
	p, err := url.Parse(next)
	if err != nil || next == "" || p.IsAbs() || p.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) ||
		!strings.HasPrefix(p.Path, u.url("/")) || u.Public(&http.Request{URL: p}) {
		return u.url("/")
	}
	return next
}

// signedIn reports whether the request carries the UI's token cookie.
func signedIn(r *http.Request) bool {
	c, err := r.Cookie(auth.TokenCookie)
	return err == nil && c.Value != ""
}
