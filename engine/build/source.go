package build

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
)

// IsMainPackage reports whether dir holds a Go main package (non-test
// files declaring package main): an executor that must be built and run
// as its own program.
func IsMainPackage(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, m, nil, parser.PackageClauseOnly)
		if err == nil && f.Name.Name == "main" {
			return true
		}
	}
	return false
}
