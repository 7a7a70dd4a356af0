package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

// labCapture analyses the capture of a lab bundle (testdata/bundles,
// made by testdata/lab), skipping when the bundle is absent.
func labCapture(t *testing.T, bundle, host string) *result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bundles", bundle, host, "capture.pcap"))
	if err != nil {
		t.Skipf("lab bundle %s: %v", bundle, err)
	}
	res := analyze(t, data, Options{File: "capture.pcap"})
	if len(res.Errors) > 0 {
		t.Errorf("errors %q", res.Errors)
	}
	checkFlows(t, res)
	return res
}

func (r *result) flowOn(port uint16) *event.Flow {
	for _, f := range r.Flows {
		if f.Src.Port == port || f.Dst.Port == port {
			return f
		}
	}
	return nil
}

func anomalyList(f *event.Flow) string {
	var s []string
	for _, a := range f.Anomalies {
		s = append(s, fmt.Sprintf("%s@%d", a.Kind, a.Frame))
	}
	return strings.Join(s, " ")
}

// synCounts counts the SYNs sent by client and the SYN-ACKs answering
// them, retransmissions included.
func (r *result) synCounts(client string) (syn, synAck int) {
	for _, f := range r.Flows {
		if f.Initiated && f.Src.Addr.String() == client {
			syn += 1 + f.SynRetrans
			if f.SynAck {
				synAck += 1 + f.SynAckRetx
			}
		}
	}
	return syn, synAck
}

// The facts each lab bundle's GROUND_TRUTH.md states about its capture.
func TestLabGroundTruth(t *testing.T) {
	t.Run("fd-exhaustion", func(t *testing.T) {
		res := labCapture(t, "fd-exhaustion", "server")
		// "229 client SYNs but only 117 SYN-ACKs"
		if syn, sa := res.synCounts("10.200.2.10"); syn != 229 || sa != 117 {
			t.Errorf("client SYNs %d, SYN-ACKs %d; want 229, 117", syn, sa)
		}
		// "port 43202 at frames 975 and 1089, 1 s apart": a dropped SYN, retransmitted.
		if f := res.flowOn(43202); f == nil || anomalyList(f) != "syn-unanswered@975" || f.SynRetrans != 1 || f.LastFrame != 1089 {
			t.Errorf("port 43202: %+v", f)
		}
		// Requests never answered before the client gave up.
		if n := len(res.anomalies("no-response")); n < 100 {
			t.Errorf("%d no-response connections", n)
		}
		if n := len(res.anomalies("handshake-then-rst")); n != 0 {
			t.Errorf("%d handshake-then-rst: the server never resets in this capture", n)
		}
	})
	t.Run("accept-queue-overflow", func(t *testing.T) {
		res := labCapture(t, "accept-queue-overflow", "server")
		// "1365 client SYNs, 141 SYN-ACKs"
		if syn, sa := res.synCounts("10.200.2.70"); syn != 1365 || sa != 141 {
			t.Errorf("client SYNs %d, SYN-ACKs %d; want 1365, 141", syn, sa)
		}
		// "Port 38770: SYN (290), SYN-ACK (291), ACK (293), request (320)
		// retransmitted ... then the server's SYN-ACK retransmit (1128)".
		f := res.flowOn(38770)
		if f == nil || f.FirstFrame != 290 || anomalyList(f) != "synack-retrans@1128" ||
			!strings.Contains(f.Anomalies[0].Note, "client's ACK came at frame 293") || f.BytesDst != 0 || f.Retrans < 3 {
			t.Errorf("port 38770: %+v", f)
		}
	})
	t.Run("healthcheck-starvation", func(t *testing.T) {
		res := labCapture(t, "healthcheck-starvation", "server")
		if len(res.Events) != 1 || res.Events[0].Kind != "healthcheck-periodic" || res.Events[0].Src.Host != "100.64.1.0/24" ||
			res.Events[0].Dst.String() != "10.200.1.10:9455" || !strings.Contains(res.Events[0].Note, "every 2s") {
			t.Errorf("events %+v", res.Events)
		}
		want := map[string]string{
			"100.64.1.16": "connect-then-idle@16", // "frames 14–16: SYN / SYN-ACK / ACK and then nothing, ever"
			"100.64.1.12": "connect-then-rst@37",  // "frames 34–37: SYN / SYN-ACK / ACK / RST (a normal check)"
		}
		for _, f := range res.Flows {
			if w, ok := want[f.Src.Addr.String()]; ok && anomalyList(f) == w {
				delete(want, f.Src.Addr.String())
			}
		}
		if len(want) > 0 {
			t.Errorf("not found: %v", want)
		}
		// "frame 20: a client's FIN 3 s after its request, answered by a
		// bare ACK (frame 25) — no FIN back: CLOSE_WAIT." The request and
		// the handshake came before the capture started.
		found := false
		for _, f := range res.Flows {
			if f.FinSrc == 20 {
				found = f.StateDst == event.StateCloseWait && f.LastFrame == 25 && !f.Initiated
			}
		}
		if !found {
			t.Error("no CLOSE_WAIT connection with the client's FIN at frame 20")
		}
	})
	t.Run("close-wait-leak", func(t *testing.T) {
		res := labCapture(t, "close-wait-leak", "client")
		// "frames 956–967 from 10.200.3.13, 2013–2024 from 10.200.3.14,
		// 3021–3032 from 10.200.3.15 — each ACKed by the client; the
		// client never sends a FIN or RST".
		byPeer := map[string]int{}
		for _, f := range res.Flows {
			if f.FinSrc != 0 || f.RstSrc != 0 {
				t.Errorf("the client closed %s at frame %d/%d", f.Src, f.FinSrc, f.RstSrc)
			}
			if f.StateSrc == event.StateCloseWait {
				byPeer[fmt.Sprintf("%s %d", f.Dst.Addr, f.FinDst/1000)]++
			}
		}
		want := map[string]int{"10.200.3.13 0": 12, "10.200.3.14 2": 12, "10.200.3.15 3": 12}
		if fmt.Sprint(byPeer) != fmt.Sprint(want) {
			t.Errorf("CLOSE_WAIT by peer %v, want %v", byPeer, want)
		}
	})
	t.Run("tw-bucket-overflow", func(t *testing.T) {
		res := labCapture(t, "tw-bucket-overflow", "server")
		// "complete short connections ... server FIN first ... no resets"
		for _, f := range res.Flows {
			if f.RstSrc != 0 || f.RstDst != 0 {
				t.Errorf("reset in %s", f.Src)
			}
		}
		if len(res.Events) == 0 || res.Events[0].Kind != "active-closer" || res.Events[0].Src.String() != "10.200.1.10:6379" {
			t.Errorf("events %+v", res.Events)
		}
	})
	t.Run("ephemeral-port-exhaustion", func(t *testing.T) {
		// "no TCP at all ... a connect() that fails with EADDRNOTAVAIL
		// sends nothing."
		if res := labCapture(t, "ephemeral-port-exhaustion", "client"); len(res.Flows) != 0 || res.Stats.Frames == 0 {
			t.Errorf("%d flows in %d frames", len(res.Flows), res.Stats.Frames)
		}
	})
}
