package workercmd

import (
	"os"
	"strings"

	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// authToken is the token the worker requires: --auth-token, else the
// first line of --auth-token-file, else $JIG_AUTH_TOKEN, else the file
// named by $JIG_AUTH_TOKEN_FILE, else none (an open worker, as a shared
// executor behind a Jina gateway needs). An unreadable or empty token
// file is an error, never an open worker.
func authToken(f *workerflags.Flags) (string, error) {
	if f.AuthToken != "" {
		return f.AuthToken, nil
	}
	if f.AuthTokenFile != "" {
		return readTokenFile("--auth-token-file", f.AuthTokenFile)
	}
	if tok := os.Getenv(workerflags.AuthTokenEnv); tok != "" {
		return tok, nil
	}
	if path := os.Getenv(workerflags.AuthTokenFileEnv); path != "" {
		return readTokenFile("$"+workerflags.AuthTokenFileEnv, path)
	}
	return "", nil
}

// readTokenFile reads a token file; its content never appears in errors.
func readTokenFile(field, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &yamlutil.Error{Field: field, Msg: "read the token file: " + err.Error()}
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", &yamlutil.Error{Field: field, Msg: "the token file " + path + " is empty"}
	}
	return tok, nil
}
