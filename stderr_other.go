//go:build !unix

package main

import "os"

func redirectStderr(interface{ Fd() uintptr }) (*os.File, func()) { return os.Stderr, func() {} }
