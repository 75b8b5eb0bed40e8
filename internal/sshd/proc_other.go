//go:build !linux

package sshd

import "syscall"

// sysProcAttr is nil here: no parent-death signal outside Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }
