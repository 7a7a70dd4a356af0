// Command healthcheck is the lab's cloud load balancer TCP health check:
// from each of several source addresses (the balancer's nodes), every
// interval, open a TCP connection to the target and reset it at once
// (SO_LINGER 0 then close: a RST, no FIN), as the story's provider
// documents. It sends no payload.
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:9455", "address checked")
	sources := flag.String("sources", "", "comma-separated source addresses, one checker each")
	every := flag.Duration("interval", 2*time.Second, "check interval of each source")
	dur := flag.Duration("duration", time.Minute, "how long to check")
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
	var wg sync.WaitGroup
	end := time.Now().Add(*dur)
	for i, s := range strings.Split(*sources, ",") {
		wg.Add(1)
		go func(src string, offset time.Duration) {
			defer wg.Done()
			time.Sleep(offset) // the nodes are not in step
			d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
			for time.Now().Before(end) {
				c, err := d.Dial("tcp", *target)
				if err != nil {
					log.Printf("check from %s: unhealthy: %v", src, err)
				} else {
					c.(*net.TCPConn).SetLinger(0)
					c.Close()
				}
				time.Sleep(*every)
			}
		}(s, time.Duration(i)**every/8)
	}
	wg.Wait()
}
