// Command iobench compares IO models: it embeds an echo server per model,
// drives them with a load generator and reports the numbers.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"iobench/internal/buildinfo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries the exit status for an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks bad input: exit status 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// run executes iobench with args and returns the exit status; every error
// is printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "iobench:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		return 2 // cobra's own usage error, found before any command runs
	}
	return 1
}

// usageArgs wraps every command's argument check so that a wrong number
// of arguments is a usage error (exit 2) like a bad flag.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				var ee *exitError
				if errors.As(err, &ee) {
					return err
				}
				return usageErr("%s: %v (see %s --help)", cmd.Name(), err, cmd.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "iobench",
		Short: "Measure and compare IO models (blocking, select, poll, epoll, io_uring, IOCP, ...) with echo servers",
		Long: `iobench settles "epoll vs IOCP" arguments with measurements. It embeds one
echo server per IO model and drives them with a load generator.`,
		Example: `  iobench run --quick                       # compare every model here, write a report
  iobench list                              # which models can run here
  iobench serve --model epoll --addr 127.0.0.1:7000
  iobench load --addr 127.0.0.1:7000 --conns 100
  iobench compare base/ new/                # regression gate for CI`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Version(),
	}
	root.SetVersionTemplate(buildinfo.String() + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newListCmd(), newServeCmd(), newLoadCmd(), newRunCmd(), newReportCmd(), newCompareCmd(), newMergeCmd(), newK8sCmd(), newExplainCmd(), newAgentCmd(), newVersionCmd())
	usageArgs(root)
	return root
}
