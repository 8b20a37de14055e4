// Package redact hides passwords and other secrets in the connection strings
// the feature store accepts, so that configuration output, errors and logs
// can show where a store is without showing how to log in to it.
//
// One function, String, covers every form: URLs with a userinfo password
// (postgresql://user:pass@host/db, redis://:pass@host), including URLs that
// do not parse and passwords with an unencoded '@'; secret-looking
// key=value pairs in query strings and DSNs separated by commas, semicolons,
// ampersands or spaces (Redis "host:port,password=X,db=0", libpq
// "host=h password='a b'"); and MySQL DSNs "user:pass@tcp(host)/db". Where a
// string is ambiguous, more is hidden rather than less.
//
// The package depends only on the standard library so that every store
// package can use it.
package redact

import (
	"net/url"
	"slices"
	"strings"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// minErrorSecret is the shortest secret Error replaces in free text; shorter
// ones would replace ordinary words of the message.
const minErrorSecret = 4

// String returns s with every secret replaced by Mask. Hosts, ports, user
// names, database names and non-secret options stay visible where the
// structure of s allows telling them apart.
func String(s string) string {
	spans := merge(secretSpans(s))
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(Mask)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Secrets returns the secret values String hides in s, each as written and,
// where different, unquoted and percent-decoded (as a driver may quote it).
func Secrets(s string) []string {
	var out []string
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, sp := range secretSpans(s) {
		v := s[sp.start:sp.end]
		add(v)
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			add(v)
			add(strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`).Replace(v))
		}
		if d, err := url.PathUnescape(v); err == nil {
			add(d)
		}
		if d, err := url.QueryUnescape(v); err == nil {
			add(d)
		}
	}
	return out
}

// Error returns err with the connection strings conns, and every secret in
// them, hidden in its message. It unwraps to err, so errors.Is and errors.As
// still see the cause. Use it on errors from drivers and parsers that may
// quote the connection string they were given. Secrets shorter than four
// bytes are only hidden where the whole connection string is quoted.
func Error(err error, conns ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	out := msg
	var secrets []string
	for _, c := range conns {
		if c == "" {
			continue
		}
		out = strings.ReplaceAll(out, c, String(c))
		secrets = append(secrets, Secrets(c)...)
	}
	// Longest first, so a secret is not left half-replaced by a shorter
	// one it contains.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if len(sec) >= minErrorSecret {
			out = strings.ReplaceAll(out, sec, Mask)
		}
	}
	if out == msg {
		return err
	}
	return &redactedError{msg: out, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

type span struct{ start, end int }

// secretSpans finds the byte ranges of s holding secrets: values of
// secret-looking keys, then the password of a userinfo ("user:pass@").
func secretSpans(s string) []span {
	spans := keyValueSpans(s)
	if sp, ok := userinfoSpan(s, spans); ok {
		spans = append(spans, sp)
	}
	return spans
}

// userinfoSpan finds the password of "scheme://user:pass@host..." or of a
// MySQL DSN "user:pass@tcp(host)/db". The userinfo ends at the last '@'
// outside the key=value secrets already found, so an unencoded '@' (or '/',
// '?', '#') in a password is hidden with the rest of it; when a query value
// holds an '@' too, the host is hidden with it rather than risk a leak.
func userinfoSpan(s string, kv []span) (span, bool) {
	inKV := func(i int) bool {
		for _, sp := range kv {
			if i >= sp.start && i < sp.end {
				return true
			}
		}
		return false
	}
	begin := 0
	if i := strings.Index(s, "://"); i >= 0 {
		begin = i + 3
	}
	at := -1
	for i := len(s) - 1; i >= begin; i-- {
		if s[i] == '@' && !inKV(i) {
			at = i
			break
		}
	}
	if at < 0 {
		return span{}, false
	}
	for i := begin; i < at; i++ {
		if s[i] == ':' && !inKV(i) {
			if i+1 == at {
				return span{}, false // "user:@host": an empty password
			}
			return span{i + 1, at}, true
		}
	}
	return span{}, false
}

// keyValueSpans finds the values of secret-looking keys in key=value pairs.
// A quoted value ends at its closing quote; an unquoted one runs up to the
// separator (',', ';', '&' or white space) before the next key=value pair, or
// to the end of s, so a value holding a separator is hidden whole.
func keyValueSpans(s string) []span {
	var spans []span
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		k := i
		for k > 0 && isSpace(s[k-1]) {
			k--
		}
		ks := k
		for ks > 0 && isKeyByte(s[ks-1]) {
			ks--
		}
		if ks == k || !sensitiveKey(s[ks:k]) {
			continue
		}
		if startsPair(s, i+1) {
			continue // "password= user=u": an empty value
		}
		v := i + 1
		for v < len(s) && isSpace(s[v]) {
			v++
		}
		end := valueEnd(s, v)
		if end > v {
			spans = append(spans, span{v, end})
		}
		if end > i {
			i = end - 1
		}
	}
	return spans
}

// valueEnd returns where the value starting at v ends.
func valueEnd(s string, v int) int {
	if v < len(s) && (s[v] == '\'' || s[v] == '"') {
		q := s[v]
		for j := v + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case q:
				return j + 1
			}
		}
		return len(s)
	}
	for j := v; j < len(s); j++ {
		if isSeparator(s[j]) && startsPair(s, j) {
			return j
		}
	}
	return len(s)
}

// startsPair reports whether, after the separators at j, s continues with
// "key=" (or "key =").
func startsPair(s string, j int) bool {
	for j < len(s) && isSeparator(s[j]) {
		j++
	}
	k := j
	for k < len(s) && isKeyByte(s[k]) {
		k++
	}
	if k == j {
		return false
	}
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	return k < len(s) && s[k] == '='
}

// sensitiveKey reports whether a key names a secret: any key containing
// pass (password, passwd, sslpassword, _auth_pass), pwd, secret, token,
// access_key, api_key, private_key or credential, or the key pw, in any
// case and with or without '-', '_' and '.'.
func sensitiveKey(k string) bool {
	n := strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(k))
	if n == "pw" {
		return true
	}
	for _, w := range []string{"pass", "pwd", "secret", "token", "accesskey", "apikey", "privatekey", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isSeparator(c byte) bool { return c == ',' || c == ';' || c == '&' || isSpace(c) }

// merge sorts spans and joins overlapping ones.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}
