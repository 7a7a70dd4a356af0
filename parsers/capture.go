package parsers

import (
	"io"
	"slices"

	"github.com/netmortem/netmortem/parsers/capture"
	"github.com/netmortem/netmortem/parsers/event"
)

// captureParsers read packet captures: binary formats, detected first.
var captureParsers = []*Parser{
	{
		Kind:    "pcap",
		Title:   "packet capture: pcap or pcapng (plain or gzip), rebuilt into TCP connections",
		Command: "tcpdump -i any -s 128 -w cap.pcap; dumpcap; tshark -w",
		Detect: func(head []byte) bool {
			f, _ := capture.Sniff(head)
			return f != capture.FormatUnknown
		},
		Parse: parseCapture,
	},
}

// parseCapture rebuilds the connections of a capture into flows and
// pattern events. Errors carry the frame and byte offset.
func parseCapture(in *Input, r io.Reader) {
	start := len(in.Out.Flows)
	capture.Analyze(r, capture.Options{File: in.Path}, capture.Handler{
		Flow: func(f *event.Flow) {
			f.Host = in.Host
			in.Out.Flows = append(in.Out.Flows, *f)
		},
		Event: func(e *event.PacketEvent) {
			e.Host = in.Host
			in.Out.Packets = append(in.Out.Packets, *e)
		},
		Error: in.ErrorAt,
	})
	// Analyze hands flows on by first frame, but a flow left open while a
	// great many later ones ended comes late: the evidence is always in
	// frame order.
	flows := in.Out.Flows[start:]
	slices.SortStableFunc(flows, func(a, b event.Flow) int { return a.FirstFrame - b.FirstFrame })
}
