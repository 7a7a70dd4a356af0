// Package capture reads packet captures (pcap and pcapng, plain or
// gzip-compressed) and rebuilds every TCP connection in them as an
// event.Flow, plus the cross-connection patterns the analyzers need
// (health checks that connect and reset on a period, hosts that close many
// short connections first) as event.PacketEvent.
//
// It streams: packets are never kept, a connection is summarised and
// released when it ends (after its FIN or RST has settled), so memory
// depends on the number of concurrent connections, not on the size of the
// file. Flows are reported in the order of their first frame.
//
// Frames are numbered from 1 as Wireshark numbers them, and every flow,
// anomaly and event points at the frame that shows it. A damaged capture
// (a truncated last record, a garbage length, a pcapng block with a bad
// length) yields everything before the damage and one error naming the
// frame and byte offset.
//
// Records are read with gopacket's pure-Go pcapgo readers
// (ZeroCopyReadPacketData), over a bufio.Reader this package owns, so
// that the byte offset of every record is known. Under the pcapng reader
// a framer hands pcapgo only whole blocks whose lengths it has checked,
// since pcapgo trusts them; it also keeps each interface's full link
// type, which pcapgo's uint8 LinkType truncates. A panic inside pcapgo
// ends the file with a positioned error. The pcap files pcapgo rejects
// outright (the "modified" format, versions other than 2.4) are read by a
// reader of this package instead. The header decoder is written for this
// package rather than taken from DecodingLayerParser: it decodes only the
// fields a connection table needs; the tests check it against gopacket on
// every corpus capture.
package capture
