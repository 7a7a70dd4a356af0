package collect

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"regexp"
	"strings"
	"sync"
)

// Anonymizer replaces IP addresses with pseudonyms, the same pseudonym for
// the same address in every file of a run and in the capture.
//
// The mapping is prefix-preserving (the scheme of Crypto-PAn, keyed with
// HMAC-SHA256 instead of AES): two addresses that share their first n bits
// map to pseudonyms that share their first n bits, so "all these peers are in
// one /24" survives anonymization while the addresses themselves do not. It is
// a permutation, so different addresses always get different pseudonyms.
// Loopback, unspecified and the IPv4 broadcast address are kept as they are
// (they identify nobody and the analysis needs them); no other address is
// ever mapped onto one of them. An address whose pseudonym would land on one
// of them (about 1 in 256) is walked on to the next, which keeps the mapping
// one-to-one but not prefix-preserving for that address. IPv4-mapped IPv6 addresses map their IPv4
// part with the IPv4 mapping. The family is always preserved.
type Anonymizer struct {
	key []byte

	mu    sync.Mutex
	cache map[netip.Addr]netip.Addr
}

// NewAnonymizer returns an anonymizer with a fresh random key: pseudonyms are
// stable within one run and unrelated between runs.
func NewAnonymizer() (*Anonymizer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return NewAnonymizerKey(key), nil
}

// NewAnonymizerKey returns an anonymizer with a given key (tests).
func NewAnonymizerKey(key []byte) *Anonymizer {
	return &Anonymizer{key: append([]byte(nil), key...), cache: map[netip.Addr]netip.Addr{}}
}

// kept reports whether an address is left as it is.
func kept(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	return a.Is4() && a.As4() == [4]byte{255, 255, 255, 255}
}

// Addr returns the pseudonym of a. The zone of a scoped IPv6 address is kept.
func (an *Anonymizer) Addr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return a
	}
	zone := a.Zone()
	a = a.WithZone("")
	if a.Is4In6() {
		return netip.AddrFrom16(an.Addr(a.Unmap()).As16()).WithZone(zone)
	}
	if kept(a) {
		return a.WithZone(zone)
	}
	an.mu.Lock()
	defer an.mu.Unlock()
	if p, ok := an.cache[a]; ok {
		return p.WithZone(zone)
	}
	// Cycle-walk: the permutation is over the whole address space; apply it
	// again while the result lands on a kept address, which keeps the
	// mapping a bijection on the addresses that are not kept.
	p := an.permute(a)
	for kept(p) || p.Is4In6() {
		p = an.permute(p)
	}
	an.cache[a] = p
	return p.WithZone(zone)
}

// permute is the prefix-preserving permutation: output bit i is input bit i
// flipped by a keyed function of input bits 0..i-1.
func (an *Anonymizer) permute(a netip.Addr) netip.Addr {
	var in []byte
	if a.Is4() {
		b := a.As4()
		in = b[:]
	} else {
		b := a.As16()
		in = b[:]
	}
	out := make([]byte, len(in))
	prefix := make([]byte, len(in))
	mac := hmac.New(sha256.New, an.key)
	var sum [sha256.Size]byte
	for i := 0; i < len(in)*8; i++ {
		mac.Reset()
		mac.Write([]byte{byte(len(in)), byte(i)})
		mac.Write(prefix)
		flip := mac.Sum(sum[:0])[0] & 1
		bit := in[i/8] >> (7 - i%8) & 1
		out[i/8] |= (bit ^ flip) << (7 - i%8)
		prefix[i/8] |= bit << (7 - i%8)
	}
	if len(out) == 4 {
		return netip.AddrFrom4([4]byte(out))
	}
	return netip.AddrFrom16([16]byte(out))
}

