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

// listWidth is where list's prose wraps: a terminal's width.
const listWidth = 100

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
		wrapTo(&notes, text, listWidth, "    ")
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "Settings are chosen per model in --models, e.g. --models epoll:edge:loops=2,poll:loops=2.\n\n"+notes.String())
	return err
}

// wrapTo writes text to b as lines of at most width runes, breaking at
// spaces, the lines after the first indented.
func wrapTo(b *strings.Builder, text string, width int, indent string) {
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > width {
			b.WriteString(line + "\n")
			line = indent + word
			continue
		}
		if line == "" {
			line = word
		} else {
			line += " " + word
		}
	}
	if line != "" {
		b.WriteString(line + "\n")
	}
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
