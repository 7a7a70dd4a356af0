package capture

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// Thresholds of the cross-connection patterns.
const (
	// MinHealthChecks is how many connect-then-rst connections one source
	// must make to one server before their period is looked at.
	MinHealthChecks = 4
	// MinActiveClose is how many connections closed first by the same side
	// make an active-closer event.
	MinActiveClose = 50
	// maxSamples bounds the times kept per source or closer.
	maxSamples = 4096
)

type sample struct {
	ts    int64
	frame int
}

// hcKey is a source and the server it checks.
type hcKey struct {
	src  [16]byte
	dst  [16]byte
	port uint16
}

// closerKey groups connections closed first by the same side: a server
// (closer is the server's endpoint, peer empty: many clients) or a client
// host (closer port 0: its ephemeral ports) towards one server.
type closerKey struct {
	closer     [16]byte
	closerPort uint16
	peer       [16]byte
	peerPort   uint16
	server     bool
}

type closerGroup struct {
	count   int
	first   sample
	lastTS  int64
	hasTS   bool
	lengths []int64 // connection lifetimes
}

// patterns collects what is seen across connections as they end.
type patterns struct {
	file    string
	hc      map[hcKey][]sample
	hcCount map[hcKey]int
	closers map[closerKey]*closerGroup
}

func newPatterns(file string) patterns {
	return patterns{file: file, hc: map[hcKey][]sample{}, hcCount: map[hcKey]int{}, closers: map[closerKey]*closerGroup{}}
}

// addr returns side i's address and port as stored in the key.
func (f *flow) addr(i int) ([16]byte, uint16) {
	if (i == 0) == f.srcIsA {
		return f.key.a.bytes(), f.key.pa
	}
	return f.key.b.bytes(), f.key.pb
}

func (p *patterns) observe(fl *event.Flow, f *flow) {
	for _, a := range fl.Anomalies {
		if a.Kind != "connect-then-rst" || !f.hasTS {
			continue
		}
		src, _ := f.addr(0)
		dst, port := f.addr(1)
		k := hcKey{src, dst, port}
		p.hcCount[k]++
		if s := p.hc[k]; len(s) < maxSamples {
			p.hc[k] = append(s, sample{f.minTS, a.Frame})
		}
	}
	// A TIME_WAIT producer: the connection closed with FINs both ways, and
	// the side that sent the first one holds TIME_WAIT.
	if !fl.Initiated || fl.FinSrc == 0 || fl.FinDst == 0 || fl.RstSrc != 0 || fl.RstDst != 0 {
		return
	}
	var k closerKey
	fin := fl.FinSrc
	if fl.FinDst < fl.FinSrc {
		fin = fl.FinDst
		k.closer, k.closerPort = f.addr(1)
		k.server = true
	} else {
		k.closer, _ = f.addr(0)
		k.peer, k.peerPort = f.addr(1)
	}
	g := p.closers[k]
	if g == nil {
		g = &closerGroup{first: sample{f.minTS, fin}}
		p.closers[k] = g
	}
	g.count++
	if fin < g.first.frame {
		g.first = sample{f.minTS, fin}
	}
	if f.hasTS {
		if !g.hasTS || f.maxTS > g.lastTS {
			g.lastTS = f.maxTS
		}
		g.hasTS = true
		if len(g.lengths) < maxSamples {
			g.lengths = append(g.lengths, f.maxTS-f.minTS)
		}
	}
}

func addrOf(a [16]byte) netip.Addr { return netip.AddrFrom16(a).Unmap() }

func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// period returns the median interval between a source's connections, and
// whether they are regular: three intervals in four within a quarter of it.
func period(s []sample) (time.Duration, bool) {
	slices.SortFunc(s, func(a, b sample) int { return cmp.Or(cmp.Compare(a.ts, b.ts), a.frame-b.frame) })
	var iv []int64
	for i := 1; i < len(s); i++ {
		iv = append(iv, s[i].ts-s[i-1].ts)
	}
	m := median(iv)
	if m < int64(50*time.Millisecond) {
		return 0, false
	}
	near := 0
	for _, d := range iv {
		if diff := d - m; diff <= m/4 && diff >= -m/4 {
			near++
		}
	}
	return time.Duration(m), near*4 >= len(iv)*3
}

