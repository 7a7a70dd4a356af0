// Command gencap writes a large synthetic pcap for the capture benchmark:
// many short TCP connections between a few hundred clients and a handful
// of servers, interleaved as on a busy host, closed in every way the
// analyzers care about (FIN either side first, RST, health checks that
// connect and reset, refused and unanswered SYNs, half-closes), plus bulk
// transfers with some retransmissions. Client ports are drawn from a small
// range, so 4-tuples are reused by many connections, and timestamps go
// backwards by a few microseconds now and then, as in real captures.
//
//	go run ./testdata/bench/gencap -o /tmp/bench.pcap -size 1500M
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "", "output pcap file (required)")
	size := flag.String("size", "1500M", "approximate file size (K, M, G suffixes)")
	seed := flag.Uint64("seed", 1, "random seed: the same seed and size give the same file")
	active := flag.Int("active", 200, "connections in progress at once")
	flag.Parse()
	limit, err := parseSize(*size)
	if *out == "" || err != nil {
		fmt.Fprintln(os.Stderr, "usage: gencap -o FILE [-size 1500M] [-seed N]")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	g := newGen(bufio.NewWriterSize(f, 4<<20), *seed, *active)
	g.header()
	for g.written < limit {
		g.step()
	}
	if err := g.w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d bytes, %d packets, %d connections started\n", *out, g.written, g.packets, g.started)
	for k := kind(0); k < nKinds; k++ {
		fmt.Printf("  %-14s %d\n", kindNames[k], g.kinds[k])
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseFloat(s, 64)
	return int64(n * float64(mult)), err
}

type kind int

const (
	kShort       kind = iota // request, response, FIN close (either side first)
	kRSTClose                // request, response, client RST
	kHealthCheck             // connect, then RST, no payload
	kHalfClose               // client FIN, server keeps sending, then closes
	kBulk                    // a large download with a few retransmissions
	kRefused                 // RST answers the SYN
	kUnanswered              // SYN, two retransmissions, nothing back
	nKinds
)

var kindNames = [nKinds]string{"short", "rst-close", "health-check", "half-close", "bulk", "refused", "syn-unanswered"}

// pick draws a connection kind: mostly short ones.
func pick(r *rand.Rand) kind {
	switch x := r.IntN(1000); {
	case x < 720:
		return kShort
	case x < 820:
		return kRSTClose
	case x < 900:
		return kHealthCheck
	case x < 950:
		return kHalfClose
	case x < 960:
		return kBulk
	case x < 990:
		return kRefused
	default:
		return kUnanswered
	}
}

// seg is one packet of a connection's script.
type seg struct {
	fromClient bool
	flags      byte
	payload    int
	gap        time.Duration // after the previous packet of the connection
	retrans    bool          // resend the previous data segment
}

// conn is a connection in progress.
type conn struct {
	cli, srv   [4]byte
	cport      uint16
	sport      uint16
	cseq, sseq uint32
	script     []seg
	next       int
	due        time.Duration
	lastSeq    uint32 // of the last data segment, for retransmissions
}

type gen struct {
	w       *bufio.Writer
	r       *rand.Rand
	now     time.Duration
	conns   []*conn
	written int64
	packets int64
	started int64
	kinds   [nKinds]int64
	pkt     []byte
	port    uint16
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

var epoch = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func newGen(w *bufio.Writer, seed uint64, active int) *gen {
	g := &gen{w: w, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), pkt: make([]byte, 14+20+20+1448)}
	for range active {
		g.conns = append(g.conns, g.newConn())
	}
	return g
}

func (g *gen) header() {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], 1) // Ethernet
	g.write(h)
}

func (g *gen) write(b []byte) {
	n, _ := g.w.Write(b)
	g.written += int64(n)
}

