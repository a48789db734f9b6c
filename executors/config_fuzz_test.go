package executors_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"

	_ "github.com/jig-dev/jig/executors/builtin"
)

// FuzzParseConfig feeds arbitrary text to the executor YAML loader and,
// when it parses, builds the executor from it (applying with:, metas:,
// requests: and dynamic_batching: to a real built-in type), as the engine
// does. It must return an instance or an error, never panic; every error
// of the loader is bad input (exit code 2 in the CLI). Seeds are in
// testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		"jtype: SimpleIndexer\nwith: {limit: 3, persist: true}\nmetas: {name: idx, description: d}\n",
		"jtype: HashEmbedder\nwith: {dim: 8, seed: 7, ngrams: 2}\nrequests: {/embed: Encode}\ndynamic_batching: {/embed: {preferred_batch_size: 4, timeout: 10}}\n",
		"jtype: TextNormalizer\nwith: {lowercase: true, unicode_form: NFKC}\n",
		"jtype: Sentencizer\nwith: {punct_chars: '.!?', min_sent_len: 1, max_sent_len: 0}\n",
		"jtype: Echo\nwith: {}\nmetas: {workspace: ws}\n",
		"jtype: Nope\n",
		"py_modules: [x.py]\njtype: X\n",
		"jtype: Echo\nwith: &a {x: *a}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := executors.ParseConfig("fuzz.yml", data)
		if err != nil {
			if !errors.Is(err, yamlutil.ErrBadInput) {
				t.Fatalf("a config error that is not bad input: %v", err)
			}
			return
		}
		if cfg.JType == "" {
			t.Fatal("a parsed config without jtype")
		}
		inst, err := executors.New(context.Background(), executors.Spec{Config: cfg,
			Runtime: executors.RuntimeArgs{Name: "fuzz", Replicas: 1, Shards: 1, Workspace: t.TempDir()}})
		if err != nil {
			return
		}
		if err := inst.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
}