// Text replaces every IPv4 and IPv6 address written in the usual textual
// forms (10.1.2.3, 10.1.2.3:80, [fe80::1%eth0]:546, ::ffff:10.1.2.3) in data.
// It errs on the side of replacing: a dotted quad that is really a version
// number is pseudonymised too.
func (an *Anonymizer) Text(data []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(data); {
		if !isAddrByte(data[i]) {
			i++
			continue
		}
		j := i
		for j < len(data) && isAddrByte(data[j]) {
			j++
		}
		for _, r := range an.runReplacements(data, i, j) {
			out = append(out, data[last:r.start]...)
			out = append(out, r.text...)
			last = r.end
		}
		i = j
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

type replacement struct {
	start, end int
	text       string
}

func isAddrByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.'
}

// isWordByte is a byte that may not touch an address: an address glued to a
// letter is part of a longer word (std::string, v1.2.3.4).
func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// runReplacements finds the addresses inside data[i:j], a maximal run of
// hex digits, colons and dots.
func (an *Anonymizer) runReplacements(data []byte, i, j int) []replacement {
	// Trim dots and single colons that end a sentence or start a label
	// ("addr:10.0.0.1", "10.0.0.1."); a leading "::" is part of an address.
	for j > i && data[j-1] == '.' {
		j--
	}
	run := string(data[i:j])
	before := byte(' ')
	if i > 0 {
		before = data[i-1]
	}
	after := byte(' ')
	if j < len(data) {
		after = data[j]
	}
	if strings.Count(run, ":") >= 2 && !isWordByte(before) && !isWordByte(after) {
		// The whole run, or the run without a trailing ":port". A zone
		// ("%eth0") ends the run and stays as it is. Clock times and MAC
		// addresses do not parse as IPv6 addresses.
		for _, cand := range []string{run, run[:max(strings.LastIndexByte(run, ':'), 0)]} {
			a, err := netip.ParseAddr(cand)
			if err != nil || !a.Is6() {
				continue
			}
			return []replacement{{i, i + len(cand), an.Addr(a).String()}}
		}
	}
	// Dotted quads between colons ("10.0.0.1:80", "addr:10.0.0.1").
	var reps []replacement
	pos := i
	for _, piece := range strings.Split(run, ":") {
		start, end := pos, pos+len(piece)
		pos = end + 1
		if start > 0 && (isWordByte(data[start-1]) || data[start-1] == '.') {
			continue
		}
		if end < len(data) && isWordByte(data[end]) {
			continue
		}
		a, err := netip.ParseAddr(piece)
		if err != nil || !a.Is4() {
			continue
		}
		reps = append(reps, replacement{start, end, an.Addr(a).String()})
	}
	return reps
}

// procNetAddr matches the hex addresses of /proc/net/{tcp,tcp6,udp,udp6}:
// 0100007F:1F90 or 00000000000000000000000001000000:0016.
var procNetAddr = regexp.MustCompile(`\b([0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\b`)

// ProcNet replaces the hex addresses of a /proc/net/tcp-style table. The
// kernel prints each 32-bit word of the address in the byte order of the
// machine, which is the machine the collector runs on.
func (an *Anonymizer) ProcNet(data []byte) []byte {
	return procNetAddr.ReplaceAllFunc(data, func(m []byte) []byte {
		h := string(m[:len(m)-5])
		raw, err := hex.DecodeString(h)
		if err != nil {
			return m
		}
		b := make([]byte, len(raw))
		for w := 0; w < len(raw); w += 4 {
			binary.NativeEndian.PutUint32(b[w:], binary.BigEndian.Uint32(raw[w:]))
		}
		var a netip.Addr
		if len(b) == 4 {
			a = netip.AddrFrom4([4]byte(b))
		} else {
			a = netip.AddrFrom16([16]byte(b))
		}
		p := an.Addr(a)
		var pb []byte
		if len(b) == 4 {
			x := p.As4()
			pb = x[:]
		} else {
			x := p.As16()
			pb = x[:]
		}
		var sb strings.Builder
		for w := 0; w < len(pb); w += 4 {
			var word [4]byte
			binary.BigEndian.PutUint32(word[:], binary.NativeEndian.Uint32(pb[w:]))
			sb.WriteString(strings.ToUpper(hex.EncodeToString(word[:])))
		}
		sb.Write(m[len(m)-5:])
		return []byte(sb.String())
	})
}
