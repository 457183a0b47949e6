package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/cluster"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/query"
)

// The examples share these, as a program would after its start-up: a context
// and a Session made by cluster.Connect (see the Connect examples), whose
// keyspace holds the tables of exampleSchema. The examples need a server, so
// go test compiles them without running them; TestExamples runs them against
// the test node when there is one.
var (
	ctx     = context.Background()
	session *cluster.Session
)

// Connect with a login and password to a cluster in one data centre. Make
// one Session per cluster and share it: it is safe for concurrent use.
func ExampleConnect() {
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints:   []string{"10.0.0.1", "10.0.0.2"},
		LocalDatacenter: "dc1",
		Keyspace:        "shop",
		Username:        "app",
		Password:        auth.Secret(os.Getenv("CASSANDRA_PASSWORD")),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
}

// Connect over TLS, verifying the nodes' certificates against a CA, with a
// client certificate for nodes that require mutual TLS.
func ExampleConnect_tls() {
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{"node1.example.com"},
		Username:      "app",
		Password:      auth.Secret(os.Getenv("CASSANDRA_PASSWORD")),
		TLS: &conn.TLSOptions{
			CAFile:   "/etc/cassandra/ca.pem",
			CertFile: "/etc/cassandra/client.pem", // only for mutual TLS
			KeyFile:  "/etc/cassandra/client.key",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
}

// Kerberos: see package auth/kerberos (ExampleNew).

// DataStax Enterprise proxy authentication: log in as one role and act as
// another, for the whole session (proxy login) or for one statement (proxy
// execute).
func ExampleConnect_dseProxyAuth() {
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{"dse1.example.com"},
		// Log in as app, act as alice: app needs PROXY.LOGIN on alice.
		Authenticator: auth.Plain{
			Username:        "app",
			Password:        auth.Secret(os.Getenv("DSE_PASSWORD")),
			AuthorizationID: "alice",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	// Run one statement as bob: the logged-in role needs PROXY.EXECUTE on bob.
	var balance int64
	err = session.Query("SELECT balance FROM accounts WHERE id = ?", 42).
		CustomPayload(auth.ProxyExecute("bob")).
		One(ctx, &balance)
	if err != nil {
		log.Fatal(err)
	}
}

// Execution profiles: named bundles of consistency, timeout, retry and
// speculative policies and page size that a statement selects by name.
func ExampleConfig_profiles() {
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints:   []string{"10.0.0.1"},
		LocalDatacenter: "dc1",
		// Statements that name no profile.
		DefaultProfile: query.Profile{Consistency: frame.LocalQuorum, RequestTimeout: 2 * time.Second},
		Profiles: map[string]query.Profile{
			// Reports: any replica will do, large pages, time to finish.
			"reports": {Consistency: frame.LocalOne, RequestTimeout: time.Minute, PageSize: 10000},
			// Latency-sensitive reads: ask another replica when the first
			// is slow (idempotent statements only).
			"fast": {Speculative: query.ConstantSpeculative{Delay: 20 * time.Millisecond}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	for row, err := range session.Query("SELECT id, total FROM orders").Profile("reports").Rows(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		_ = row // ...
	}
	var total int64
	err = session.Query("SELECT total FROM orders WHERE id = ?", 7).
		Profile("fast").Idempotent(true).
		One(ctx, &total)
	if err != nil {
		log.Fatal(err)
	}
}

// An observer sees every attempt of every statement (retries and
// speculative executions included): the hook for metrics and tracing.
func ExampleConfig_observer() {
	observer := query.ObserverFuncs{
		OnEnd: func(a query.Attempt, r query.AttemptResult) {
			slog.Info("cql", "host", a.Host, "attempt", a.Attempt, "latency", r.Latency, "err", r.Err)
		},
	}
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{"10.0.0.1"},
		Observer:      observer,
		Logger:        slog.Default(), // connection and topology events
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
}

// Query runs a statement; values fill its ? markers. One scans the first
// row, Exec runs a statement that returns none.
func ExampleSession_Query() {
	var name string
	var age int
	err := session.Query("SELECT name, age FROM users WHERE id = ?", 42).One(ctx, &name, &age)
	if errors.Is(err, cluster.ErrNotFound) {
		fmt.Println("no user 42")
	} else if err != nil {
		log.Fatal(err)
	}

	// Named values, for :name markers (or the columns of ? markers).
	err = session.Query("UPDATE users SET age = :age WHERE id = :id",
		query.Named("id", 42), query.Named("age", 43)).Exec(ctx)
	if err != nil {
		log.Fatal(err)
	}
}

// Prepare a statement once, then execute it with different values. (Query
// with values prepares too, through the session's cache: Prepare is for
// preparing at start-up, or for Prepared's metadata.)
func ExampleSession_Prepare() {
	insert, err := session.Prepare(ctx, "INSERT INTO users (id, name, age) VALUES (?, ?, ?)")
	if err != nil {
		log.Fatal(err)
	}
	for i, name := range []string{"ada", "grace", "alan"} {
		if err := insert.Bind(i+1, name, 36+i).Exec(ctx); err != nil {
			log.Fatal(err)
		}
	}
}

// Rows is a Go iterator over every row: it fetches the next page when the
// loop reaches it.
func ExampleQuery_Rows() {
	for row, err := range session.Query("SELECT id, name FROM users").PageSize(1000).Rows(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		var id int
		var name string
		if err := row.Scan(&id, &name); err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, name)
	}
}

// ScanStruct fills a struct's fields by cql tag, or by name: column age
// fills field Age.
func ExampleQuery_Rows_struct() {
	type User struct {
		ID   int `cql:"id"`
		Name string
		Age  int
	}
	for row, err := range session.Query("SELECT id, name, age FROM users").Rows(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		var u User
		if err := row.ScanStruct(&u); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%+v\n", u)
	}
}

// Manual paging, e.g. one page per HTTP request: Run returns one page, and its
// PagingState (opaque bytes, to hand to the client) continues the query.
func ExampleQuery_PagingState() {
	var state []byte // nil: the first page
	for {
		page, err := session.Query("SELECT id, name FROM users").PageSize(2).PagingState(state).Run(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for row := range page.Rows() {
			var id int
			var name string
			if err := row.Scan(&id, &name); err != nil {
				log.Fatal(err)
			}
			fmt.Println(id, name)
		}
		if state = page.PagingState; state == nil {
			break // the last page
		}
	}
}

// A logged batch: its statements are all applied, eventually, or none.
func ExampleSession_Batch() {
	err := session.Batch(query.LoggedBatch).
		Add("INSERT INTO users (id, name, age) VALUES (?, ?, ?)", 7, "ada", 36).
		Add("INSERT INTO users_by_name (name, id) VALUES (?, ?)", "ada", 7).
		Exec(ctx)
	if err != nil {
		log.Fatal(err)
	}
}

// Lightweight transactions: ScanCAS reports whether a conditional statement
// was applied and, when not, scans the current values (the columns after
// [applied]); MapCAS puts them in a map.
func ExampleQuery_ScanCAS() {
	var age int
	applied, err := session.Query("UPDATE users SET age = ? WHERE id = ? IF age = ?", 37, 7, 36).ScanCAS(ctx, &age)
	if err != nil {
		log.Fatal(err)
	}
	if !applied {
		fmt.Println("not applied: age is", age)
	}

	current := map[string]any{}
	applied, err = session.Query("INSERT INTO users (id, name, age) VALUES (?, ?, ?) IF NOT EXISTS", 7, "ada", 36).
		MapCAS(ctx, current)
	if err != nil {
		log.Fatal(err)
	}
	if !applied {
		fmt.Println("user 7 exists:", current["name"])
	}
}

// Vector search: a []float32 binds to a vector<float, n> column and scans
// from one, without conversion. The table has a storage-attached index on
// embedding (CREATE CUSTOM INDEX ... USING 'StorageAttachedIndex').
func ExampleQuery_Rows_vectorSearch() {
	err := session.Query("INSERT INTO docs (id, text, embedding) VALUES (?, ?, ?)",
		1, "An AI quilt to help you sleep forever", []float32{0.45, 0.09, 0.01, 0.2, 0.11}).Exec(ctx)
	if err != nil {
		log.Fatal(err)
	}

	q := []float32{0.15, 0.1, 0.1, 0.35, 0.55}
	nearest := session.Query(`SELECT id, text, embedding, similarity_cosine(embedding, ?) FROM docs
		ORDER BY embedding ANN OF ? LIMIT 3`, q, q)
	for row, err := range nearest.Rows(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		var id int
		var text string
		var embedding []float32
		var similarity float32
		if err := row.Scan(&id, &text, &embedding, &similarity); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("[%d] %q %v (sim: %.4f)\n", id, text, embedding, similarity)
	}
}

// Server errors are typed: match the code with errors.Is, or its details
// with errors.As.
func ExampleQuery_Exec_errors() {
	err := session.Query("INSERT INTO users (id, name) VALUES (?, ?)", 8, "alan").
		Consistency(frame.All).Exec(ctx)
	var unavailable *frame.Unavailable
	switch {
	case errors.As(err, &unavailable):
		fmt.Printf("only %d of %d replicas are up\n", unavailable.Alive, unavailable.Required)
	case errors.Is(err, frame.CodeWriteTimeout):
		fmt.Println("timed out: the write may or may not have been applied")
	case errors.Is(err, cluster.ErrNoHostAvailable):
		fmt.Println("no node could run it:", err)
	case err != nil:
		log.Fatal(err)
	}
}

// Tracing: the server records what it did for a traced statement.
func ExampleSession_Trace() {
	res, err := session.Query("SELECT name FROM users WHERE id = ?", 7).Trace(true).Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	trace, err := session.Trace(ctx, res.TraceID)
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range trace.Events {
		fmt.Println(ev.SourceElapsed, ev.Source, ev.Activity)
	}
}

// exampleSchema is the keyspace the examples' session uses.
var exampleSchema = []string{
	`DROP KEYSPACE IF EXISTS cqlwire_examples`,
	`CREATE KEYSPACE cqlwire_examples WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
	`CREATE TABLE cqlwire_examples.users (id int PRIMARY KEY, name text, age int)`,
	`CREATE TABLE cqlwire_examples.users_by_name (name text PRIMARY KEY, id int)`,
	`CREATE TABLE cqlwire_examples.docs (id int PRIMARY KEY, text text, embedding vector<float, 5>)`,
	`CREATE CUSTOM INDEX docs_ann ON cqlwire_examples.docs (embedding) USING 'StorageAttachedIndex'`,
}

// TestExamples runs the examples that use the shared session against the
// test node, in a keyspace of their own. (The Connect examples name hosts
// that do not exist: they are only compiled.) An example that fails calls
// log.Fatal, which ends the test binary with its error.
func TestExamples(t *testing.T) {
	env := testenv.Require(t)
	cfg := cluster.Config{
		ContactPoints:   env.Addrs(),
		LocalDatacenter: env.DC,
		Username:        env.Username,
		Password:        auth.Secret(env.Password),
		DefaultProfile:  query.Profile{RequestTimeout: 30 * time.Second},
	}
	if env.TLSClientAuth {
		cfg.TLS = &conn.TLSOptions{CAFile: env.TLSCA, CertFile: env.TLSCert, KeyFile: env.TLSKey}
	}
	setup, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	for _, ddl := range exampleSchema {
		if err := setup.Query(ddl).Exec(ctx); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	// The new index is built in the background; wait until it answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := setup.Query("SELECT id FROM cqlwire_examples.docs ORDER BY embedding ANN OF [1, 1, 1, 1, 1] LIMIT 1").Exec(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, frame.CodeReadFailure) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	cfg.Keyspace = "cqlwire_examples"
	session, err = cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { session.Close(); session = nil }()
	for _, ex := range []struct {
		name string
		run  func()
	}{
		{"Session_Query", ExampleSession_Query},
		{"Session_Prepare", ExampleSession_Prepare},
		{"Query_Rows", ExampleQuery_Rows},
		{"Query_Rows_struct", ExampleQuery_Rows_struct},
		{"Query_PagingState", ExampleQuery_PagingState},
		{"Session_Batch", ExampleSession_Batch},
		{"Query_ScanCAS", ExampleQuery_ScanCAS},
		{"Query_Rows_vectorSearch", ExampleQuery_Rows_vectorSearch},
		{"Query_Exec_errors", ExampleQuery_Exec_errors},
		{"Session_Trace", ExampleSession_Trace},
	} {
		t.Run(ex.name, func(t *testing.T) { ex.run() })
	}
}

// TestREADMESnippets checks that every Go snippet of the README is part of
// an example of this file, so that the README shows only code that compiles
// (and, through TestExamples, mostly code that runs).
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The examples of this package, and of the packages the README shows
	// apart (Kerberos lives in its own package, which cluster cannot import).
	var examples []byte
	for _, f := range []string{"example_test.go", filepath.Join("..", "auth", "kerberos", "example_test.go")} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, src...)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) < 10 {
		t.Fatalf("found %d Go snippets in README.md, want at least 10 (the API tour)", len(blocks))
	}
	for _, b := range blocks {
		if !inExample(string(examples), string(b[1])) {
			t.Errorf("README snippet is in no example of cluster/example_test.go or auth/kerberos/example_test.go:\n%s", b[1])
		}
	}
}

// inExample reports whether snippet is part of src indented by one to three
// tabs: an example's body, or a field list within its cluster.Config.
func inExample(src, snippet string) bool {
	for indent := "\t"; len(indent) <= 3; indent += "\t" {
		lines := strings.SplitAfter(snippet, "\n")
		for i, l := range lines {
			if strings.TrimSpace(l) != "" {
				lines[i] = indent + l
			}
		}
		if strings.Contains(src, strings.Join(lines, "")) {
			return true
		}
	}
	return false
}
