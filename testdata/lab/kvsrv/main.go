// Command kvsrv is the lab's Redis stand-in: it speaks enough RESP for a
// task queue (LPUSH, LPOP, PING, QUIT) and logs in Redis's own log format.
// Like Redis, it answers QUIT with +OK and closes the connection itself, so
// with clients that connect, pop one task and quit, the server is the side
// that closes first and its sockets go through TIME_WAIT.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	mu      sync.Mutex
	queues  = map[string][]string{}
	pid     = os.Getpid()
	clients atomic.Int64
	total   atomic.Int64
)

// rlog writes one line in Redis's format: "pid:M 21 Nov 2026 22:13:07.145 * msg".
func rlog(level byte, format string, args ...any) {
	now := time.Now()
	log.Printf("%d:M %s %c %s", pid, now.Format("02 Jan 2006 15:04:05.000"), level, fmt.Sprintf(format, args...))
}

func main() {
	addr := flag.String("listen", ":6379", "listen address")
	logPath := flag.String("log", "", "log file (default stderr)")
	dur := flag.Duration("duration", 2*time.Minute, "exit after this long")
	preload := flag.Int("preload", 200000, "tasks queued in proxy_task_queue at start")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(0)
	for i := 0; i < *preload; i++ {
		queues["proxy_task_queue"] = append(queues["proxy_task_queue"], "task:"+strconv.Itoa(i))
	}
	rlog('*', "Server initialized")
	rlog('*', "DB loaded: proxy_task_queue has %d items", *preload)
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		rlog('#', "Failed listening on port %s (tcp): %v", *addr, err)
		os.Exit(1)
	}
	rlog('*', "Ready to accept connections tcp")
	time.AfterFunc(*dur, func() { rlog('#', "User requested shutdown..."); os.Exit(0) })
	go func() {
		for range time.Tick(5 * time.Second) {
			mu.Lock()
			n := len(queues["proxy_task_queue"])
			mu.Unlock()
			rlog('-', "%d clients connected, %d connections accepted in all, proxy_task_queue has %d items", clients.Load(), total.Load(), n)
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			rlog('#', "Accepting client connection: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		clients.Add(1)
		total.Add(1)
		go serve(c)
	}
}

func serve(c net.Conn) {
	defer func() { clients.Add(-1); c.Close() }()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			if err != io.EOF {
				rlog('#', "Error reading from client %s: %v", c.RemoteAddr(), err)
			}
			return
		}
		if len(args) == 0 {
			continue
		}
		switch strings.ToUpper(args[0]) {
		case "PING":
			w.WriteString("+PONG\r\n")
		case "LPUSH":
			mu.Lock()
			for _, v := range args[2:] {
				queues[args[1]] = append([]string{v}, queues[args[1]]...)
			}
			n := len(queues[args[1]])
			mu.Unlock()
			fmt.Fprintf(w, ":%d\r\n", n)
		case "LPOP":
			mu.Lock()
			q := queues[args[1]]
			var v string
			ok := len(q) > 0
			if ok {
				v, queues[args[1]] = q[0], q[1:]
			}
			mu.Unlock()
			if ok {
				fmt.Fprintf(w, "$%d\r\n%s\r\n", len(v), v)
			} else {
				w.WriteString("$-1\r\n")
			}
		case "QUIT":
			w.WriteString("+OK\r\n")
			w.Flush()
			return // the server closes first, as Redis does
		default:
			fmt.Fprintf(w, "-ERR unknown command '%s'\r\n", args[0])
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				rlog('#', "Error writing to client %s: %v", c.RemoteAddr(), err)
				return
			}
		}
	}
}

// readCommand reads one RESP array of bulk strings (or an inline command).
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line), nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil {
		return nil, fmt.Errorf("Protocol error: invalid multibulk length")
	}
	args := make([]string, 0, n)
	for i := 0; i < n; i++ {
		hdr, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimRight(hdr, "\r\n")[1:])
		if err != nil {
			return nil, fmt.Errorf("Protocol error: invalid bulk length")
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args = append(args, string(buf[:size]))
	}
	return args, nil
}
