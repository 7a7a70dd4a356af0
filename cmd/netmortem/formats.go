package main

import "github.com/spf13/cobra"

// TODO(stub): replaced by the real command.
func newFormatsCmd(ios *IOStreams) *cobra.Command {
	return &cobra.Command{Use: "formats", Hidden: true}
}
