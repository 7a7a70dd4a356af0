// Command kvcli is the lab's task agent from the tw-bucket-overflow story:
// many workers that each, in a loop, connect to the Redis stand-in, LPOP one
// task, QUIT and close: one short TCP connection per task, with the server
// closing first. Rate and count are bounded; errors are logged with the
// text of the failing syscall, and a summary every second.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:6379", "server address")
	workers := flag.Int("workers", 8, "concurrent agents")
	rate := flag.Float64("rate", 300, "connections per second in all")
	dur := flag.Duration("duration", 10*time.Second, "how long to run")
	count := flag.Int("count", 100000, "stop after this many tasks")
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
	var ok, failed, left atomic.Int64
	left.Store(int64(*count))
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for n := range jobs {
				task, err := popTask(*target)
				if err != nil {
					failed.Add(1)
					log.Printf("agent %d: task %d: Error while reading from socket: %v", id, n, err)
					continue
				}
				_ = task
				ok.Add(1)
			}
		}(i)
	}
	log.Printf("kvcli: %d agents, %g connections/s to %s for %v", *workers, *rate, *target, *dur)
	end := time.After(*dur)
	stats := time.NewTicker(time.Second)
	defer stats.Stop()
	n := 0
loop:
	for left.Add(-1) >= 0 {
		select {
		case <-end:
			break loop
		case <-stats.C:
			log.Printf("progress: tasks=%d errors=%d", ok.Load(), failed.Load())
		case <-tick.C:
			n++
			select {
			case jobs <- n:
			default: // all agents busy: skip this tick
			}
		}
	}
	close(jobs)
	wg.Wait()
	log.Printf("done: tasks=%d errors=%d", ok.Load(), failed.Load())
}

// popTask: connect, LPOP, QUIT, read both replies, close.
func popTask(target string) (string, error) {
	c, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*2\r\n$4\r\nLPOP\r\n$16\r\nproxy_task_queue\r\n*1\r\n$4\r\nQUIT\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	hdr, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	var task string
	if strings.HasPrefix(hdr, "$") && !strings.HasPrefix(hdr, "$-1") {
		body, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		task = strings.TrimSpace(body)
	}
	quit, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(quit, "+OK") {
		return "", fmt.Errorf("unexpected reply to QUIT: %q", quit)
	}
	return task, nil
}
