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
// The record readers and the header decoder are written for this package
// rather than taken from gopacket's pcapgo and DecodingLayerParser: they
// slice records out of one large buffer without copying, bound every
// length before allocating (pcapgo's pcapng reader trusts block and option
// lengths), know the byte offset of every record for error messages, and
// decode only the fields a connection table needs. The tests check both
// against gopacket on every corpus capture.
package capture
