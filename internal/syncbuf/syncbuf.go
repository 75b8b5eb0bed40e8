// Package syncbuf is a bytes.Buffer safe for concurrent use: a child
// process's output written by one goroutine and read by another.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that many goroutines may write and read.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
