package redact

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		secret string   // must not appear in the output
		want   string   // exact output, when set
		keep   []string // must still appear
	}{
		// URLs with userinfo.
		{name: "postgres url", in: "postgresql://feast:S3cret@db.example:5432/feast?sslmode=disable", secret: "S3cret",
			want: "postgresql://feast:xxxxx@db.example:5432/feast?sslmode=disable"},
		{name: "redis url password only", in: "redis://:S3cret@cache:6379/0", secret: "S3cret", want: "redis://:xxxxx@cache:6379/0"},
		{name: "url user without password", in: "postgres://feast@db/feast", want: "postgres://feast@db/feast"},
		{name: "url empty password", in: "postgres://feast:@db/feast", want: "postgres://feast:@db/feast"},
		{name: "unencoded at in password", in: "postgresql://feast:S3c@ret@db.example:5432/feast", secret: "S3c@ret",
			want: "postgresql://feast:xxxxx@db.example:5432/feast"},
		{name: "two unencoded ats", in: "mysql://root:a@b@S3cret@db/feast", secret: "S3cret", want: "mysql://root:xxxxx@db/feast"},
		{name: "unparsable escape", in: "postgresql://feast:S3cret%ZZ@db.example/feast", secret: "S3cret",
			want: "postgresql://feast:xxxxx@db.example/feast"},
		{name: "unencoded slash in password", in: "postgres://u:S3c/ret@db/feast", secret: "S3c/ret", want: "postgres://u:xxxxx@db/feast"},
		{name: "unencoded question mark in password", in: "postgres://u:S3c?ret@db/feast", secret: "ret", want: "postgres://u:xxxxx@db/feast"},
		{name: "unencoded hash in password", in: "postgres://u:S3c#ret@db/feast", secret: "ret", want: "postgres://u:xxxxx@db/feast"},
		{name: "numeric password with slash", in: "postgres://u:1234/5678@db/feast", secret: "1234/5678", want: "postgres://u:xxxxx@db/feast"},
		{name: "password with colon", in: "postgres://u:S3:cret@db/feast", secret: "cret", want: "postgres://u:xxxxx@db/feast"},
		{name: "percent-encoded at", in: "mysql+pymysql://root:S3c%40ret@db:3306/feast", secret: "S3c%40ret", want: "mysql+pymysql://root:xxxxx@db:3306/feast"},
		{name: "at in query value hides more, never less", in: "postgresql://u:S3cret@db/feast?application_name=a@b", secret: "S3cret", keep: []string{"postgresql://u:"}},
		{name: "password in query", in: "postgresql://db.example/feast?user=feast&password=S3cret&sslmode=disable", secret: "S3cret",
			want: "postgresql://db.example/feast?user=feast&password=xxxxx&sslmode=disable"},
		{name: "sslpassword in query", in: "postgres://u@db/feast?sslpassword=S3cret", secret: "S3cret", want: "postgres://u@db/feast?sslpassword=xxxxx"},
		{name: "userinfo and query password", in: "postgres://u:Fir5tPw@db/f?password=S3cond&x=1", secret: "Fir5tPw",
			want: "postgres://u:xxxxx@db/f?password=xxxxx&x=1"},
		{name: "query password with at", in: "postgres://u:Fir5tPw@db/f?password=S3c@nd", secret: "S3c@nd",
			want: "postgres://u:xxxxx@db/f?password=xxxxx"},
		{name: "rediss url", in: "rediss://default:S3cret@cache.example:6380", secret: "S3cret", want: "rediss://default:xxxxx@cache.example:6380"},
		{name: "s3 url", in: "s3://bucket/registry.pb", want: "s3://bucket/registry.pb"},
		{name: "url with token query", in: "https://host/path?token=S3cret&x=1", secret: "S3cret", want: "https://host/path?token=xxxxx&x=1"},

		// Redis connection strings.
		{name: "redis", in: "cache:6379,password=S3cret,db=0", secret: "S3cret", want: "cache:6379,password=xxxxx,db=0"},
		{name: "redis space before password", in: "cache:6379, password=S3cret", secret: "S3cret", want: "cache:6379, password=xxxxx"},
		{name: "redis spaces around equals", in: "cache:6379, password = S3cret ,db=0", secret: "S3cret", keep: []string{"cache:6379", "db=0"}},
		{name: "redis no host", in: "password=S3cret,db=0", secret: "S3cret", want: "password=xxxxx,db=0"},
		{name: "redis username", in: "a:1,b:2,username=feast,password=S3cret,ssl=true", secret: "S3cret", want: "a:1,b:2,username=feast,password=xxxxx,ssl=true"},
		{name: "redis quoted", in: `cache:6379,password="S3c,ret",db=1`, secret: "S3c", want: `cache:6379,password=xxxxx,db=1`},
		{name: "redis password with at", in: "cache:6379,password=S3c@ret,db=0", secret: "S3c@ret", want: "cache:6379,password=xxxxx,db=0"},
		{name: "redis password with space", in: "cache:6379,password=S3c ret,db=0", secret: "S3c ret", want: "cache:6379,password=xxxxx,db=0"},
		{name: "upper-case key", in: "cache:6379,PASSWORD=S3cret", secret: "S3cret", want: "cache:6379,PASSWORD=xxxxx"},
		{name: "redis without secret", in: "cache:6379,db=2,ssl=true", want: "cache:6379,db=2,ssl=true"},

		// libpq key=value DSNs.
		{name: "libpq", in: "host=db.example port=5432 user=feast password=S3cret dbname=feast", secret: "S3cret",
			want: "host=db.example port=5432 user=feast password=xxxxx dbname=feast"},
		{name: "libpq quoted with space", in: "host=db user=feast password='S3c ret' sslmode=require", secret: "S3c ret",
			want: "host=db user=feast password=xxxxx sslmode=require"},
		{name: "libpq quoted with escaped quote", in: `host=db password='S3c\'ret' user=feast`, secret: "ret",
			want: "host=db password=xxxxx user=feast"},
		{name: "libpq unterminated quote", in: "host=db password='S3cret", secret: "S3cret", want: "host=db password=xxxxx"},
		{name: "libpq password last", in: "host=db password=S3cret", secret: "S3cret", want: "host=db password=xxxxx"},
		{name: "pass and pwd keys", in: "Server=db;Uid=feast;Pwd=S3cret;pass=Oth3rPw;Database=f", secret: "S3cret",
			want: "Server=db;Uid=feast;Pwd=xxxxx;pass=xxxxx;Database=f"},
		{name: "sqlite auth pass", in: "file:registry.db?_auth_user=feast&_auth_pass=S3cret", secret: "S3cret", want: "file:registry.db?_auth_user=feast&_auth_pass=xxxxx"},
		{name: "access key and secret", in: "endpoint=s3.local,access_key=AK1D,secret_access_key=S3cret,region=x", secret: "S3cret",
			want: "endpoint=s3.local,access_key=xxxxx,secret_access_key=xxxxx,region=x"},
		{name: "empty password", in: "host=db password= user=u", want: "host=db password= user=u"},

		// MySQL DSNs.
		{name: "mysql dsn", in: "feast:S3cret@tcp(db.example:3306)/feast?parseTime=true", secret: "S3cret",
			want: "feast:xxxxx@tcp(db.example:3306)/feast?parseTime=true"},
		{name: "mysql dsn at in password", in: "feast:S3c@ret@tcp(db:3306)/feast", secret: "S3c@ret", want: "feast:xxxxx@tcp(db:3306)/feast"},
		{name: "mysql dsn unix", in: "feast:S3cret@unix(/run/mysqld.sock)/feast", secret: "S3cret", want: "feast:xxxxx@unix(/run/mysqld.sock)/feast"},
		{name: "mysql dsn no password", in: "feast@tcp(db:3306)/feast", want: "feast@tcp(db:3306)/feast"},

		// Nothing to hide.
		{name: "empty", in: "", want: ""},
		{name: "path", in: "data/registry.db", want: "data/registry.db"},
		{name: "sqlite url", in: "sqlite:///data/registry.db", want: "sqlite:///data/registry.db"},
		{name: "host port", in: "localhost:6379", want: "localhost:6379"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := String(c.in)
			if c.secret != "" && strings.Contains(got, c.secret) {
				t.Errorf("String(%q) = %q: shows the secret %q", c.in, got, c.secret)
			}
			if c.want != "" || c.in == "" {
				if got != c.want {
					t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(got, k) {
					t.Errorf("String(%q) = %q: lost %q", c.in, got, k)
				}
			}
			if String(got) != got {
				t.Errorf("String is not idempotent on %q: %q", got, String(got))
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	got := Secrets(`mysql://root:S3c%40ret@db/f?token="T0k en"`)
	for _, want := range []string{"S3c%40ret", "S3c@ret", `"T0k en"`, "T0k en"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets = %q, missing %q", got, want)
		}
	}
	if s := Secrets("host:6379,db=0"); len(s) != 0 {
		t.Errorf("Secrets without secrets = %q", s)
	}
}

func TestError(t *testing.T) {
	conn := "postgresql://feast:S3c%ZZret@db.example/feast"
	//lint:ignore SA1007 the test needs url.Parse to fail on this URL
	_, perr := url.Parse(conn)
	if perr == nil || !strings.Contains(perr.Error(), "S3c%ZZret") {
		t.Fatalf("url.Parse error %v does not quote the URL; the test needs one that does", perr)
	}
	err := Error(fmt.Errorf("open: %w", perr), conn)
	if strings.Contains(err.Error(), "S3c") {
		t.Errorf("Error = %q: shows the password", err)
	}
	if !strings.Contains(err.Error(), "db.example") {
		t.Errorf("Error = %q: lost the host", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("Error does not unwrap to the *url.Error")
	}

	// A driver that prints the decoded password alone.
	cause := fmt.Errorf("auth for %q: %w", "S3c@ret", fs.ErrPermission)
	err = Error(cause, "mysql://root:S3c%40ret@db/f")
	if strings.Contains(err.Error(), "S3c@ret") || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Error = %q (is ErrPermission: %v)", err, errors.Is(err, fs.ErrPermission))
	}

	plain := errors.New("dial tcp db:5432: connection refused")
	if got := Error(plain, "host=db password=S3cret"); got != plain {
		t.Errorf("Error changed an error without secrets: %v", got)
	}
	if Error(nil, conn) != nil {
		t.Error("Error(nil) != nil")
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"postgresql://u:p@h/db", "h:1,password=p,db=0", "host=h password='a b'", "u:p@tcp(h)/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		for _, sp := range secretSpans(s) {
			// Each hidden secret leaves at least one fewer copy of itself.
			sec := s[sp.start:sp.end]
			if !strings.Contains(sec, "x") && strings.Count(got, sec) >= strings.Count(s, sec) {
				t.Fatalf("String(%q) = %q shows secret %q", s, got, sec)
			}
		}
	})
}
