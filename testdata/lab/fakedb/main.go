// Command fakedb is the lab's stand-in for a database: a TCP server that
// answers one query line with one result line after a fixed service time.
//
// Protocol (one request per line, many per connection):
//
//	Q <sql text>\n   ->   R <rows>\n
//
// It exists so that a service's connection pool holds real file descriptors
// to a real peer, and so that query latency can be dialled up.
package main

import (
	"bufio"
	"errors"
	"flag"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:5432", "listen address")
	delay := flag.Duration("delay", 250*time.Millisecond, "service time of one query")
	logPath := flag.String("log", "", "log file (default stderr)")
	dur := flag.Duration("duration", 2*time.Minute, "exit after this long")
	restartAt := flag.Duration("restart-at", 0, "simulate a restart this long after start (0: never)")
	downFor := flag.Duration("down-for", 3*time.Second, "how long a restart keeps the port closed")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	time.AfterFunc(*dur, func() { log.Printf("shutting down after %v", *dur); os.Exit(0) })
	var restart <-chan time.Time
	if *restartAt > 0 {
		restart = time.After(*restartAt)
	}
	for {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("fakedb listening on %s, query time %v", ln.Addr(), *delay)
		go acceptLoop(ln, *delay)
		if restart == nil {
			select {}
		}
		<-restart
		restart = nil
		log.Printf("restarting: closing the listener and %d client connections", closeAll())
		ln.Close()
		time.Sleep(*downFor)
	}
}

var (
	mu    sync.Mutex
	conns = map[net.Conn]bool{}
)

func closeAll() int {
	mu.Lock()
	defer mu.Unlock()
	n := len(conns)
	for c := range conns {
		c.Close()
	}
	return n
}

func acceptLoop(ln net.Listener, delay time.Duration) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		mu.Lock()
		conns[c] = true
		mu.Unlock()
		go serve(c, delay)
	}
}

func serve(c net.Conn, delay time.Duration) {
	defer func() {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
		c.Close()
	}()
	log.Printf("connection from %s", c.RemoteAddr())
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			log.Printf("connection from %s closed: %v", c.RemoteAddr(), err)
			return
		}
		if !strings.HasPrefix(line, "Q ") {
			c.Write([]byte("E bad request\n"))
			continue
		}
		time.Sleep(delay)
		if _, err := c.Write([]byte("R 1\n")); err != nil {
			log.Printf("write to %s: %v", c.RemoteAddr(), err)
			return
		}
	}
}
