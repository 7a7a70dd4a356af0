package collect

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

var testKey = []byte("netmortem test key, not secret!!")

func TestCollectAnonymizeTextKeepsAndReplaces(t *testing.T) {
	an := NewAnonymizerKey(testKey)
	p := func(s string) string { return an.Addr(netip.MustParseAddr(s)).String() }
	tests := []struct {
		name, in, want string
	}{
		{"ss v4 with port", "ESTAB 0 0 10.0.0.1:8080 10.0.0.2:51234", "ESTAB 0 0 " + p("10.0.0.1") + ":8080 " + p("10.0.0.2") + ":51234"},
		{"lsof arrow", "TCP 10.0.0.1:80->192.168.7.9:5000 (CLOSE_WAIT)", "TCP " + p("10.0.0.1") + ":80->" + p("192.168.7.9") + ":5000 (CLOSE_WAIT)"},
		{"ss v6 brackets", "[2001:db8::7]:443 [2001:db8::8]:6000", "[" + p("2001:db8::7") + "]:443 [" + p("2001:db8::8") + "]:6000"},
		{"zone kept", "[fe80::1%eth0]:546", "[" + p("fe80::1") + "%eth0]:546"},
		{"v4-mapped", "[::ffff:10.0.0.1]:80", "[::ffff:" + p("10.0.0.1") + "]:80"},
		{"label before", "inet addr:172.16.5.4 Bcast", "inet addr:" + p("172.16.5.4") + " Bcast"},
		{"kernel SRC=", "IN=eth0 SRC=100.109.3.4 DST=10.0.0.1", "IN=eth0 SRC=" + p("100.109.3.4") + " DST=" + p("10.0.0.1")},
		{"end of sentence", "peer 10.9.8.7.", "peer " + p("10.9.8.7") + "."},
		{"cidr", "route 10.1.0.0/16", "route " + p("10.1.0.0") + "/16"},
		{"loopback kept", "127.0.0.1:6379 [::1]:631 0.0.0.0:22 [::]:22 *:*", "127.0.0.1:6379 [::1]:631 0.0.0.0:22 [::]:22 *:*"},
		{"broadcast kept", "255.255.255.255", "255.255.255.255"},
		{"clock times", "21:54:54.123 12:00:01", "21:54:54.123 12:00:01"},
		{"mac address", "ether aa:bb:cc:dd:ee:ff", "ether aa:bb:cc:dd:ee:ff"},
		{"c++ scope", "std::string Foo::bar()", "std::string Foo::bar()"},
		{"version", "v1.2.3.4 and 5.15.0.91.1", "v1.2.3.4 and 5.15.0.91.1"},
		{"bad octet", "999.1.1.1", "999.1.1.1"},
		{"dmesg stamp", "[  123.456789] TCP: request_sock_TCP", "[  123.456789] TCP: request_sock_TCP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(an.Text([]byte(tt.in))); got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCollectAnonymizeAddrProperties(t *testing.T) {
	an := NewAnonymizerKey(testKey)
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[netip.Addr]netip.Addr{}
	walked := 0
	for i := 0; i < 3000; i++ {
		var a netip.Addr
		if i%2 == 0 {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], r.Uint32())
			a = netip.AddrFrom4(b)
		} else {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:], r.Uint64())
			binary.BigEndian.PutUint64(b[8:], r.Uint64())
			a = netip.AddrFrom16(b)
		}
		if kept(a) || a.Is4In6() {
			continue
		}
		p := an.Addr(a)
		if p.Is4() != a.Is4() {
			t.Fatalf("%v -> %v: family changed", a, p)
		}
		if kept(p) {
			t.Fatalf("%v -> %v: mapped onto a kept address", a, p)
		}
		if p == a {
			walked++ // possible (a 1 in 2^bits chance each); counted, not fatal
		}
		if q := an.Addr(a); q != p {
			t.Fatalf("%v mapped to %v then %v", a, p, q)
		}
		if prev, ok := seen[p]; ok && prev != a {
			t.Fatalf("%v and %v both map to %v", prev, a, p)
		}
		seen[p] = a
	}
	if walked > 2 {
		t.Errorf("%d addresses mapped to themselves", walked)
	}
	other := NewAnonymizerKey([]byte("another key"))
	a := netip.MustParseAddr("10.20.30.40")
	if an.Addr(a) == other.Addr(a) {
		t.Errorf("two keys gave the same pseudonym %v", an.Addr(a))
	}
}

