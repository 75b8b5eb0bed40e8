package pulsetest

import "syscall"

// sysProcAttr makes a child die with the test process, should the test
// binary itself be killed before its clean-ups run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
