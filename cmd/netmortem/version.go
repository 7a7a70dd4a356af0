package main

import "github.com/spf13/cobra"

// TODO(stub): replaced by the real command.
func newVersionCmd(ios *IOStreams) *cobra.Command {
	return &cobra.Command{Use: "version", Hidden: true}
}
