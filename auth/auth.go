// Package auth is who a request comes from: the User an Authenticator
// derives from a bearer token, and the context that carries it. The
// authenticators for Feast's auth types live in the subpackages oidc and
// kubernetes; the static-token type is here. What a user may do is decided
// by package permissions.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"time"
)

// User is an authenticated identity, as Feast's User: a name and the roles,
// groups and namespaces policies grant to.
type User struct {
	Username   string
	Roles      []string
	Groups     []string
	Namespaces []string
	// Expires is when the credential the user was derived from expires
	// (a JWT's exp); zero when unknown. Caches of the user end there.
	Expires time.Time

	key string
}

// NewUser returns a user with its lists sorted and deduplicated (so equal
// identities have equal Keys).
func NewUser(name string, roles, groups, namespaces []string) *User {
	u := &User{Username: name, Roles: clean(roles), Groups: clean(groups), Namespaces: clean(namespaces)}
	var b strings.Builder
	b.WriteString(u.Username)
	for _, l := range [][]string{u.Roles, u.Groups, u.Namespaces} {
		b.WriteByte(0)
		b.WriteString(strings.Join(l, "\x01"))
	}
	u.key = b.String()
	return u
}

func clean(l []string) []string {
	out := slices.Clone(l)
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// Key identifies the user and everything a policy looks at; decisions are
// cached by it.
func (u *User) Key() string {
	if u.key == "" {
		return NewUser(u.Username, u.Roles, u.Groups, u.Namespaces).key
	}
	return u.key
}

// HasRole, InGroup and InNamespace report whether the user has any of the
// given roles, groups or namespaces.
func (u *User) HasRole(roles []string) bool   { return anyIn(u.Roles, roles) }
func (u *User) InGroup(groups []string) bool  { return anyIn(u.Groups, groups) }
func (u *User) InNamespace(nss []string) bool { return anyIn(u.Namespaces, nss) }
func anyIn(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// Authenticator turns a bearer token into a User. A token it does not
// accept is an *Error; so is a failure of the identity backend, with
// Unavailable set.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*User, error)
}

// Error is an authentication failure. Msg is safe to show the client.
type Error struct {
	Msg string
	// Unavailable marks a failure of the identity backend (the provider or
	// the Kubernetes API could not be asked), not of the token: 503, not 401.
	Unavailable bool
	Err         error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoToken is returned when a request carries no bearer token.
var ErrNoToken = &Error{Msg: `missing bearer token: send "Authorization: Bearer <token>"`}

// TokenCookie is the cookie in which a browser holds its bearer token
// after signing in to the web UI (the UI's login page sets it). The
// feature server reads it only for mounted handlers (feast serve --ui,
// feast ui), never for its API endpoints, so a page elsewhere cannot make
// a browser call the API with it.
const TokenCookie = "feast_token"

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive, as RFC 6750 allows).
func BearerToken(header string) (string, error) {
	if len(header) < 7 || !strings.EqualFold(header[:7], "bearer ") {
		return "", ErrNoToken
	}
	tok := strings.TrimSpace(header[7:])
	if tok == "" {
		return "", ErrNoToken
	}
	return tok, nil
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user ctx carries, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// StaticTokens is the token auth type: a request must carry one of the
// configured tokens. Every holder is the same user, TokenUser, with no
// roles: permissions that grant by role do not grant to it.
type StaticTokens struct {
	tokens [][]byte
	user   *User
}

// TokenUser is the username of a static-token client.
const TokenUser = "token"

// NewStaticTokens returns the authenticator for auth.type token.
func NewStaticTokens(tokens []string) *StaticTokens {
	s := &StaticTokens{user: NewUser(TokenUser, nil, nil, nil)}
	for _, t := range tokens {
		s.tokens = append(s.tokens, []byte(t))
	}
	return s
}

// Authenticate compares the token with every configured one in constant time.
func (s *StaticTokens) Authenticate(_ context.Context, token string) (*User, error) {
	valid := 0
	for _, t := range s.tokens {
		valid |= subtle.ConstantTimeCompare([]byte(token), t)
	}
	if valid != 1 {
		return nil, &Error{Msg: "invalid bearer token"}
	}
	return s.user, nil
}

// IsUnavailable reports whether err is an identity-backend outage.
func IsUnavailable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Unavailable
}
