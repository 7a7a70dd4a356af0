// Command netmortem is an offline incident-forensics tool for TCP and socket
// incidents on Linux servers. This package only wires flags, streams and exit
// codes; the work is done by packages parsers and analyzers.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrIsTTY: isTerminal(os.Stderr)}))
}
