package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, the contract CI depends on.
const (
	exitOK       = 0 // analysis done, nothing at or above --fail-on
	exitFindings = 1 // a finding at or above --fail-on (or a check failed)
	exitUsage    = 2 // usage error
	exitInput    = 3 // no input could be read or parsed at all
)

// IOStreams are the streams a command uses; tests inject buffers.
type IOStreams struct {
	In       io.Reader
	Out      io.Writer // the report, and nothing else
	ErrOut   io.Writer // progress, warnings, errors
	ErrIsTTY bool      // progress is shown only on a terminal
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr, inputErr and findingsErr wrap err with its exit code.
func usageErr(err error) error { return &exitError{exitUsage, err} }
func inputErr(err error) error { return &exitError{exitInput, err} }

// errSilent ends a command with a code after it has said all it had to say.
func silentExit(code int) error { return &exitError{code, nil} }

func newRootCmd(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "netmortem",
		Short:         "Find why a Linux service hung: offline forensics for TCP and socket incidents",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetIn(ios.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath()))
	})
	root.AddCommand(
		newAnalyzeCmd(ios),
		newFormatsCmd(ios),
		newFlowsCmd(ios),
		newCollectCmd(ios),
		newCheckCmd(ios),
		newVersionCmd(ios),
	)
	return root
}

// run executes the command line and returns the process exit code. Only main
// calls os.Exit, so that deferred work always runs.
func run(args []string, ios *IOStreams) int {
	root := newRootCmd(ios)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(ios.ErrOut, "netmortem: %v\n", ee.err)
		}
		return ee.code
	}
	// cobra's own errors (unknown command, bad args) are usage errors.
	fmt.Fprintf(ios.ErrOut, "netmortem: %v\n", err)
	return exitUsage
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