// prefix is the source range a health checker is grouped by: the /24 of
// an IPv4 address, the /64 of an IPv6 one.
func prefix(a netip.Addr) netip.Prefix {
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// events returns the pattern events, in frame order.
func (p *patterns) events() []event.PacketEvent {
	var out []event.PacketEvent
	type hcGroup struct {
		range_  netip.Prefix
		dst     netip.AddrPort
		sources int
		count   int
		periods []int64
		first   sample
	}
	groups := map[[2]string]*hcGroup{}
	for k, s := range p.hc {
		if p.hcCount[k] < MinHealthChecks {
			continue
		}
		per, ok := period(s)
		if !ok {
			continue
		}
		r := prefix(addrOf(k.src))
		dst := netip.AddrPortFrom(addrOf(k.dst), k.port)
		gk := [2]string{r.String(), dst.String()}
		g := groups[gk]
		if g == nil {
			g = &hcGroup{range_: r, dst: dst, first: s[0]}
			groups[gk] = g
		}
		g.sources++
		g.count += p.hcCount[k]
		g.periods = append(g.periods, int64(per))
		if s[0].frame < g.first.frame {
			g.first = s[0]
		}
	}
	for _, g := range groups {
		per := time.Duration(median(g.periods))
		if per >= time.Second {
			per = per.Round(100 * time.Millisecond)
		} else {
			per = per.Round(time.Millisecond)
		}
		out = append(out, event.PacketEvent{
			Meta: event.Meta{Ref: event.Ref{File: p.file, Frame: g.first.frame}, Time: stamp(g.first.ts, g.first.ts != 0)},
			Kind: "healthcheck-periodic",
			Src:  event.Endpoint{Host: g.range_.String(), Wildcard: true},
			Dst:  event.Endpoint{Addr: g.dst.Addr(), Port: g.dst.Port()},
			Note: fmt.Sprintf("%d connect-then-close connections without payload from %s (%d source(s)) to %s, every %s per source",
				g.count, g.range_, g.sources, g.dst, per),
		})
	}
	for k, g := range p.closers {
		if g.count < MinActiveClose {
			continue
		}
		ev := event.PacketEvent{
			Meta: event.Meta{Ref: event.Ref{File: p.file, Frame: g.first.frame}, Time: stamp(g.first.ts, g.hasTS)},
			Kind: "active-closer",
		}
		closer, peer := "client", "server"
		if k.server {
			closer, peer = "server", "clients"
			ev.Src = event.Endpoint{Addr: addrOf(k.closer), Port: k.closerPort}
			ev.Dst = event.Endpoint{Host: "*", Wildcard: true}
		} else {
			ev.Src = event.Endpoint{Addr: addrOf(k.closer), Wildcard: true}
			ev.Dst = event.Endpoint{Addr: addrOf(k.peer), Port: k.peerPort}
		}
		ev.Note = fmt.Sprintf("%d connections closed first by the %s %s: it holds each in TIME_WAIT, not the %s", g.count, closer, addrOf(k.closer), peer)
		if len(g.lengths) > 0 {
			ev.Note += fmt.Sprintf("; median lifetime %s", time.Duration(median(g.lengths)).Round(time.Microsecond))
			if span := time.Duration(g.lastTS - g.first.ts); span > time.Second {
				ev.Note += fmt.Sprintf(", %.1f per second", float64(g.count)/span.Seconds())
			}
		}
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b event.PacketEvent) int {
		return cmp.Or(a.Ref.Frame-b.Ref.Frame, cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Src.String(), b.Src.String()), cmp.Compare(a.Dst.String(), b.Dst.String()))
	})
	return out
}
