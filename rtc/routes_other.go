//go:build !linux

package rtc

import "errors"

// watchRoutes is Linux's only; elsewhere routePoll alone notices a move.
func watchRoutes(func()) (stop func(), err error) {
	return nil, errors.New("no route notifications on this system")
}
