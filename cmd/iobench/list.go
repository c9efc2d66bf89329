package main

import (
	"strings"

	"iobench/internal/buildinfo"
	"iobench/servers"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"
)

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the IO models and whether each can run here",
		Example: "  iobench list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := tablewriter.NewWriter(cmd.OutOrStdout())
			t.Header("Model", "Mechanism", "OS", "Available here", "How it works")
			for _, a := range servers.List() {
				avail := "yes"
				if !a.Available {
					avail = a.Why
				}
				if err := t.Append(a.Name, string(a.Mechanism), strings.Join(a.OS, ", "), avail, a.Summary); err != nil {
					return err
				}
			}
			return t.Render()
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the iobench version",
		Example: "  iobench version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write([]byte(buildinfo.String() + "\n"))
			return err
		},
	}
}
