package main

import (
	"fmt"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
)

func newFormatsCmd(ios *IOStreams) *cobra.Command {
	var thresholds bool
	cmd := &cobra.Command{
		Use:   "formats",
		Short: "List the artifact kinds netmortem understands, how each is recognised, and the command that produces it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := tablewriter.NewTable(ios.Out,
				tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
				tablewriter.WithHeaderAutoFormat(tw.Off),
				tablewriter.WithRowAutoWrap(tw.WrapNone),
				tablewriter.WithHeaderAlignment(tw.AlignLeft),
				tablewriter.WithRowAlignment(tw.AlignLeft),
			)
			if thresholds {
				t.Header([]string{"Threshold", "Default", "Why"})
				for _, n := range analyzers.ThresholdNames() {
					th := analyzers.Thresholds[n]
					if err := t.Append([]string{n, strconv.FormatFloat(th.Default, 'g', -1, 64), th.Doc}); err != nil {
						return err
					}
				}
				return t.Render()
			}
			t.Header([]string{"Kind", "What", "Produced by"})
			for _, p := range parsers.Registry {
				if err := t.Append([]string{p.Kind, p.Title, p.Command}); err != nil {
					return err
				}
			}
			if err := t.Render(); err != nil {
				return err
			}
			fmt.Fprintln(ios.Out, "\nKinds are recognised by content (the first bytes after any collection header), tried in the order above.\nOnly bare values (a lone number) are recognised by the collection header's command or a proc/sys path,\nsince their meaning is not in their content.")
			return nil
		},
	}
	cmd.Flags().BoolVar(&thresholds, "thresholds", false, "list the analyzers' thresholds (override with analyze --set name=value)")
	return cmd
}
