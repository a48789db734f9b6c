package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput drives the command line with malformed flows, executor
// YAML, flags and documents. Every case must exit with code 2 (bad input),
// print one "error: ..." line naming the file, line and field (or the
// flag) and the problem, and never panic or print a stack trace. want is
// the exact message, or its start when it ends with "…" (lists of known
// names follow).
func TestBadInput(t *testing.T) {
	type files map[string]string
	// A real Go executor built from its folder, run as a child process:
	// its config errors read like a built-in's.
	upper, err := filepath.Abs("../../engine/testdata/upper")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files files
		args  []string
		want  string
	}{
		// --- flow YAML (jig up) ---
		{"flow: unknown top-level key", files{"flow.yml": "jtype: Flow\nexecutor: []\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:1: executor: unknown field "executor" (known: executors, jtype, name, version, with)`},
		{"flow: unknown executor key", files{"flow.yml": "executors:\n  - name: a\n    uses: builtin:Echo\n    replica: 2\n"},
			[]string{"up", "flow.yml"}, `flow.yml:4:5: executors[0].replica: unknown field "replica" (known: …`},
		{"flow: unknown with key", files{"flow.yml": "with: {prot: grpc}\nexecutors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml"}, `flow.yml:1:8: with.prot: unknown field "prot" (known: …`},
		{"flow: replicas not a number", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, replicas: two}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:45: executors[0].replicas: want an integer, got "two"`},
		{"flow: zero replicas", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, replicas: 0}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:45: executors[0].replicas: want 1 to 64, got 0`},
		{"flow: replicas in exponent notation", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, replicas: 1e9}\n"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml:2:45: executors[0].replicas: want an integer, got "1e9"`},
		{"flow: fractional replicas", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, replicas: 2.5}\n"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml:2:45: executors[0].replicas: want an integer, got "2.5"`},
		{"flow: too many replicas", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, replicas: 100000}\n"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml:2:45: executors[0].replicas: want 1 to 64, got 100000`},
		{"flow: too many shards", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, shards: 65}\n"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml:2:43: executors[0].shards: want 1 to 64, got 65`},
		{"flow: too many workers", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, shards: 64, replicas: 64}\n"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml:2:57: executors[0].replicas: 64 replicas × 64 shards is 4096 workers, more than 256`},
		{"flow: uses_with float for an integer", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:SimpleIndexer, uses_with: {limit: 2.5}}\n"},
			[]string{"up", "flow.yml", "--headless"}, `deployment a failed to start: a/rep-0: flow.yml:2:63: executors[0].uses_with.limit: want an integer, got "2.5"`},
		{"flow: needs cycle", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, needs: b}\n  - {name: b, uses: builtin:Echo, needs: a}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:42: executors[0].needs: cycle in needs among a, b`},
		{"flow: unknown needs", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, needs: zz}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:42: executors[0].needs: unknown deployment "zz" (deployments: a)`},
		{"flow: unknown built-in", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Zilch}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:21: executors[0].uses: unknown built-in executor "Zilch" (available: …`},
		{"flow: uses a missing file", files{"flow.yml": "executors:\n  - {name: a, uses: nothere.yml}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:21: executors[0].uses: nothere.yml: no such file or folder (relative paths start at DIR)`},
		{"flow: duplicate names", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo}\n  - {name: a, uses: builtin:Echo}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:3:12: executors[1].name: duplicate name "a" (first used on line 2)`},
		{"flow: unknown protocol", files{"flow.yml": "with: {protocol: [grpc, ftp]}\nexecutors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml"}, `flow.yml:1:18: with.protocol: unknown protocol "ftp" (want grpc or http)`},
		{"flow: half a TLS pair", files{"flow.yml": "with: {ssl_certfile: a.pem}\nexecutors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml"}, `flow.yml:1:7: with.ssl_certfile: ssl_certfile and ssl_keyfile go together`},
		{"flow: TLS files missing", files{"flow.yml": "with: {ssl_certfile: c.pem, ssl_keyfile: k.pem}\nexecutors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml: with.ssl_certfile/ssl_keyfile: DIR/c.pem: no such file or directory`},
		{"flow: TLS files not PEM", files{"flow.yml": "with: {ssl_certfile: c.pem, ssl_keyfile: k.pem}\nexecutors: [{uses: builtin:Echo}]\n", "c.pem": "junk", "k.pem": "junk"},
			[]string{"up", "flow.yml", "--headless"}, `flow.yml: with.ssl_certfile/ssl_keyfile: DIR/c.pem and DIR/k.pem: tls: failed to find any PEM data in certificate input`},
		{"flow: invalid YAML", files{"flow.yml": "executors: [\n"},
			[]string{"up", "flow.yml"}, `flow.yml:1: invalid YAML: did not find expected node content`},
		{"flow: tab indentation", files{"flow.yml": "executors:\n\t- a\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2: invalid YAML: found character that cannot start any token`},
		{"flow: duplicate key", files{"flow.yml": "executors: []\nexecutors: []\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2: mapping key "executors" already defined at line 1`},
		{"flow: not a mapping", files{"flow.yml": "- a\n- b\n"},
			[]string{"up", "flow.yml"}, `flow.yml:1:1: a flow must be a mapping with jtype: Flow and executors:`},
		{"flow: empty file", files{"flow.yml": ""},
			[]string{"up", "flow.yml"}, `flow.yml:1:1: executors: a flow needs at least one executor`},
		{"flow: missing file", nil,
			[]string{"up", "nope.yml"}, `nope.yml: no such file`},
		{"flow: a folder", files{"sub/x": ""},
			[]string{"up", "sub"}, `sub: is a folder, not a YAML file`},
		{"flow: bad timeout_send", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, timeout_send: soon}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:49: executors[0].timeout_send: want a number or a duration like 500ms, got "soon"`},
		{"flow: bad when regex", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, when: {text: {$regex: '('}}}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:57: executors[0].when.text.$regex: invalid regular expression: error parsing regexp: missing closing ): ` + "`(`"},
		{"flow: host on a managed executor", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, host: 0.0.0.0}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:41: executors[0].host: only external executors take a host; jig runs its own executors on 127.0.0.1`},
		{"flow: peer ports count", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, stateful: true, replicas: 3, peer_ports: [1, 2]}\n"},
			[]string{"up", "flow.yml"}, `flow.yml:2:76: executors[0].peer_ports: shard 0 has 2 peer ports for 3 replicas`},
		{"flow: uses_with unknown field", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:SimpleIndexer, uses_with: {nope: 1}}\n"},
			[]string{"up", "flow.yml", "--headless"}, `deployment a failed to start: a/rep-0: flow.yml:2:56: executors[0].uses_with.nope: unknown field "nope" (known: limit, persist)`},
		{"flow: uses_with wrong type", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:SimpleIndexer, uses_with: {limit: many}}\n"},
			[]string{"up", "flow.yml", "--headless"}, `deployment a failed to start: a/rep-0: flow.yml:2:63: executors[0].uses_with.limit: want an integer, got "many"`},

		// --- executor YAML ---
		{"executor: unknown jtype", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: Nope\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:1:8: jtype: unknown executor type "Nope" (registered: …`},
		{"executor: no jtype", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "with: {}\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:1:1: jtype: missing: name the executor type (registered: …`},
		{"executor: unknown top key", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: Echo\nwiht: {}\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:2:1: wiht: unknown field "wiht" (known: …`},
		{"executor: with unknown field", files{"cfg.yml": "jtype: SimpleIndexer\nwith:\n  nope: 1\n"},
			[]string{"serve", "cfg.yml"}, `deployment cfg failed to start: cfg/rep-0: DIR/cfg.yml:3:3: with.nope: unknown field "nope" (known: limit, persist)`},
		{"executor: with wrong type", files{"cfg.yml": "jtype: SimpleIndexer\nwith:\n  limit: abc\n"},
			[]string{"serve", "cfg.yml"}, `deployment cfg failed to start: cfg/rep-0: DIR/cfg.yml:3:10: with.limit: want an integer, got "abc"`},
		{"executor: metas typo", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: Echo\nmetas: {nmae: x}\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:2:9: metas.nmae: unknown field "nmae" (known: …`},
		{"executor: requests not a mapping", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: Echo\nrequests: [a]\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:2:11: requests: want a mapping, got a list`},
		{"executor: requests names no handler", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: Echo\nrequests:\n  /x: Nope\n"},
			[]string{"up", "flow.yml", "--headless"}, `deployment a failed to start: a/rep-0: DIR/cfg.yml:3:7: requests./x: endpoint /x names method "Nope", which is not a handler (handlers: Echo)`},
		{"flow: uses_requests names no handler", files{"flow.yml": "executors:\n  - {name: a, uses: builtin:Echo, uses_requests: {/x: Nope}}\n"},
			[]string{"up", "flow.yml", "--headless"}, `deployment a failed to start: a/rep-0: flow.yml:2:55: executors[0].uses_requests./x: endpoint /x names method "Nope", which is not a handler (handlers: Echo)`},
		{"executor: negative batching", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: Echo\ndynamic_batching: {/x: {preferred_batch_size: -1}}\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:2:24: dynamic_batching./x: preferred_batch_size and timeout must not be negative`},
		{"executor: Python executor", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: MyExec\npy_modules: [x.py]\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:2:13: py_modules: Python executors cannot run inside jig; serve them with Jina and add them to the flow with ` + "`external: true`"},
		{"executor: invalid YAML", files{"flow.yml": "executors: [{name: a, uses: cfg.yml}]\n", "cfg.yml": "jtype: [\n"},
			[]string{"up", "flow.yml"}, `DIR/cfg.yml:1: invalid YAML: did not find expected node content`},
		{"executor: folder without config", files{"flow.yml": "executors: [{name: a, uses: ./ex}]\n", "ex/main.go": "package main\n"},
			[]string{"up", "flow.yml"}, `DIR/ex: folder has no config.yml`},
		{"executor: jig executor, unknown built-in", nil,
			[]string{"executor", "--uses", "builtin:Nope"}, `uses: unknown built-in executor "Nope" (available: …`},
		{"executor: jig executor, bad log format", nil,
			[]string{"executor", "--uses", "builtin:Echo", "--log-format", "xml"}, `--log-format: want text or json, got "xml"`},

		// --- flags ---
		{"flags: unknown command", nil, []string{"nosuch"}, `unknown command "nosuch" for "jig" (see 'jig --help')`},
		{"flags: up without a flow", nil, []string{"up"}, `accepts 1 arg(s), received 0 (see 'jig up --help')`},
		{"flags: unknown flag", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--bogus"}, `unknown flag: --bogus (see 'jig up --help')`},
		{"flags: port not a number", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--port", "abc"}, `invalid argument "abc" for "--port" flag: must be an integer (see 'jig up --help')`},
		{"flags: port out of range", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--headless", "--port", "99999"}, `--port: want a port number from 1 to 65535 (0: the flow's), got 99999`},
		{"flags: negative http port", nil,
			[]string{"serve", "builtin:Echo", "--http-port", "-3"}, `--http-port: want a port number from 1 to 65535 (0: the flow's), got -3`},
		{"flags: executor port out of range", nil,
			[]string{"executor", "--uses", "builtin:Echo", "--port", "70000"}, `--port: want a port number from 0 to 65535, got 70000`},
		{"flags: body budget", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--headless", "--http-body-budget", "lots"}, `--http-body-budget: want a positive whole size in bytes such as 536870912 or 512MiB, got "lots"`},
		{"flags: log level", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--headless", "--log-level", "loud"}, `--log-level: want debug, info, warn or error (also in $JIG_LOG_LEVEL), got "loud"`},
		{"flags: half a TLS pair", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--headless", "--ssl-certfile", "c.pem"}, `--ssl-certfile and --ssl-keyfile go together`},
		{"flags: TLS file missing", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"up", "flow.yml", "--headless", "--ssl-certfile", "c.pem", "--ssl-keyfile", "k.pem"}, `--ssl-certfile: c.pem: no such file`},
		{"flags: serve unknown built-in", nil,
			[]string{"serve", "builtin:Nope"}, `jig serve builtin:Nope:6:13: executors[0].uses: unknown built-in executor "Nope" (available: …`},
		{"flags: serve zero replicas", nil,
			[]string{"serve", "builtin:Echo", "--replicas", "0"}, `--replicas: want 1 to 64, got 0`},
		{"flags: serve zero shards", nil,
			[]string{"serve", "builtin:Echo", "--shards", "0"}, `--shards: want 1 to 64, got 0`},
		{"flags: serve too many replicas", nil,
			[]string{"serve", "builtin:Echo", "--replicas", "100000"}, `--replicas: want 1 to 64, got 100000`},
		{"flags: serve --uses-with invalid YAML", nil,
			[]string{"serve", "builtin:SimpleIndexer", "--uses-with", "{a: [}"}, `--uses-with: invalid YAML: did not find expected node content`},
		{"flags: serve --uses-with a list", nil,
			[]string{"serve", "builtin:SimpleIndexer", "--uses-with", "[1]"}, `--uses-with:1:1: want a mapping like {"key": value}, got a list`},
		{"flags: serve --uses-with unknown field", nil,
			[]string{"serve", "builtin:SimpleIndexer", "--uses-with", "{nope: 1}"}, `deployment simpleindexer failed to start: simpleindexer/rep-0: --uses-with:1:2: nope: unknown field "nope" (known: limit, persist)`},
		{"flags: serve folder --uses-with a list", nil,
			[]string{"serve", upper, "--uses-with", `{"prefix": [1]}`}, `deployment upper failed to start: upper/rep-0: --uses-with:1:12: prefix: want a string, got a list`},
		{"flow: folder executor uses_with a list", files{"flow.yml": "executors:\n  - name: up\n    uses: " + upper + "\n    uses_with: {prefix: [1, 2]}\n"},
			[]string{"up", "flow.yml", "--headless"}, `deployment up failed to start: up/rep-0: flow.yml:4:25: executors[0].uses_with.prefix: want a string, got a list`},
		{"flags: post without address", nil, []string{"post"}, `accepts 1 arg(s), received 0 (see 'jig post --help')`},
		{"flags: post unknown scheme", nil,
			[]string{"post", "ftp://x:1", "--on", "/x"}, `bad address "ftp://x:1": unknown scheme "ftp" (want grpc, grpcs, http or https)`},
		{"flags: post parameters not JSON", nil,
			[]string{"post", "127.0.0.1:1", "--parameters", "{bad"}, `--parameters: invalid character 'b' looking for beginning of object key string (e.g. '{"limit": 5}')`},
		{"flags: post parameters a list", nil,
			[]string{"post", "127.0.0.1:1", "--parameters", "[1]"}, `--parameters: want a JSON object, got a JSON array (e.g. '{"limit": 5}')`},
		{"flags: post target regex", nil,
			[]string{"post", "127.0.0.1:1", "--target", "("}, "--target: not a regular expression: error parsing regexp: missing closing ): `(`"},
		{"flags: post negative n", nil,
			[]string{"post", "127.0.0.1:1", "--n", "-1"}, `--n must not be negative, got -1`},
		{"flags: export unknown kind", files{"flow.yml": "executors: [{uses: builtin:Echo}]\n"},
			[]string{"export", "helm", "flow.yml", "out"}, `accepts 0 arg(s), received 3 (see 'jig export --help')`},

		// --- documents (jig post --data) ---
		{"docs: data file missing", nil,
			[]string{"post", "127.0.0.1:1", "--on", "/x", "--data", "nope.jsonl"}, `nope.jsonl: cannot read documents: no such file or directory`},
		{"docs: a line is not JSON", files{"d.jsonl": "{\"text\":\"a\"}\n{bad\n"},
			[]string{"post", "127.0.0.1:1", "--on", "/x", "--data", "d.jsonl"}, `d.jsonl:2: invalid document: want a JSON object: invalid JSON at byte 2: invalid character 'b' looking for beginning of object key string`},
		{"docs: text not a string", files{"d.jsonl": "{\"text\": 5}\n"},
			[]string{"post", "127.0.0.1:1", "--on", "/x", "--data", "d.jsonl"}, `d.jsonl:1: invalid document: field "text": want a string: got a JSON number`},
		{"docs: embedding not numbers", files{"d.jsonl": "{\"embedding\": [\"a\"]}\n"},
			[]string{"post", "127.0.0.1:1", "--on", "/x", "--data", "d.jsonl"}, `d.jsonl:1: invalid document: field "embedding": array elements must be numbers, got a string`},
		{"docs: a list per line", files{"d.jsonl": "[1, 2]\n"},
			[]string{"post", "127.0.0.1:1", "--on", "/x", "--data", "d.jsonl"}, `d.jsonl:1: invalid document: want a JSON object…`},
	}
	if len(cases) < 50 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			code, stdout, stderr := runPostCLI(t, "", c.args...)
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Fatalf("panic or stack trace:\n%s", stderr)
			}
			if code != 2 {
				t.Fatalf("exit code %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			// dir may be reached through a symlink (macOS /var); the
			// message names it as the process sees it.
			wd, _ := os.Getwd()
			want := "error: " + strings.ReplaceAll(c.want, "DIR", wd)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if prefix, ok := strings.CutSuffix(want, "…"); ok {
				if !strings.HasPrefix(last, prefix) {
					t.Fatalf("message\n  %s\nwant it to start with\n  %s", last, prefix)
				}
			} else if last != want {
				t.Fatalf("message\n  %s\nwant\n  %s", last, want)
			}
		})
	}
}
