// Command sdkclient is the lab's "A service" from the close-wait-leak story:
// N worker goroutines, each with its own SDK client object that keeps one
// connection per backend instance in a map, reused across requests.
//
// Instances come from a "name service" (a file, one ADDR:PORT a line,
// re-read every second). The SDK's bug is reproduced on purpose: a
// connection is only ever looked at when the name service hands out its
// address, so connections to instances that were removed are never read,
// never closed, and (keepalive off) never probed: once the instance goes
// away they stay in CLOSE_WAIT forever, N per departed instance.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

var (
	mu        sync.Mutex
	instances []string
)

func main() {
	workers := flag.Int("workers", 12, "worker goroutines, each with its own connection map")
	nsFile := flag.String("instances", "instances.txt", "name service file: one ADDR:PORT a line")
	every := flag.Duration("interval", 100*time.Millisecond, "pause between two requests of one worker")
	logPath := flag.String("log", "", "log file (default stderr)")
	dur := flag.Duration("duration", 2*time.Minute, "exit after this long")
	keepalive := flag.Duration("keepalive", -1, "TCP keepalive period (-1: off, the SDK's default)")
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

	reload(*nsFile)
	go func() {
		for range time.Tick(time.Second) {
			reload(*nsFile)
		}
	}()
	log.Printf("sdkclient: %d workers, name service %s", *workers, *nsFile)
	for i := 0; i < *workers; i++ {
		go worker(i, *every, *keepalive)
	}
	select {}
}

// reload re-reads the name service file and logs what changed.
func reload(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Printf("name service: %v", err)
		return
	}
	var next []string
	for _, l := range strings.Fields(string(data)) {
		next = append(next, l)
	}
	sort.Strings(next)
	mu.Lock()
	prev := instances
	instances = next
	mu.Unlock()
	added, removed := diff(next, prev), diff(prev, next)
	if len(added)+len(removed) > 0 {
		log.Printf("name service: instances now %v (added %v, removed %v)", next, added, removed)
	}
}

func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

type sdkConn struct {
	c net.Conn
	r *bufio.Reader
}

func worker(id int, every, keepalive time.Duration) {
	conns := map[string]*sdkConn{} // the SDK's connect_map: never pruned
	d := net.Dialer{Timeout: time.Second, KeepAlive: keepalive}
	for n := 0; ; n++ {
		time.Sleep(every)
		mu.Lock()
		list := instances
		mu.Unlock()
		if len(list) == 0 {
			continue
		}
		addr := list[(n+id)%len(list)]
		sc := conns[addr]
		if sc == nil {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				log.Printf("worker %d: %v", id, err)
				continue
			}
			sc = &sdkConn{c: c, r: bufio.NewReader(c)}
			conns[addr] = sc
		}
		sc.c.SetDeadline(time.Now().Add(time.Second))
		_, err := fmt.Fprintf(sc.c, "GET item-%d\n", n)
		if err == nil {
			_, err = sc.r.ReadString('\n')
		}
		if err != nil {
			// The SDK does drop a broken connection it is using; it just
			// never looks at the ones it is not using.
			log.Printf("worker %d: request to %s: %v", id, addr, err)
			sc.c.Close()
			delete(conns, addr)
		}
	}
}
