package loadgen

import (
	"context"
	"sync"
	"time"
)

// dialEach runs connect(i) for i in [0, n) on up to 64 goroutines, paced at
// the connect rate. A resource error (descriptors, ports) stops the rest.
func dialEach(ctx context.Context, s *session, n int, connect func(i int) (time.Duration, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pace := newPacer(s.cfg.ConnectRate)
	jobs := make(chan int)
	var (
		wg     sync.WaitGroup
		resMu  sync.Mutex
		resErr *ResourceError
	)
	for range min(64, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if pace.wait(ctx) != nil {
					return
				}
				d, err := connect(i)
				if err == nil {
					s.connected(d)
					continue
				}
				if ctx.Err() != nil {
					return // cancelled: not a failure of the server
				}
				name := errnoName(err)
				s.connectFailed(name)
				if limit := resourceLimit(name); limit != "" {
					resMu.Lock()
					if resErr == nil {
						resErr = &ResourceError{Errno: name, Requested: n, Limit: limit}
					}
					resMu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if resErr != nil {
		resErr.Established = int(s.established.Load())
		return resErr
	}
	return nil
}

// splitDialed keeps the dialed items that ok accepts: those of the first
// idle slots are the idle connections, the rest the busy ones.
func splitDialed[T any](items []T, idle int, ok func(T) bool) (idleOut, busyOut []T) {
	for i, it := range items {
		switch {
		case !ok(it):
		case i < idle:
			idleOut = append(idleOut, it)
		default:
			busyOut = append(busyOut, it)
		}
	}
	return idleOut, busyOut
}

// owner is the worker that drives busy connection i and its protocol
// state: connection i belongs to worker i mod len(workers), at position i
// div len(workers) (see spread).
func (s *session) owner(i int) (*worker, *conn) {
	w := s.workers[i%len(s.workers)]
	return w, w.conns[i/len(s.workers)]
}

// byWorker deals items out as spread deals the connections: worker k's
// are items[k], items[k+n], ...
func byWorker[T any](s *session, items []T) [][]T {
	out := make([][]T, len(s.workers))
	for i, it := range items {
		out[i%len(s.workers)] = append(out[i%len(s.workers)], it)
	}
	return out
}
