// Command backend is the lab's generic backend instance: a TCP server that
// answers "GET <key>\n" with "VALUE <key> <n>\n", many requests per
// connection. On SIGTERM it logs and exits, so the kernel closes every
// client connection with a FIN, as when an instance is taken out of
// service.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("listen", ":9000", "listen address")
	logPath := flag.String("log", "", "log file (default stderr)")
	dur := flag.Duration("duration", 2*time.Minute, "exit after this long")
	keepalive := flag.Duration("keepalive", -1, "TCP keepalive period of accepted connections (-1: off)")
	quiet := flag.Bool("quiet", false, "do not log each connection")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	lc := net.ListenConfig{KeepAlive: *keepalive}
	ln, err := lc.Listen(context.Background(), "tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sig
		log.Printf("received %v, exiting", s)
		os.Exit(0)
	}()
	time.AfterFunc(*dur, func() { log.Printf("shutting down after %v", *dur); os.Exit(0) })
	log.Printf("backend listening on %s", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c, *quiet)
	}
}

func serve(c net.Conn, quiet bool) {
	defer c.Close()
	if !quiet {
		log.Printf("connection from %s", c.RemoteAddr())
	}
	r := bufio.NewReader(c)
	n := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if !quiet {
				log.Printf("connection from %s closed after %d requests: %v", c.RemoteAddr(), n, err)
			}
			return
		}
		n++
		key := strings.TrimSpace(strings.TrimPrefix(line, "GET "))
		if _, err := fmt.Fprintf(c, "VALUE %s %d\n", key, n); err != nil {
			log.Printf("write to %s: %v", c.RemoteAddr(), err)
			return
		}
	}
}
