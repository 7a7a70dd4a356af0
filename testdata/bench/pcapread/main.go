// Command pcapread is the floor of the capture benchmark: the least a Go
// program can do with a pcap, reading every record with gopacket's pcapgo
// reader (no decoding), counting packets and bytes.
//
//	go run ./testdata/bench/pcapread FILE
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/google/gopacket/pcapgo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pcapread FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var packets, bytes int64
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		packets++
		bytes += int64(len(data))
	}
	fmt.Printf("%d packets, %d bytes\n", packets, bytes)
}
