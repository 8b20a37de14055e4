package sqlstore

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/feastgo/feast/internal/testenv"
)

// backend is one database the tests run against. url returns a registry URL
// on a fresh, empty database (a temp file, a new PostgreSQL schema, a new
// MariaDB database) that is dropped when tb ends.
type backend struct {
	name string
	url  func(tb testing.TB) string
}

var backends = []backend{
	{"sqlite", sqliteURL},
	{"postgres", postgresURL},
	{"mysql", mysqlURL},
}

func sqliteURL(tb testing.TB) string {
	// sqlite:////abs/path: SQLAlchemy's absolute-path form.
	return "sqlite:///" + filepath.Join(tb.TempDir(), "registry.db")
}

func postgresURL(tb testing.TB) string {
	dsn := testenv.PostgresDSN(tb)
	schema := testenv.UniqueName("feast_registry_test")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			tb.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	// Feast writes postgresql+psycopg://; exercise that spelling.
	return "postgresql+psycopg://" + strings.TrimPrefix(u.String(), u.Scheme+"://")
}

func mysqlURL(tb testing.TB) string {
	dsn := testenv.MySQLDSN(tb)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("parse FEAST_TEST_MYSQL: %v", err)
	}
	dbName := testenv.UniqueName("feast_registry_test")
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + dbName); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			tb.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE " + dbName); err != nil {
			tb.Errorf("drop database: %v", err)
		}
	})
	u := url.URL{Scheme: "mysql+pymysql", Host: cfg.Addr, Path: "/" + dbName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

func openStore(tb testing.TB, rawURL string, opts Options) *Store {
	tb.Helper()
	s, err := OpenWithOptions(context.Background(), rawURL, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", rawURL, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
