package capture

import (
	"math/rand/v2"
	"testing"
)

// TestFlowMap checks the open-addressing map against a Go map through
// inserts, replacements and deletes, with hashes chosen to collide on
// their home slots so that deletion has to move probed slots back.
func TestFlowMap(t *testing.T) {
	for _, spread := range []uint64{1 << 62, 1 << 8, 64} {
		m := newFlowMap()
		want := map[uint64]*flow{}
		rng := rand.New(rand.NewPCG(1, spread))
		flows := make([]flow, 64)
		for i := range 200000 {
			h := rng.Uint64N(spread)
			switch f := &flows[i%len(flows)]; rng.IntN(3) {
			case 0, 1:
				m.set(h, f)
				want[h] = f
			case 2:
				m.del(h)
				delete(want, h)
			}
			if i%1000 == 0 || i > 199000 {
				if m.n != len(want) {
					t.Fatalf("spread %d, step %d: %d entries, want %d", spread, i, m.n, len(want))
				}
				for k, f := range want {
					if got := m.get(k); got != f {
						t.Fatalf("spread %d, step %d: get(%d) = %p, want %p", spread, i, k, got, f)
					}
				}
				n := 0
				m.each(func(*flow) { n++ })
				if n != len(want) {
					t.Fatalf("spread %d, step %d: each saw %d, want %d", spread, i, n, len(want))
				}
			}
		}
		for k := range uint64(100) {
			if _, ok := want[spread+k]; !ok && m.get(spread+k) != nil {
				t.Fatalf("spread %d: get of an absent hash found a flow", spread)
			}
		}
	}
}
