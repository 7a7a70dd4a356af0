// Command ordersvc is the lab's "order API": an HTTP service whose handlers
// each run one query through a database/sql pool to fakedb.
//
// It carries the bug of the fd-exhaustion story on purpose: the pool is
// small (-max-open), and handlers wait for a pool connection with no
// deadline and without watching the request's context, so a request whose
// client has already given up still holds its socket (CLOSE_WAIT) until the
// pool serves it. Run with a low RLIMIT_NOFILE, the process runs out of
// descriptors: net/http logs "accept4: too many open files" and the pool can
// no longer dial the database either.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("listen", ":8080", "HTTP listen address")
	dbAddr := flag.String("db", "127.0.0.1:5432", "database address")
	maxOpen := flag.Int("max-open", 2, "database pool size (SetMaxOpenConns)")
	maxIdle := flag.Int("max-idle", 0, "idle connections kept (SetMaxIdleConns)")
	lifetime := flag.Duration("conn-max-lifetime", 3*time.Second, "SetConnMaxLifetime")
	logPath := flag.String("log", "", "log file (default stderr)")
	dur := flag.Duration("duration", 2*time.Minute, "exit after this long")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	db := sql.OpenDB(connector{addr: *dbAddr})
	db.SetMaxOpenConns(*maxOpen)
	db.SetMaxIdleConns(*maxIdle)
	db.SetConnMaxLifetime(*lifetime)

	mux := http.NewServeMux()
	mux.HandleFunc("/api/order", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.URL.Query().Get("id")
		var status int
		// No r.Context() and no timeout: this is the bug being reproduced.
		err := db.QueryRow("SELECT status FROM orders WHERE id = " + id).Scan(&status)
		code := http.StatusOK
		if err != nil {
			code = http.StatusInternalServerError
			log.Printf("order %s: query failed: %v", id, err)
			http.Error(w, "database error", code)
		} else {
			fmt.Fprintf(w, "{\"id\":%q,\"status\":%d}\n", id, status)
		}
		log.Printf("%s \"%s %s %s\" %d %.3fs", r.RemoteAddr, r.Method, r.URL.RequestURI(), r.Proto, code, time.Since(start).Seconds())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })

	go func() {
		for range time.Tick(time.Second) {
			s := db.Stats()
			log.Printf("db pool: max_open=%d open=%d in_use=%d idle=%d wait_count=%d wait_duration=%s max_lifetime_closed=%d",
				s.MaxOpenConnections, s.OpenConnections, s.InUse, s.Idle, s.WaitCount, s.WaitDuration.Round(time.Millisecond), s.MaxLifetimeClosed)
		}
	}()
	time.AfterFunc(*dur, func() { log.Printf("shutting down after %v", *dur); os.Exit(0) })

	srv := &http.Server{Addr: *addr, Handler: mux, ErrorLog: log.Default()}
	log.Printf("ordersvc listening on %s (db %s, pool max_open=%d max_idle=%d)", *addr, *dbAddr, *maxOpen, *maxIdle)
	log.Fatal(srv.ListenAndServe())
}

// connector is a minimal database/sql driver for fakedb's line protocol.
type connector struct{ addr string }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

func (c connector) Driver() driver.Driver { return drv{} }

type drv struct{}

func (drv) Open(name string) (driver.Conn, error) { return nil, errors.New("use sql.OpenDB") }

type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func (c *conn) Prepare(query string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (c *conn) Close() error                              { return c.nc.Close() }
func (c *conn) Begin() (driver.Tx, error)                 { return nil, errors.New("transactions not supported") }

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if _, err := fmt.Fprintf(c.nc, "Q %s\n", query); err != nil {
		return nil, driver.ErrBadConn
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	var n int64
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "R %d", &n); err != nil {
		return nil, fmt.Errorf("bad reply %q", line)
	}
	return &rows{v: n}, nil
}

type rows struct {
	v    int64
	done bool
}

func (r *rows) Columns() []string { return []string{"status"} }
func (r *rows) Close() error      { return nil }
func (r *rows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = r.v
	return nil
}
