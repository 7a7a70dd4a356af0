package analyzers

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// WriteCatalogue writes the analyzer catalogue in markdown: every
// mechanism in suite order with its documentation and thresholds.
// docs/analyzers.md is this output (a test keeps them equal).
func WriteCatalogue(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Analyzers\n\n")
	b.WriteString("<!-- Generated from the analyzers' Doc strings and thresholds: edit those, then run `make golden`. -->\n\n")
	b.WriteString("Each analyzer names one mechanism, runs per host over the evidence model, and cites the exact\n")
	b.WriteString("lines and frames it used. Findings link by cause (`caused_by`); a finding nothing causes is a\n")
	b.WriteString("root cause. Every threshold can be overridden with `netmortem analyze --set name=value`.\n\n")
	b.WriteString("| id | what |\n|---|---|\n")
	for _, a := range Suite {
		title, _, _ := strings.Cut(a.Doc, "\n")
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s |\n", a.Name, a.Name, title)
	}
	for _, a := range Suite {
		title, rest, _ := strings.Cut(a.Doc, "\n")
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n", a.Name, strings.TrimSpace(title))
		if rest = strings.TrimSpace(rest); rest != "" {
			fmt.Fprintf(&b, "\n%s\n", rest)
		}
		var names []string
		for n := range Thresholds {
			if strings.HasPrefix(n, a.Name+".") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if len(names) > 0 {
			b.WriteString("\n| threshold | default | why |\n|---|---|---|\n")
			for _, n := range names {
				t := Thresholds[n]
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", n, strconv.FormatFloat(t.Default, 'g', -1, 64), strings.ReplaceAll(t.Doc, "|", `\|`))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
