package main

// The built-in executors register themselves as builtin:<Name>.
import _ "github.com/jig-dev/jig/executors/builtin"
