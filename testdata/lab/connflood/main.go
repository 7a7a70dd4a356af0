// Command connflood is the lab's misbehaving client fleet: each request is
// made on a fresh connection (a fresh source port), from a rotating set of
// source addresses: with -proto tcp, connect, send one line, read the
// answer, close; with -proto udp, send one datagram from a fresh socket and
// wait briefly for the answer. Every request is a new 5-tuple, hence a new
// connection-tracking entry on a stateful firewall (a TCP one that saw its
// handshake is "assured" and, closed, lingers 120 s in TIME_WAIT there).
// With -hold D (udp), each worker opens -batch sockets, queries on each,
// waits D and queries again before closing them: a UDP flow still active
// after 2 s is an "assured" stream for conntrack (120 s, never evicted early).
// Bounded by -count and -duration.
package main

import (
	"errors"
	"flag"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:9000", "server address")
	proto := flag.String("proto", "tcp", "tcp or udp")
	sources := flag.String("sources", "", "comma-separated source addresses")
	workers := flag.Int("workers", 8, "concurrent senders")
	count := flag.Int("count", 300000, "queries in all")
	dur := flag.Duration("duration", 30*time.Second, "stop after this long")
	wait := flag.Duration("wait", 200*time.Millisecond, "how long to wait for an answer")
	hold := flag.Duration("hold", 0, "udp: query again after this long on the same socket")
	batch := flag.Int("batch", 1000, "udp with -hold: sockets per worker per round")
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
	srcs := strings.Split(*sources, ",")
	var sent, answered, lost, failed atomic.Int64
	var logged atomic.Int64
	end := time.Now().Add(*dur)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	log.Printf("connflood: %d %s requests to %s from %d addresses, %d workers", *count, *proto, *target, len(srcs), *workers)
	go func() {
		for range time.Tick(time.Second) {
			log.Printf("progress: sent=%d answered=%d unanswered=%d errors=%d", sent.Load(), answered.Load(), lost.Load(), failed.Load())
		}
	}()
	if *hold > 0 {
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 512)
				query := func(c net.Conn, i int64) {
					c.SetDeadline(time.Now().Add(*wait))
					_, err := c.Write([]byte("GET flood\n"))
					if err == nil {
						_, err = c.Read(buf)
					}
					var ne net.Error
					switch {
					case err == nil:
						answered.Add(1)
					case errors.As(err, &ne) && ne.Timeout():
						if lost.Add(1) <= 10 {
							log.Printf("request %d: %v", i, err)
						}
					default:
						failed.Add(1)
						if logged.Add(1) < 20 {
							log.Printf("request %d: %v", i, err)
						}
					}
				}
				for time.Now().Before(end) {
					var conns []net.Conn
					var ids []int64
					for len(conns) < *batch {
						i := next.Add(1)
						if i > int64(*count) {
							break
						}
						d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(srcs[int(i)%len(srcs)])}}
						c, err := d.Dial("udp4", *target)
						if err != nil {
							failed.Add(1)
							if logged.Add(1) < 20 {
								log.Printf("request %d: %v", i, err)
							}
							continue
						}
						sent.Add(1)
						query(c, i)
						conns, ids = append(conns, c), append(ids, i)
					}
					if len(conns) == 0 {
						return
					}
					time.Sleep(*hold)
					for k, c := range conns {
						query(c, ids[k])
						c.Close()
					}
				}
			}()
		}
		wg.Wait()
		log.Printf("done: sent=%d answered=%d unanswered=%d errors=%d", sent.Load(), answered.Load(), lost.Load(), failed.Load())
		return
	}
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for time.Now().Before(end) {
				i := next.Add(1)
				if i > int64(*count) {
					return
				}
				src := net.ParseIP(srcs[int(i)%len(srcs)])
				var local net.Addr = &net.TCPAddr{IP: src}
				if *proto == "udp" {
					local = &net.UDPAddr{IP: src}
				}
				d := net.Dialer{LocalAddr: local, Timeout: *wait}
				c, err := d.Dial(*proto+"4", *target)
				if err != nil {
					failed.Add(1)
					if logged.Add(1) < 20 {
						log.Printf("request %d: %v", i, err)
					}
					continue
				}
				sent.Add(1)
				c.SetDeadline(time.Now().Add(*wait))
				_, err = c.Write([]byte("GET flood\n"))
				if err == nil {
					_, err = c.Read(buf)
				}
				c.Close()
				var ne net.Error
				switch {
				case err == nil:
					answered.Add(1)
				case errors.As(err, &ne) && ne.Timeout():
					if lost.Add(1) <= 10 {
						log.Printf("request %d: %v", i, err)
					}
				default:
					failed.Add(1)
					if logged.Add(1) < 20 {
						log.Printf("request %d: %v", i, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	log.Printf("done: sent=%d answered=%d unanswered=%d errors=%d", sent.Load(), answered.Load(), lost.Load(), failed.Load())
}
