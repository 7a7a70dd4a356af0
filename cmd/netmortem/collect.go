package main

import "github.com/spf13/cobra"

// TODO(stub): replaced by the real command.
func newCollectCmd(ios *IOStreams) *cobra.Command {
	return &cobra.Command{Use: "collect", Hidden: true}
}
