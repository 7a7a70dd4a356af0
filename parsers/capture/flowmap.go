package capture

// flowMap maps a flowKey.hash to the first flow of its chain. It is an
// open-addressing table with linear probing: a lookup is usually one
// cache line of slots, where a Go map hashes the key again and probes
// control bytes first. It is looked up for every TCP segment.
type flowMap struct {
	slots []flowSlot // a power of two long; f == nil marks a free slot
	shift uint       // 64 - log2(len(slots))
	n     int
}

type flowSlot struct {
	h uint64
	f *flow
}

const flowMapMin = 1024

func newFlowMap() flowMap {
	return flowMap{slots: make([]flowSlot, flowMapMin), shift: 64 - 10}
}

// home is h's first slot. The multiply spreads every bit of h over the
// index: flowKey.hash's low bits alone come mostly from the addresses'
// and ports' low bits.
func (m *flowMap) home(h uint64) uint64 { return (h * 0x9e3779b97f4a7c15) >> m.shift }

func (m *flowMap) get(h uint64) *flow {
	mask := uint64(len(m.slots) - 1)
	for i := m.home(h); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.f == nil {
			return nil
		}
		if s.h == h {
			return s.f
		}
	}
}

// set makes f the flow of h. f is not nil.
func (m *flowMap) set(h uint64, f *flow) {
	mask := uint64(len(m.slots) - 1)
	for i := m.home(h); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.f == nil {
			*s = flowSlot{h, f}
			// At most half full: probes stay short.
			if m.n++; 2*m.n > len(m.slots) {
				m.grow()
			}
			return
		}
		if s.h == h {
			s.f = f
			return
		}
	}
}

// del removes h, moving back the slots after it that probed past it
// (there are no tombstones).
func (m *flowMap) del(h uint64) {
	mask := uint64(len(m.slots) - 1)
	i := m.home(h)
	for {
		s := &m.slots[i]
		if s.f == nil {
			return
		}
		if s.h == h {
			break
		}
		i = (i + 1) & mask
	}
	m.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := &m.slots[j]
		if s.f == nil {
			break
		}
		// s may fill the hole at i if its home is not in (i, j].
		if k := m.home(s.h); (j-k)&mask >= (j-i)&mask {
			m.slots[i] = *s
			i = j
		}
	}
	m.slots[i] = flowSlot{}
}

func (m *flowMap) grow() {
	old := m.slots
	m.slots = make([]flowSlot, 2*len(old))
	m.shift--
	mask := uint64(len(m.slots) - 1)
	for _, s := range old {
		if s.f == nil {
			continue
		}
		i := m.home(s.h)
		for m.slots[i].f != nil {
			i = (i + 1) & mask
		}
		m.slots[i] = s
	}
}

// each calls fn with the first flow of every chain, in no useful order.
func (m *flowMap) each(fn func(*flow)) {
	for _, s := range m.slots {
		if s.f != nil {
			fn(s.f)
		}
	}
}

// reset empties the map and gives its memory back.
func (m *flowMap) reset() { *m = newFlowMap() }
