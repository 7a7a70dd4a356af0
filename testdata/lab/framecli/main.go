// Command framecli is the lab's Thrift-style client: it opens a connection,
// sends one 4-byte length-prefixed frame, waits for the framed answer with a
// socket timeout, and closes. Calls are made at a fixed rate; a call that
// times out is logged and its connection closed, as a Thrift client would
// ("TSocket read 0 bytes" / "Could not read 4 bytes" in other languages).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:9455", "server address")
	sources := flag.String("sources", "", "comma-separated source addresses, used in turn")
	rate := flag.Float64("rate", 0.5, "calls per second")
	dur := flag.Duration("duration", 30*time.Second, "how long to call")
	timeout := flag.Duration("timeout", 3*time.Second, "socket timeout of one call")
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
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	end := time.After(*dur)
	for n := 1; ; n++ {
		select {
		case <-end:
			wg.Wait()
			return
		case <-tick.C:
		}
		wg.Add(1)
		go func(n int, src string) {
			defer wg.Done()
			start := time.Now()
			if err := call(*target, src, n, *timeout); err != nil {
				log.Printf("call %d uploadAvatar: %v", n, err)
				return
			}
			log.Printf("call %d uploadAvatar: ok in %v", n, time.Since(start).Round(time.Millisecond))
		}(n, srcs[n%len(srcs)])
	}
}

func call(target, src string, n int, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial("tcp", target)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	body := []byte(fmt.Sprintf("uploadAvatar user=%d size=2048", n))
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := c.Write(append(frame, body...)); err != nil {
		return err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return fmt.Errorf("could not read 4 bytes: %w", err)
	}
	_, err = io.ReadFull(c, make([]byte, binary.BigEndian.Uint32(hdr[:])))
	return err
}
