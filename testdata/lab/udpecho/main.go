// Command udpecho is the lab's small UDP service (think of a DNS or
// metrics endpoint): it answers every datagram with the same datagram, so
// each client flow is seen in both directions by the firewall's connection
// tracking.
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"time"
)

func main() {
	addr := flag.String("listen", ":53", "UDP listen address")
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
	pc, err := net.ListenPacket("udp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	time.AfterFunc(*dur, func() { log.Printf("shutting down after %v", *dur); os.Exit(0) })
	log.Printf("udpecho listening on %s", pc.LocalAddr())
	buf := make([]byte, 1500)
	n := 0
	last := time.Now()
	for {
		m, from, err := pc.ReadFrom(buf)
		if err != nil {
			log.Printf("read: %v", err)
			continue
		}
		if _, err := pc.WriteTo(buf[:m], from); err != nil {
			log.Printf("write to %v: %v", from, err)
		}
		n++
		if time.Since(last) >= 5*time.Second {
			log.Printf("answered %d datagrams in the last %v", n, time.Since(last).Round(time.Millisecond))
			n, last = 0, time.Now()
		}
	}
}
