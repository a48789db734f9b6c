// Command greeter is a Go executor fixture for the export tests: the flow
// loader only checks that its folder holds a main package.
package main

func main() {}
