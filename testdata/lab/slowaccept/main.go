// Command slowaccept is the lab's single-threaded HTTP server with a tiny
// listen backlog: it accepts one connection, serves it inline (reads the
// request, "works" for -work, answers, closes), and only then accepts the
// next. Under a burst its accept queue overflows.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 8080, "TCP port")
	backlog := flag.Int("backlog", 8, "listen(2) backlog")
	work := flag.Duration("work", 20*time.Millisecond, "time spent on each request")
	logPath := flag.String("log", "", "log file (default stderr)")
	dur := flag.Duration("duration", time.Minute, "exit after this long")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	ln, err := listen(*port, *backlog)
	if err != nil {
		log.Fatal(err)
	}
	time.AfterFunc(*dur, func() { log.Printf("shutting down after %v", *dur); os.Exit(0) })
	log.Printf("slowaccept listening on :%d (backlog %d, %v per request, one at a time)", *port, *backlog, *work)
	served, slow := 0, 0
	last := time.Now()
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			continue
		}
		start := time.Now()
		if err := serve(c, *work); err != nil {
			log.Printf("%s: %v", c.RemoteAddr(), err)
		}
		served++
		if time.Since(start) > 100*time.Millisecond {
			slow++
		}
		if time.Since(last) >= time.Second {
			log.Printf("served %d requests in the last %v (%d slower than 100ms)", served, time.Since(last).Round(time.Millisecond), slow)
			served, slow, last = 0, 0, time.Now()
		}
	}
}

// listen opens a TCP listener with an explicit backlog (net.Listen always
// uses net.core.somaxconn).
func listen(port, backlog int) (net.Listener, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return nil, fmt.Errorf("setsockopt: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port}); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	return net.FileListener(f)
}

func serve(c net.Conn, work time.Duration) error {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	time.Sleep(work)
	body := "ok\n"
	_, err = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if err != nil {
		return fmt.Errorf("write response to %s %s: %w", req.Method, req.URL, err)
	}
	return nil
}
