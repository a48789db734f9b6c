package main

import (
	"bufio"
	"context"
	"fmt"
	"iter"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/spf13/cobra"
)

// streamHelp is added to `jig post --help`.
const streamHelp = `

With --stream, each input document goes on its own to the endpoint's
generator (stream_doc, what Jina's Client.stream_doc uses: token streaming
from a language model) and every document it yields is printed as a JSON
line the moment it arrives. Without input documents one empty document is
sent. --request-size, --prefetch, --ordered and --retries do not apply;
over HTTP --parameters and --target are not sent (Jina's HTTP form has no
place for them).`

// runPostStream is `jig post --stream`: stream_doc per input document,
// printing items as they arrive (flushed one by one).
func runPostStream(ctx context.Context, cmd *cobra.Command, c *client.Client, f *postFlags, params map[string]any, docs iter.Seq[*docarray.Document]) error {
	opts := f.requestOptions(params)
	if docs == nil {
		docs = func(yield func(*docarray.Document) bool) { yield(&docarray.Document{ID: docarray.NewID()}) }
	}
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	var runErr error
	for in := range docs {
		for d, err := range c.StreamDoc(ctx, f.on, in, opts...) {
			if err != nil {
				runErr = err
				break
			}
			if err := writeDocs(out, docarray.DocList{d}); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
		if runErr != nil {
			if !f.continueOnError {
				return runErr
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "error:", runErr)
		}
	}
	return runErr
}
