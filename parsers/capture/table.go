package capture

import (
	"slices"

	"github.com/netmortem/netmortem/parsers/event"
)

// table holds the connections in progress. A connection is released
// (summarised and handed on) when it has ended and settled: its RST or
// last FIN is older than the settle time, in capture time, or more than
// closedCap other connections ended after it. Connections that never end
// are released at the end of the capture, or, when more than maxFlows are
// open at once, the least recently active eighth of them is.
type table struct {
	file       string
	ignoreVLAN bool
	settle     int64
	maxFlows   int
	closedCap  int

	flows  flowMap // by flowKey.hash; a chain holds flows whose hashes collide and flows on other VLANs
	open   int
	nextID uint64
	now    int64 // the latest timestamp seen: timestamps may go backwards

	closed     []closedRef // ended connections waiting to settle, in end order
	closedHead int

	em      emitter
	pat     patterns
	st      *Stats
	handler func(*event.Flow)
	out     event.Flow // reused for every flow handed on
	free    []*flow    // released flows, reused by create
	slab    []flow     // flows not used yet
}

func newTable(opt Options, h Handler, st *Stats) *table {
	t := &table{
		file:       opt.File,
		ignoreVLAN: opt.IgnoreVLAN,
		settle:     int64(opt.Settle),
		maxFlows:   opt.MaxFlows,
		closedCap:  opt.MaxFlows / 8,
		flows:      newFlowMap(),
		st:         st,
	}
	if t.settle <= 0 {
		t.settle = int64(DefaultSettle)
	}
	if t.maxFlows <= 0 {
		t.maxFlows = DefaultMaxFlows
	}
	t.closedCap = min(closedCap, max(t.maxFlows/8, 1))
	t.handler = h.Flow
	if t.handler == nil {
		t.handler = func(*event.Flow) {}
	}
	// Flow ids start at 1: a recycled flow has id 0 (see closedRef).
	t.nextID = 1
	t.em = emitter{out: t.emit, cap: max(t.maxFlows/8, 1024), base: 1}
	t.pat = newPatterns(opt.File)
	return t
}

// match finds the flow of p among the flows on its 4-tuple. Flows that
// differ by VLAN are different flows; a direction not seen yet may carry
// another VLAN than the one seen (routed between VLANs), preferably the
// same.
func (t *table) match(head *flow, p *packet) (*flow, int) {
	if head == nil {
		return nil, 0
	}
	if t.ignoreVLAN {
		for c := head; c != nil; c = c.next {
			if c.key.eq(&p.key) {
				return c, c.dir(p)
			}
		}
		return nil, 0
	}
	for c := head; c != nil; c = c.next {
		if !c.key.eq(&p.key) {
			continue
		}
		if d := c.dir(p); c.s[d].seen && c.s[d].vlan == p.vlan {
			return c, d
		}
	}
	var fb *flow
	fd := 0
	for c := head; c != nil; c = c.next {
		if !c.key.eq(&p.key) {
			continue
		}
		d := c.dir(p)
		if c.s[d].seen {
			continue
		}
		if c.s[1-d].vlan == p.vlan {
			return c, d
		}
		if fb == nil {
			fb, fd = c, d
		}
	}
	return fb, fd
}

func (t *table) add(p *packet) {
	if p.hasTS && p.ts > t.now {
		t.now = p.ts
	}
	t.release()
	if t.open >= t.maxFlows {
		t.evict()
	}
	h := p.key.hash()
	head := t.flows.get(h)
	f, d := t.match(head, p)
	if f != nil && p.flags&(flagSYN|flagACK) == flagSYN {
		// A new SYN after the connection ended, or with another initial
		// sequence number than this side started with, is a new
		// connection reusing the 4-tuple.
		if s := &f.s[d]; f.ended || s.seen && p.seq != s.firstSeq {
			nf := t.create(p)
			nf.hash = h
			nf.next = f.next
			t.relink(f, nf)
			f.next, f.reused = nil, true
			t.finish(f)
			f, d = nf, nf.dir(p)
		}
	}
	if f == nil {
		f = t.create(p)
		f.hash = h
		if head == nil {
			t.flows.set(h, f)
		} else {
			c := head
			for c.next != nil {
				c = c.next
			}
			c.next = f
		}
		d = f.dir(p)
	}
	ended := f.ended
	f.add(p, d)
	if !ended && f.ended {
		f.endTS = t.now
		t.closed = append(t.closed, closedRef{f, f.id, f.endTS})
	}
}

func (t *table) create(p *packet) *flow {
	var f *flow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
	} else {
		// Allocated in slabs: a capture of many short connections keeps
		// thousands settling at once.
		if len(t.slab) == 0 {
			t.slab = make([]flow, 64)
		}
		f, t.slab = &t.slab[0], t.slab[1:]
	}
	f.key, f.id, f.firstFrame = p.key, t.nextID, p.frame
	t.nextID++
	// The initiator is the sender, unless the first segment seen is the
	// SYN-ACK: then it is the receiver.
	synAck := p.flags&(flagSYN|flagACK) == flagSYN|flagACK
	f.srcIsA = p.fwd != synAck
	t.open++
	t.st.Flows++
	t.em.opened()
	return f
}