func commonPrefix(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	for i := range x {
		if x[i] != y[i] {
			return n + bits.LeadingZeros8(x[i]^y[i])
		}
		n += 8
	}
	return n
}

func TestCollectAnonymizePrefixPreserving(t *testing.T) {
	an := NewAnonymizerKey(testKey)
	pairs := [][2]string{
		{"10.1.2.3", "10.1.2.77"},
		{"10.1.2.3", "10.1.9.3"},
		{"100.109.0.1", "100.109.255.1"},
		{"100.64.0.1", "192.168.0.1"},
		{"2001:db8::1", "2001:db8::2"},
		{"2001:db8:1::1", "2001:db8:2::1"},
	}
	for _, pr := range pairs {
		a, b := netip.MustParseAddr(pr[0]), netip.MustParseAddr(pr[1])
		pa, pb := an.Addr(a), an.Addr(b)
		if got, want := commonPrefix(pa, pb), commonPrefix(a, b); got != want {
			t.Errorf("%v,%v share %d bits; pseudonyms %v,%v share %d", a, b, want, pa, pb, got)
		}
	}
}

// procHex renders an address the way /proc/net/tcp does on this machine.
func procHex(a netip.Addr) string {
	b := a.AsSlice()
	var sb strings.Builder
	for w := 0; w < len(b); w += 4 {
		fmt.Fprintf(&sb, "%08X", binary.NativeEndian.Uint32(b[w:]))
	}
	return sb.String()
}

func TestCollectAnonymizeProcNet(t *testing.T) {
	an := NewAnonymizerKey(testKey)
	peer := netip.MustParseAddr("10.0.0.10")
	peer6 := netip.MustParseAddr("2001:db8::10")
	lo := netip.MustParseAddr("127.0.0.1")
	in := "  sl  local_address rem_address   st tx_queue rx_queue\n" +
		"   0: " + procHex(lo) + ":1F90 " + procHex(peer) + ":C350 08 00000000:00000000 00:00000000 00000000  1000 0 4242 1 0000000000000000\n" +
		"   1: " + procHex(peer6) + ":01BB " + procHex(netip.IPv6Unspecified()) + ":0000 0A\n"
	got := an.ProcNet([]byte(in))
	want := strings.NewReplacer(procHex(peer)+":", procHex(an.Addr(peer))+":", procHex(peer6)+":", procHex(an.Addr(peer6))+":").Replace(in)
	if string(got) != want {
		t.Errorf("ProcNet:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(string(got), procHex(lo)+":1F90") {
		t.Errorf("loopback was rewritten: %q", got)
	}
	// The sl column and the inode are not addresses.
	if !regexp.MustCompile(`(?m)^ +0: `).Match(got) || !strings.Contains(string(got), " 4242 ") {
		t.Errorf("non-address fields changed: %q", got)
	}
	if _, err := hex.DecodeString(procHex(an.Addr(peer))); err != nil {
		t.Fatal(err)
	}
}

func FuzzAnonymizeText(f *testing.F) {
	for _, s := range []string{"10.0.0.1:80", "[fe80::1%eth0]:546", "::ffff:1.2.3.4", "a::b:", "1.2.3.4.", ":::80", "0100007F:1F90"} {
		f.Add(s)
	}
	an := NewAnonymizerKey(testKey)
	f.Fuzz(func(t *testing.T, s string) {
		out := an.Text([]byte(s))
		if string(an.Text([]byte(s))) != string(out) {
			t.Fatalf("not deterministic for %q", s)
		}
		an.ProcNet([]byte(s))
	})
}
