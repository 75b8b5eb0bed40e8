// Package tui is parley's terminal user interface, built with Bubble Tea.
//
// Run shows a home menu (start a call, join a call, echo test, quit), the
// caller's invite screen (the invite code, copied with OSC 52, and a box
// for the answer), the callee's join screen (a box for the invite, then
// the answer code and how long the peer has been waited for), and the
// call screen (status, levels, safety words, chat and an input line).
//
// The screens before a call run inline, on the normal screen, and each
// code is printed above them as one line that the terminal wraps itself:
// Bubble Tea cuts every line of a view at the window's width, so a code
// inside the view could only be broken into rows, and selecting one row
// would copy part of the code. The call screen, and a QR code, take the
// alternate screen. On quitting, the inline UI clears itself, and the
// printed codes stay in the terminal's scrollback.
//
// The package talks to the call only through the Call interface defined
// here and the events of package event, so it builds and tests without
// cgo, a network or a sound card; a session (internal/session) is the
// real Call. Every screen is a component with Init, Update, View and
// SetSize; the root model owns the current call, whose life is one
// phase with its moves in one table, reads its events through one command
// that it re-arms after each event, routes messages to the active screen
// and passes on the commands the screens return. Time is read through a Clock, so tests can fix it.
//
// Text from the peer is shown only after safetext.Clean has removed escape
// sequences, control characters and bidi overrides from it.
package tui
