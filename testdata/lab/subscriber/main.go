// Command subscriber is the lab's subscriber fleet for pushsrv: -conns
// connections, each sending a heartbeat line every -heartbeat and reading
// what the server publishes. With -stall-after D every connection stops
// reading after D (a consumer stuck downstream) but keeps its heartbeat:
// the data piles up in the socket buffers of both ends.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("target", "10.200.1.10:9100", "server address")
	conns := flag.Int("conns", 100, "connections")
	sources := flag.String("sources", "", "comma-separated source addresses (default: any)")
	hb := flag.Duration("heartbeat", time.Second, "heartbeat interval")
	stall := flag.Duration("stall-after", 0, "stop reading after this long (0: never)")
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
	var srcs []string
	if *sources != "" {
		srcs = strings.Split(*sources, ",")
	}
	time.AfterFunc(*dur, func() { log.Printf("exiting after %v", *dur); os.Exit(0) })
	log.Printf("subscriber: %d connections to %s, heartbeat %v, stall after %v", *conns, *target, *hb, *stall)
	var up, failed, lost atomic.Int64
	var read atomic.Int64
	stalled := make(chan struct{})
	if *stall > 0 {
		time.AfterFunc(*stall, func() {
			log.Printf("consumer stuck: no longer reading (%d connections up, %d bytes read)", up.Load(), read.Load())
			close(stalled)
		})
	}
	for i := 0; i < *conns; i++ {
		d := net.Dialer{Timeout: 3 * time.Second}
		if len(srcs) > 0 {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(srcs[i%len(srcs)])}
		}
		c, err := d.Dial("tcp4", *target)
		if err != nil {
			if failed.Add(1) <= 5 {
				log.Printf("dial: %v", err)
			}
			continue
		}
		up.Add(1)
		go func() {
			buf := make([]byte, 32<<10)
			for {
				select {
				case <-stalled:
					return
				default:
				}
				n, err := c.Read(buf)
				read.Add(int64(n))
				if err != nil {
					if err != io.EOF && lost.Add(1) <= 5 {
						log.Printf("read: %v", err)
					}
					return
				}
			}
		}()
		go func() {
			for range time.Tick(*hb) {
				if _, err := c.Write([]byte("HB\n")); err != nil {
					if lost.Add(1) <= 5 {
						log.Printf("heartbeat: %v", err)
					}
					return
				}
			}
		}()
	}
	log.Printf("connected: %d up, %d failed", up.Load(), failed.Load())
	for range time.Tick(5 * time.Second) {
		log.Printf("progress: %d up, %d bytes read, %d errors", up.Load(), read.Load(), lost.Load())
	}
}
