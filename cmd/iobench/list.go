package main

import (
	"encoding/json"
	"io"
	"strings"

	"iobench/internal/buildinfo"
	"iobench/report"
	"iobench/servers"

	"github.com/spf13/cobra"
)

func newListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the IO models and whether each can run here",
		Example: "  iobench list\n  iobench list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return listJSON(cmd.OutOrStdout())
			}
			return listText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

// listText writes a narrow table (a row per model: is it here, and how
// to choose its variants), then what each model does, wrapped.
func listText(w io.Writer) error {
	t := report.NewTable(w)
	t.Header("Model", "Mechanism", "OS", "Here", "Settings")
	var notes strings.Builder
	for _, a := range servers.List() {
		here := "yes"
		if !a.Available {
			here = "no"
		}
		if err := t.Append(a.Name, string(a.Mechanism), strings.Join(a.OS, ", "), here, a.SettingsSyntax()); err != nil {
			return err
		}
		text := a.Name + ": " + a.Summary
		if a.Impl != "" {
			text += "; here: " + a.Impl
		}
		if !a.Available {
			text += ". Not here: " + a.Why
		}
		notes.WriteString(report.Fold(text, "    ")[len("    "):]) // the first line unindented
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "Settings are chosen per model in --models, e.g. --models epoll:edge:loops=2,poll:loops=2.\n\n"+notes.String())
	return err
}

// listJSON writes every model with whether it runs here, and why not.
func listJSON(w io.Writer) error {
	type model struct {
		Name      string   `json:"name"`
		Mechanism string   `json:"mechanism"`
		OS        []string `json:"os"`
		Available bool     `json:"available"`
		Why       string   `json:"why_not,omitempty"`
		Summary   string   `json:"summary"`
		Impl      string   `json:"implementation,omitempty"`
		Tunables  []string `json:"tunables,omitempty"`
	}
	var out []model
	for _, a := range servers.List() {
		out = append(out, model{a.Name, string(a.Mechanism), a.OS, a.Available, a.Why, a.Summary, a.Impl, a.Tunables})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
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
