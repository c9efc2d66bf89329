package matrix

import (
	"fmt"
	"iobench/loadgen"
	"iobench/results"
	"iobench/servers"
	"slices"
	"strings"
)

// The matrix's cells: planned round by round (every model × scenario ×
// core count), which CPUs each runs on, and why one can't run.

// Plan lists the cells in run order, with the ones that can't run here
// already marked skipped.
func Plan(cfg Config) []results.Cell {
	var cells []results.Cell
	for rep := 1; rep <= cfg.Repeat; rep++ {
		cells = append(cells, planRound(cfg, rep)...)
	}
	return cells
}

// planRound is one repetition of every cell.
func planRound(cfg Config, rep int) []results.Cell {
	var cells []results.Cell
	for _, work := range cfg.Works {
		for _, size := range cfg.Sizes {
			for _, conns := range cfg.Conns {
				for _, cores := range cfg.coreCounts() {
					for _, v := range cfg.Models {
						c := results.Cell{Model: v.String(), Variant: onCores(v, cores), Rep: rep, Scenario: results.Scenario{
							Mode: string(cfg.Mode), Conns: conns, Size: size, Work: work,
							Depth: cfg.Depth, Rate: cfg.Rate, IdleConns: cfg.IdleConns, ServerCores: cores,
						}}
						c.Skipped = skipReason(cfg.Remote, v, conns+cfg.IdleConns)
						cells = append(cells, c)
					}
				}
			}
		}
	}
	return cells
}

// coreCounts are the server core counts cells run at: ServerCores, or
// one pass (0) on every server CPU.
func (cfg Config) coreCounts() []int {
	if len(cfg.ServerCores) == 0 {
		return []int{0}
	}
	return cfg.ServerCores
}

// onCores is the variant v runs as on n server cores (0: as spelled):
// its model's idiom sets the count unless v sets it itself. The cell
// records what ran.
func onCores(v servers.Spec, n int) *servers.Spec {
	if m, ok := servers.ModelNamed(v.Model); ok {
		v.Settings = m.OnCores(v.Settings, n)
	}
	return &v
}

// cellCPUs are the CPUs a cell's server runs on: the first ServerCores
// of the server CPUs, or all of them.
func (cfg Config) cellCPUs(c results.Cell) []int {
	if c.ServerCores > 0 && c.ServerCores <= len(cfg.ServerCPUs) {
		return cfg.ServerCPUs[:c.ServerCores]
	}
	return cfg.ServerCPUs
}

// sharesCPUs reports whether server and client CPUs overlap.
func sharesCPUs(server, client []int) bool {
	return slices.ContainsFunc(server, func(c int) bool { return slices.Contains(client, c) })
}

// skipReason says why model can't hold n connections here (or on the
// remote server host), or "".
func skipReason(remote *Remote, variant servers.Spec, n int) string {
	if remote != nil {
		if !slices.Contains(remote.Models, variant.Model) {
			return fmt.Sprintf("%s is not available on the server host %s (have: %s)", variant.Model, remote.Environment.Host, strings.Join(remote.Models, ", "))
		}
	} else {
		v, err := servers.Lookup(variant.Model)
		if err != nil {
			return err.Error()
		}
		if why := v.CantHold(n); why != "" {
			return why
		}
	}
	// The server holds n sockets plus its own; so does the generator.
	if why := loadgen.FDShortfall(n); why != "" {
		return loadgen.ErrFDLimit.Error() + ": " + why
	}
	return ""
}
