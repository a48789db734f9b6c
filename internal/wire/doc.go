// Package wire is jig's one place for the mechanics of Jina's gRPC
// protocol that every layer needs the same way: the message limits and
// gRPC options of servers and connections, the names of status codes and
// their HTTP statuses, shallow copies, error responses and merges of a
// DataRequestProto, and the serving loop of the bidirectional JinaRPC/Call
// stream. The gateway, the router, the worker, the executors and the
// client use it instead of writing their own copies, so a rule of the
// wire changes in one place.
package wire
