// Command loadgen is the lab's HTTP load generator: open-loop requests at a
// fixed rate, bounded in time and count, each with a client timeout.
//
// Two modes:
//   - http (default): net/http client; with -keepalive=false every request
//     opens a new connection and asks the server to close it.
//   - raw: dial, send one HTTP/1.1 request, read the response, close: the
//     client closes first, so TIME_WAIT lands on the client side.
//
// Every failed request is logged with the error text Go returned, which is
// the text of the failing syscall (i/o timeout, connection reset by peer,
// connect: cannot assign requested address, ...).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	okN, timeoutN, resetN, refusedN, addrN, otherN atomic.Int64
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/", "URL; %d is replaced by the request number")
	rate := flag.Float64("rate", 20, "requests per second")
	dur := flag.Duration("duration", 10*time.Second, "how long to send")
	count := flag.Int("count", 100000, "stop after this many requests")
	timeout := flag.Duration("timeout", 2*time.Second, "client timeout of one request")
	inflight := flag.Int("max-inflight", 500, "cap on concurrent requests")
	keepalive := flag.Bool("keepalive", false, "reuse connections (http mode)")
	mode := flag.String("mode", "http", "http or raw")
	logPath := flag.String("log", "", "log file (default stderr)")
	quiet := flag.Bool("quiet-ok", true, "do not log successful requests")
	flag.Parse()
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	tr := &http.Transport{
		DisableKeepAlives:   !*keepalive,
		MaxIdleConnsPerHost: 64,
		DialContext:         (&net.Dialer{Timeout: *timeout}).DialContext,
	}
	client := &http.Client{Transport: tr, Timeout: *timeout}

	log.Printf("loadgen: %s mode=%s rate=%g/s duration=%v timeout=%v keepalive=%v", *target, *mode, *rate, *dur, *timeout, *keepalive)
	sem := make(chan struct{}, *inflight)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	stop := time.After(*dur)
	stats := time.NewTicker(time.Second)
	defer stats.Stop()
	n := 0
loop:
	for n < *count {
		select {
		case <-stop:
			break loop
		case <-stats.C:
			logStats("progress")
		case <-tick.C:
			select {
			case sem <- struct{}{}:
			default:
				otherN.Add(1)
				continue // open loop: drop the request rather than queue it
			}
			n++
			u := *target
			if strings.Contains(u, "%d") {
				u = fmt.Sprintf(u, n)
			}
			wg.Add(1)
			go func(i int, u string) {
				defer wg.Done()
				defer func() { <-sem }()
				var err error
				if *mode == "raw" {
					err = rawGet(u, *timeout)
				} else {
					err = httpGet(client, u)
				}
				classify(err)
				if err != nil {
					log.Printf("request %d: %v", i, err)
				} else if !*quiet {
					log.Printf("request %d: ok", i)
				}
			}(n, u)
		}
	}
	wg.Wait()
	logStats("done")
}

func httpGet(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read body of %s: %w", u, err)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// rawGet speaks HTTP/1.1 by hand so that the client, not the server, closes.
func rawGet(u string, timeout time.Duration) error {
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", pu.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen\r\n\r\n", pu.RequestURI(), pu.Host); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode >= 500 {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return err
}

func classify(err error) {
	var ne net.Error
	switch {
	case err == nil:
		okN.Add(1)
	case errors.Is(err, syscall.ECONNRESET):
		resetN.Add(1)
	case errors.Is(err, syscall.ECONNREFUSED):
		refusedN.Add(1)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		addrN.Add(1)
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		timeoutN.Add(1)
	default:
		otherN.Add(1)
	}
}

func logStats(what string) {
	log.Printf("%s: ok=%d timeout=%d reset=%d refused=%d addr_not_avail=%d other=%d",
		what, okN.Load(), timeoutN.Load(), resetN.Load(), refusedN.Load(), addrN.Load(), otherN.Load())
}