func (g *gen) newConn() *conn {
	r := g.r
	k := pick(r)
	g.kinds[k]++
	g.started++
	c := &conn{
		cli:  [4]byte{10, 1, byte(r.IntN(4)), byte(1 + r.IntN(50))},
		srv:  [4]byte{10, 0, 0, byte(1 + r.IntN(8))},
		cseq: r.Uint32(), sseq: r.Uint32(),
		due: g.now + time.Duration(r.IntN(200))*time.Microsecond,
	}
	// A small port range: the same 4-tuple comes back with a new ISN.
	g.port++
	c.cport = 32768 + g.port%2000
	c.sport = [...]uint16{80, 443, 6379, 5432}[r.IntN(4)]
	if k == kHealthCheck {
		c.cli = [4]byte{100, 64, 7, byte(1 + r.IntN(4))}
		c.sport = 8080
	}
	rtt := time.Duration(50+r.IntN(400)) * time.Microsecond
	us := func(n int) time.Duration { return time.Duration(n) * time.Microsecond }
	hs := []seg{{true, fSYN, 0, 0, false}, {false, fSYN | fACK, 0, rtt, false}, {true, fACK, 0, rtt / 10, false}}
	req := seg{true, fPSH | fACK, 80 + r.IntN(500), us(5 + r.IntN(50)), false}
	resp := func(n int) []seg {
		var s []seg
		for i := 0; i < n; i++ {
			s = append(s, seg{false, fACK, 1448, us(2 + r.IntN(20)), false})
		}
		s = append(s, seg{false, fPSH | fACK, 1 + r.IntN(1447), us(2 + r.IntN(20)), false})
		return append(s, seg{true, fACK, 0, rtt, false})
	}
	switch k {
	case kShort:
		c.script = append(append(append(hs, req), seg{false, fACK, 0, rtt / 2, false}), resp(max(0, r.IntN(5)-2))...)
		if r.IntN(2) == 0 {
			c.script = append(c.script, seg{true, fFIN | fACK, 0, us(20), false}, seg{false, fFIN | fACK, 0, rtt, false}, seg{true, fACK, 0, rtt / 10, false})
		} else {
			c.script = append(c.script, seg{false, fFIN | fACK, 0, us(20), false}, seg{true, fFIN | fACK, 0, rtt, false}, seg{false, fACK, 0, rtt / 10, false})
		}
	case kRSTClose:
		c.script = append(append(append(hs, req), resp(r.IntN(2))...), seg{true, fRST | fACK, 0, us(30), false})
	case kHealthCheck:
		c.script = append(hs, seg{true, fRST | fACK, 0, us(10), false})
	case kHalfClose:
		c.script = append(append(hs, req), seg{true, fFIN | fACK, 0, us(5), false})
		c.script = append(c.script, resp(2+r.IntN(4))...)
		c.script = append(c.script, seg{false, fFIN | fACK, 0, us(200), false}, seg{true, fACK, 0, rtt, false})
	case kBulk:
		c.script = append(append(hs, req), seg{false, fACK, 0, rtt, false})
		for i, n := 0, 50+r.IntN(200); i < n; i++ {
			c.script = append(c.script, seg{false, fACK, 1448, us(1 + r.IntN(12)), false})
			if r.IntN(200) == 0 {
				c.script = append(c.script, seg{false, fACK, 1448, rtt * 3, true})
			}
			if i%2 == 1 {
				c.script = append(c.script, seg{true, fACK, 0, us(3), false})
			}
		}
		c.script = append(c.script, seg{true, fFIN | fACK, 0, us(50), false}, seg{false, fFIN | fACK, 0, rtt, false}, seg{true, fACK, 0, rtt / 10, false})
	case kRefused:
		c.script = []seg{{true, fSYN, 0, 0, false}, {false, fRST | fACK, 0, rtt, false}}
	case kUnanswered:
		c.script = []seg{{true, fSYN, 0, 0, false}, {true, fSYN, 0, time.Second, false}, {true, fSYN, 0, 2 * time.Second, false}}
	}
	return c
}

// step sends the next packet of the connection that is due first among a
// few drawn at random (a cheap stand-in for a time-ordered queue).
func (g *gen) step() {
	best := g.r.IntN(len(g.conns))
	for range 3 {
		if i := g.r.IntN(len(g.conns)); g.conns[i].due < g.conns[best].due {
			best = i
		}
	}
	c := g.conns[best]
	if c.due > g.now {
		g.now = c.due
	}
	g.now += time.Duration(1+g.r.IntN(8)) * time.Microsecond
	ts := g.now
	if g.r.IntN(100000) == 0 {
		ts -= 7 * time.Microsecond // clocks step back now and then
	}
	g.send(c, c.script[c.next], ts)
	c.next++
	if c.next == len(c.script) {
		g.conns[best] = g.newConn()
		return
	}
	c.due = g.now + c.script[c.next].gap
}

func (g *gen) send(c *conn, s seg, ts time.Duration) {
	src, dst, sp, dp := c.cli, c.srv, c.cport, c.sport
	seq, ack := &c.cseq, c.sseq
	if !s.fromClient {
		src, dst, sp, dp = c.srv, c.cli, c.sport, c.cport
		seq, ack = &c.sseq, c.cseq
	}
	cur := *seq
	if s.retrans {
		cur = c.lastSeq
	}
	if s.flags&fACK == 0 {
		ack = 0
	}
	if s.flags == fSYN && s.fromClient && c.next > 0 {
		cur-- // a retransmitted SYN carries the ISN again
	}
	p := g.pkt[:54+s.payload]
	copy(p, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := p[14:]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(40+s.payload))
	binary.BigEndian.PutUint32(ip[4:], 0x40000000) // DF
	ip[8], ip[9] = 64, 6
	ip[10], ip[11] = 0, 0
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	t := ip[20:]
	binary.BigEndian.PutUint16(t, sp)
	binary.BigEndian.PutUint16(t[2:], dp)
	binary.BigEndian.PutUint32(t[4:], cur)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12], t[13] = 5<<4, s.flags
	binary.BigEndian.PutUint16(t[14:], 64240)
	binary.BigEndian.PutUint32(t[16:], 0)
	clear(t[20:])
	var h [16]byte
	at := epoch.Add(ts)
	binary.LittleEndian.PutUint32(h[:], uint32(at.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(at.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(p)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(p)))
	g.write(h[:])
	g.write(p)
	g.packets++
	if !s.retrans {
		if s.payload > 0 {
			c.lastSeq = cur
		}
		if s.flags == fSYN && c.next > 0 {
			return
		}
		*seq += uint32(s.payload)
		if s.flags&(fSYN|fFIN) != 0 {
			*seq++
		}
	}
}
