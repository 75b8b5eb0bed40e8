package sshd

import "syscall"

// sysProcAttr makes sshd die with the process that started it, should
// that process be killed before it can stop sshd.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
