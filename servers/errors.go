package servers

import (
	"fmt"
	"os"
)

func wrapSyscall(call string, err error) error {
	return fmt.Errorf("servers: %w", os.NewSyscallError(call, err))
}

func fmtListenErr(addr string, err error) error {
	return fmt.Errorf("servers: listen %s: %w", addr, err)
}
