// Command pushsrv is the lab's push service: subscribers connect, send a
// heartbeat line every second, and receive a -size message every -every.
// A checker drops (closes) subscribers it considers gone: no heartbeat for
// -dead, or a write stuck for -slow (the subscriber stopped reading and
// both socket buffers are full). It warns a second before dropping for a
// stuck write. close() on a socket with data still unsent or
// unacknowledged leaves the kernel an orphaned socket to finish it.
package main

import (
	"bufio"
	"context"
	"flag"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type sub struct {
	c         net.Conn
	heard     atomic.Int64 // unix nanos of the last heartbeat
	writing   atomic.Int64 // unix nanos a pending write started, 0 when none
	warned    atomic.Bool
	dropped   atomic.Bool
	delivered atomic.Int64
}

func main() {
	addr := flag.String("listen", ":9100", "listen address")
	size := flag.Int("size", 4096, "bytes per message")
	every := flag.Duration("every", time.Second, "publish interval")
	dead := flag.Duration("dead", 0, "drop a subscriber not heard from for this long (0: never)")
	slow := flag.Duration("slow", 0, "drop a subscriber whose write is stuck this long (0: never)")
	dur := flag.Duration("duration", time.Minute, "exit after this long")
	logPath := flag.String("log", "", "log file (default stderr)")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	// Plain TCP: Go listens with MPTCP by default where the kernel has it.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	time.AfterFunc(*dur, func() { log.Printf("shutting down after %v", *dur); os.Exit(0) })
	log.Printf("pushsrv listening on %s (%d-byte messages every %v, drop after %v without heartbeat, %v stuck writing)",
		ln.Addr(), *size, *every, *dead, *slow)

	var mu sync.Mutex
	subs := map[*sub]bool{}
	msg := make([]byte, *size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	msg[len(msg)-1] = '\n'
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Printf("accept: %v", err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s := &sub{c: c}
			s.heard.Store(time.Now().UnixNano())
			mu.Lock()
			subs[s] = true
			mu.Unlock()
			go readHeartbeats(s)
			go publish(s, msg, *every)
		}
	}()

	tick := time.NewTicker(500 * time.Millisecond)
	lastStats := time.Now()
	for now := range tick.C {
		var drops []*sub
		var why []string
		warn := 0
		mu.Lock()
		for s := range subs {
			switch {
			case *dead > 0 && now.Sub(time.Unix(0, s.heard.Load())) > *dead:
				drops, why = append(drops, s), append(why, "no heartbeat")
			case *slow > 0 && s.writing.Load() != 0 && now.Sub(time.Unix(0, s.writing.Load())) > *slow:
				drops, why = append(drops, s), append(why, "write stuck")
			case *slow > 0 && s.writing.Load() != 0 && now.Sub(time.Unix(0, s.writing.Load())) > *slow-time.Second:
				if !s.warned.Swap(true) {
					warn++
				}
			}
		}
		for _, s := range drops {
			delete(subs, s)
		}
		n := len(subs)
		mu.Unlock()
		if warn > 0 {
			log.Printf("warning: %d subscribers: write stuck for %v (slow consumers), dropping them at %v", warn, *slow-time.Second, *slow)
		}
		if len(drops) > 0 {
			count := map[string]int{}
			for i, s := range drops {
				s.dropped.Store(true)
				s.c.Close()
				count[why[i]]++
				if i < 3 {
					log.Printf("dropped subscriber %s (%s), %d messages delivered", s.c.RemoteAddr(), why[i], s.delivered.Load())
				}
			}
			for r, k := range count {
				log.Printf("dropped %d subscribers: %s; %d left", k, r, n)
			}
		}
		if now.Sub(lastStats) >= 5*time.Second {
			log.Printf("stats: %d subscribers", n)
			lastStats = now
		}
	}
}

func readHeartbeats(s *sub) {
	r := bufio.NewReader(s.c)
	for {
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		s.heard.Store(time.Now().UnixNano())
	}
}

func publish(s *sub, msg []byte, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if s.dropped.Load() {
			return
		}
		s.writing.Store(time.Now().UnixNano())
		_, err := s.c.Write(msg)
		s.writing.Store(0)
		if err != nil {
			return
		}
		s.delivered.Add(1)
	}
}
