//go:build !linux

package loadgen

import "fmt"

func newEngine(cfg Config) engine { return &netEngine{} }

// engineUnavailable: the epoll and uring engines are Linux's.
func engineUnavailable(engine string) error {
	if engine == "epoll" || engine == "uring" {
		return fmt.Errorf("the %s engine is Linux's (here: net)", engine)
	}
	return nil
}
