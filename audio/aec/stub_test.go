//go:build noaec

package aec_test

import (
	"errors"
	"testing"

	"parley/audio/aec"
)

func TestUnavailable(t *testing.T) {
	if _, err := aec.New(aec.Config{AEC: true}); !errors.Is(err, aec.ErrUnavailable) || aec.Available {
		t.Errorf("New: %v, Available %v", err, aec.Available)
	}
}
