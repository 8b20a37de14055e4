package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// execute runs the command line args against root and returns the exit
// code, printing any error to stderr. A panic in any command (or in flag
// handling around it) ends as one line naming the command, not a stack
// trace; the stack goes to the log at debug level (--log-level debug).
func execute(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	err := executeRecovered(ctx, root, args)
	if err == nil {
		return 0
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	fmt.Fprintln(stderr, "Error:", err)
	return 1
}

func executeRecovered(ctx context.Context, root *cobra.Command, args []string) (err error) {
	recoverPanics(root)
	root.SetArgs(args)
	// Panics outside a command's hooks (flag parsing, help) name the root.
	defer recovered(root, &err)
	return root.ExecuteContext(ctx)
}

// internalError is a panic turned into an error.
type internalError struct {
	command string
	value   any
}

func (e *internalError) Error() string {
	return fmt.Sprintf("%s: internal error: %v (please report this)", e.command, e.value)
}

// recoverPanics wraps the hooks of cmd and all its subcommands so that a
// panic in one returns an internalError naming the command.
func recoverPanics(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		recoverPanics(c)
	}
	for _, hook := range []*func(*cobra.Command, []string) error{&cmd.PersistentPreRunE, &cmd.PreRunE, &cmd.RunE, &cmd.PostRunE, &cmd.PersistentPostRunE} {
		if *hook != nil {
			*hook = recoverE(*hook)
		}
	}
	for _, hook := range []struct {
		run  *func(*cobra.Command, []string)
		runE *func(*cobra.Command, []string) error
	}{
		{&cmd.PersistentPreRun, &cmd.PersistentPreRunE}, {&cmd.PreRun, &cmd.PreRunE}, {&cmd.Run, &cmd.RunE},
		{&cmd.PostRun, &cmd.PostRunE}, {&cmd.PersistentPostRun, &cmd.PersistentPostRunE},
	} {
		// Cobra prefers the E variant when both are set; an unset one
		// takes over the plain hook so it runs under recovery too.
		if run := *hook.run; run != nil && *hook.runE == nil {
			*hook.runE = recoverE(func(c *cobra.Command, args []string) error { run(c, args); return nil })
			*hook.run = nil
		}
	}
}

func recoverE(f func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) (err error) {
		defer recovered(c, &err)
		return f(c, args)
	}
}

// recovered turns a panic of the calling function into *err.
func recovered(cmd *cobra.Command, err *error) {
	v := recover()
	if v == nil {
		return
	}
	slog.Debug("panic", "command", cmd.CommandPath(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	*err = &internalError{command: cmd.CommandPath(), value: v}
}
