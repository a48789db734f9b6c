// Package examples holds runnable flows and executors a newcomer starts
// from. The quickstart flow is embedded so `jig` can open it from any
// folder.
package examples

import _ "embed"

// Quickstart is examples/quickstart/flow.yml: built-in executors only.
//
//go:embed quickstart/flow.yml
var Quickstart []byte
