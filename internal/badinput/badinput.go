// Package badinput holds the one sentinel that says "the input was wrong,
// not the system": command-line tools exit with code 2 for errors matching
// it (errors.Is). It is a leaf, so the public client and the YAML helpers
// can share it without the client depending on YAML parsing.
package badinput

import "errors"

// Err is matched by every bad-input error: located configuration errors
// (yamlutil.Error), unusable client addresses and options, bad flags.
var Err = errors.New("bad input")

// Error is a bad-input error about one field or flag, for code that has no
// file position to give (flags, options): "--raft-dir: required with
// --raft-id".
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Is makes errors.Is(err, Err) true.
func (e *Error) Is(target error) bool { return target == Err }
