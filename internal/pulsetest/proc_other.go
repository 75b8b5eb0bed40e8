//go:build !linux

package pulsetest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
