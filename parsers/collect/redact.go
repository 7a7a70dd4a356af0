package collect

import (
	"bytes"
	"regexp"
)

// The kernel log repeats the kernel command line and the arguments and
// environment it gives init; boot parameters can carry credentials (iSCSI
// passwords, seed URLs with tokens), so those lines are replaced.
var (
	kernelCmdline = regexp.MustCompile(`^(.*?(?:Kernel command line|Command line|Unknown kernel command line parameters)):?\s.*$`)
	initBlock     = regexp.MustCompile(`with (?:arguments|environment):\s*$`)
	initBlockLine = regexp.MustCompile(`^(.*?(?:\]|kernel:)) {4,}\S`)
)

const redacted = " [not collected]"

// redactKernelLog replaces the command line and init environment lines of
// dmesg or journalctl -k output and reports how many lines it replaced.
func redactKernelLog(b []byte) ([]byte, int) {
	var out []byte
	n, inBlock := 0, false
	for len(b) > 0 {
		line, rest, found := bytes.Cut(b, []byte("\n"))
		b = rest
		switch {
		case kernelCmdline.Match(line):
			line = append(kernelCmdline.ReplaceAll(line, []byte("$1:")), redacted...)
			n++
			inBlock = false
		case inBlock && initBlockLine.Match(line):
			m := initBlockLine.FindSubmatch(line)
			line = append(append([]byte(nil), m[1]...), "    "+redacted[1:]...)
			n++
		default:
			inBlock = initBlock.Match(line)
		}
		out = append(out, line...)
		if found {
			out = append(out, '\n')
		}
	}
	return out, n
}
