package servers

import (
	"context"
	"errors"
	"sync"
)

// replicated makes a model whose loop is one thread run cfg.Loops of
// them on one port: each replica its own server (its own listener in one
// SO_REUSEPORT group, its own thread, its own ring or poll set), the
// kernel spreading new connections over them by hash — how an event
// loop, or a ring, per core is built. With Loops ≤ 1 it is the model.
func replicated(newOne func(Config) (Server, error)) func(Config) (Server, error) {
	return func(cfg Config) (Server, error) {
		if cfg.Loops <= 1 {
			return newOne(cfg)
		}
		first, err := newOne(cfg)
		if err != nil {
			return nil, err
		}
		r := &replicas{servers: []Server{first}}
		joined := cfg
		joined.Addr, joined.join = first.Addr(), true
		for range cfg.Loops - 1 {
			s, err := newOne(joined)
			if err != nil {
				r.Close()
				return nil, err
			}
			r.servers = append(r.servers, s)
		}
		return r, nil
	}
}

// replicas serve one port together.
type replicas struct{ servers []Server }

func (r *replicas) Addr() string { return r.servers[0].Addr() }

// Serve runs every replica until ctx ends or one fails (then all stop).
func (r *replicas) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(r.servers))
	var wg sync.WaitGroup
	for i, s := range r.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = s.Serve(ctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *replicas) Close() error {
	var errs []error
	for _, s := range r.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Stats adds the replicas' counts up; Shares are each one's accepted.
func (r *replicas) Stats() Stats {
	out := Stats{Refusals: map[string]uint64{}}
	for _, s := range r.servers {
		st := s.Stats()
		out.Accepted += st.Accepted
		out.Refused += st.Refused
		out.Active += st.Active
		out.PeakThreads = max(out.PeakThreads, st.PeakThreads)
		for k, v := range st.Refusals {
			out.Refusals[k] += v
		}
		out.Shares = append(out.Shares, st.Accepted)
	}
	return out
}
