package collect

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ResolveNetNS turns the --netns flag into Options.NetNS:
//   - "host" or "": the collector's own network namespace;
//   - "auto": the namespace of the focused processes when they all share
//     one that is not the collector's (a containerised or namespaced
//     service), else the collector's own;
//   - a path: a namespace file such as /proc/PID/ns/net;
//   - a name: an `ip netns` namespace, /run/netns/NAME.
//
// The returned note says what was chosen when it is not the default.
func ResolveNetNS(spec string, pids []int) (path, note string, err error) {
	switch {
	case spec == "" || spec == "host":
		return "", "", nil
	case spec == "auto":
		self, err := os.Readlink("/proc/self/ns/net")
		if err != nil || len(pids) == 0 {
			return "", "", nil
		}
		var first string
		for _, pid := range pids {
			ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
			if err != nil {
				return "", "", nil // gone or not ours to see: stay here
			}
			if first == "" {
				first = ns
			} else if ns != first {
				return "", fmt.Sprintf("the focused processes are in different network namespaces; network views are from the collector's own (use --netns)"), nil
			}
		}
		if first == self {
			return "", "", nil
		}
		p := "/proc/" + strconv.Itoa(pids[0]) + "/ns/net"
		return p, fmt.Sprintf("pid %d is in another network namespace (%s): network views are taken there", pids[0], first), nil
	case strings.HasPrefix(spec, "/"):
		if _, err := os.Stat(spec); err != nil {
			return "", "", fmt.Errorf("--netns %s: %w", spec, err)
		}
		return spec, "", nil
	default:
		if strings.ContainsAny(spec, "/ ") {
			return "", "", fmt.Errorf("bad --netns name %q", spec)
		}
		p := "/run/netns/" + spec
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("--netns %s: no such network namespace (%w)", spec, err)
		}
		return p, "", nil
	}
}