// closedRef is an ended flow waiting to settle; id tells whether the flow
// struct still holds that connection. endTS is the flow's, kept here so
// that the per-packet check of the oldest entry does not touch the flow.
type closedRef struct {
	f     *flow
	id    uint64
	endTS int64
}

// relink puts nf where old was in its 4-tuple's chain.
func (t *table) relink(old, nf *flow) {
	head := t.flows.get(old.hash)
	if head == old {
		if nf == nil {
			if old.next == nil {
				t.flows.del(old.hash)
			} else {
				t.flows.set(old.hash, old.next)
			}
		} else {
			t.flows.set(old.hash, nf)
		}
		return
	}
	for c := head; c != nil; c = c.next {
		if c.next == old {
			if nf == nil {
				c.next = old.next
			} else {
				c.next = nf
			}
			return
		}
	}
}

// finish marks a flow ended for good; the emitter summarises it and hands
// it on in order.
func (t *table) finish(f *flow) {
	f.done = true
	t.open--
	t.em.done(f)
}

// emit summarises a flow into the one event.Flow handed to the handler,
// feeds the patterns, and recycles the flow.
func (t *table) emit(f *flow) {
	f.captureEnd = t.now
	f.summary(t.file, &t.out)
	t.pat.observe(&t.out, f)
	t.handler(&t.out)
	*f = flow{}
	t.free = append(t.free, f)
}

// release hands on the ended connections that have settled.
func (t *table) release() {
	// Entries are in end order, so their endTS only grow: when the oldest
	// has not settled and the queue is within its cap, none has (a
	// recycled entry ahead of a live one would only be dropped).
	if t.closedHead == len(t.closed) || t.now-t.closed[t.closedHead].endTS <= t.settle && len(t.closed)-t.closedHead <= t.closedCap {
		return
	}
	for t.closedHead < len(t.closed) {
		c := t.closed[t.closedHead]
		// A flow finished otherwise (a new SYN, eviction) may since have
		// been recycled for another connection.
		if f := c.f; f.id == c.id && !f.done {
			if t.now-f.endTS <= t.settle && len(t.closed)-t.closedHead <= t.closedCap {
				break
			}
			t.relink(f, nil)
			t.finish(f)
		}
		t.closed[t.closedHead] = closedRef{}
		t.closedHead++
	}
	if t.closedHead > 4096 && t.closedHead*2 > len(t.closed) {
		n := copy(t.closed, t.closed[t.closedHead:])
		clear(t.closed[n:])
		t.closed = t.closed[:n]
		t.closedHead = 0
	}
}

// all returns the open flows.
func (t *table) all() []*flow {
	all := make([]*flow, 0, t.open)
	t.flows.each(func(h *flow) {
		for c := h; c != nil; c = c.next {
			all = append(all, c)
		}
	})
	return all
}

// evict releases the least recently active eighth of the open flows. The
// order is by last frame, so it does not depend on map iteration.
func (t *table) evict() {
	all := t.all()
	slices.SortFunc(all, func(a, b *flow) int { return a.lastFrame - b.lastFrame })
	for _, f := range all[:max(len(all)/8, 1)] {
		f.evicted = true
		t.st.Evicted++
		t.relink(f, nil)
		t.finish(f)
	}
}

// flush releases everything at the end of the capture, in first-frame
// order.
func (t *table) flush() {
	all := t.all()
	slices.SortFunc(all, func(a, b *flow) int {
		if a.id < b.id {
			return -1
		}
		return 1
	})
	for _, f := range all {
		t.finish(f)
	}
	t.flows.reset()
	t.closed, t.closedHead = nil, 0
	t.em.flush()
}

// emitter hands flows on in the order they started (by first frame)
// although they end in any order. pend[i] is flow base+i, nil while it is
// open. A flow that stays open while more than cap later flows end is
// passed over, and handed on when it ends: the order is then by first
// frame except for it, and memory stays bounded.
type emitter struct {
	out  func(*flow)
	cap  int
	base uint64
	pend []*flow
	head int
}

func (e *emitter) opened() { e.pend = append(e.pend, nil) }

func (e *emitter) done(f *flow) {
	if f.id < e.base {
		e.out(f)
		return
	}
	e.pend[e.head+int(f.id-e.base)] = f
	e.drain()
}

func (e *emitter) drain() {
	for e.head < len(e.pend) && e.pend[e.head] != nil {
		e.pop()
	}
	if len(e.pend)-e.head > e.cap {
		for len(e.pend)-e.head > e.cap/2 {
			e.pop()
		}
	}
	if e.head > 1024 && e.head*2 > len(e.pend) {
		n := copy(e.pend, e.pend[e.head:])
		clear(e.pend[n:])
		e.pend = e.pend[:n]
		e.head = 0
	}
}

func (e *emitter) pop() {
	if f := e.pend[e.head]; f != nil {
		e.pend[e.head] = nil
		e.out(f)
	}
	e.head++
	e.base++
}

func (e *emitter) flush() {
	for e.head < len(e.pend) {
		e.pop()
	}
	e.pend, e.head = nil, 0
}
