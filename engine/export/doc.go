// Package export turns a loaded flow into files that run it elsewhere:
// Kubernetes manifests (Kubernetes) and a Docker Compose file (Compose).
//
// Both exports share one plan (plan.go): every deployment that jig runs
// becomes one workload per shard, each replica serving the worker protocol
// on port 8080 (RAFT on 8081 for stateful deployments), and the gateway is
// `jig up /config/flow.yml --headless` on a generated gateway flow in which
// every deployment is `external: true` and points at those workloads
// (`host:` for one shard, `shard_hosts:` for several). Deployments that are
// already external in the original flow are not exported: the gateway
// keeps their addresses.
//
// Images: built-in executors (`builtin:Name`, or configs of built-in
// types) run in the jig image (`jig executor --uses ...`); a Go executor
// built from source runs in its own image, <prefix>/<folder>:<tag>, built
// from the Dockerfile in its folder. Executor configs are never baked into
// commands: each workload gets its config.yml from a ConfigMap (Compose: an
// inline config), so editing a config does not need an image rebuild.
//
// Objects are built as structs and marshalled, never assembled from text
// templates, with the package's own mirror of the fields it sets:
// Kubernetes objects in kubetypes.go (the API types themselves were a
// fifth of a cold build of jig), Compose files in composetypes.go
// (compose-go's types brought a second YAML library, logrus and docker's
// packages, 18 packages, into the build). Tests decode the output
// strictly with the real Kubernetes API types and load it with
// compose-go's loader (testdata/compose-golden holds files compose-go's
// own marshaller wrote, which the export's must load to the same
// project).
package export
