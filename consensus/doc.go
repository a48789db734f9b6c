// Package consensus keeps the replicas of a stateful jig deployment shard
// consistent with RAFT (github.com/hashicorp/raft).
//
// # Model
//
// Every replica of a stateful shard runs one Node beside its executor
// Instance. Requests for write endpoints (Router.Write, Jina's @write) are
// not handled by the instance directly: the worker hands them to
// (*Node).ApplyWrite, which appends the marshalled jina.DataRequestProto to
// the RAFT log. Once the entry is committed, the FSM on every replica
// unmarshals it and calls Instance.Process, in log order, so every replica's
// executor sees the same writes in the same order. The caller gets the
// leader's response. Writes that reach the leader while earlier entries are
// still in flight share one entry (group commit, kind jig/batch/v1: the
// requests in order, each applied and answered on its own); a lone write is
// an entry of its own in the original format, which is also how every log
// written before batching replays. Executors must therefore be deterministic in their write
// handlers; state that depends on time, randomness or the replica's identity
// diverges.
//
// The RAFT log and the snapshots are the source of truth for the executor's
// state: on start, the latest snapshot is given to Instance.Restore and the
// log after it is applied again. An executor that also persists its own state
// must treat Restore as authoritative and make its writes idempotent (upserts
// by id), or it applies the replayed writes twice.
//
// # Static bootstrap
//
// Jina bootstraps every replica as a one-node cluster and lets the
// orchestrator call AddVoter on replica 0 with retries and sleeps; a restart
// then races with those calls, and the cluster only works if replica 0 wins
// the first election. jig instead gives every node the full intended
// membership (Config.Peers, identical on every node) and calls
// raft.BootstrapCluster with it exactly once, when the node has no persisted
// state. hashicorp/raft explicitly allows every node to bootstrap with the
// same configuration, so a cluster forms as soon as a majority is up, with no
// orchestration step and no designated first leader. A restarted node reuses
// its persisted log, snapshot and term and rejoins with its data. A node added
// later (scale-up) is started with Config.Join and never bootstraps: it waits
// for the leader's AddVoter.
//
// Peer addresses are looked up by server ID at dial time (a
// raft.ServerAddressProvider backed by Config.Peers and by peers announced
// through the log), so a restarted cluster whose ports changed still finds
// itself, which Jina's persisted-address scheme cannot do.
//
// # Forwarding
//
// Jina answers a write that reaches a follower with a retriable error and
// relies on the gateway to retry on another replica until it happens to hit
// the leader. jig forwards instead: a follower sends the write to the current
// leader's worker (Peer.WorkerAddr) with jina.JinaSingleDataRequestRPC/
// process_single_data, marking the hop count in gRPC metadata
// ("jig-raft-hops"). A node that receives a forwarded request it cannot
// handle because it has just lost leadership forwards it again, up to
// Config.MaxForwardHops, and a node with no known leader waits for one (up to
// Config.LeaderWaitTimeout and the caller's context). The gateway therefore
// never needs to know which replica leads.
//
// Writes are at-least-once across leadership changes: when a leader is
// deposed after accepting a write but before reporting its outcome, the
// outcome is unknown (ErrOutcomeUnknown, gRPC UNAVAILABLE) and a client that
// retries may apply the write twice. The node itself only retries when it
// knows the write was not applied (not leader, no leader). Make write
// handlers idempotent.
//
// # Reads
//
// Reads are served by the local replica by default (ConsistencyLocal): fast
// and available without a leader, but possibly stale. A follower applies an
// entry only after the leader tells it the entry is committed, which on an
// idle cluster happens within about Config.CommitTimeout, and a partitioned
// or lagging replica can be arbitrarily far behind. ConsistencyLeader reads
// on the leader after confirming its leadership with a quorum
// (raft.VerifyLeader) and waiting until everything committed before the read
// is applied (raft.Barrier); a follower forwards such reads to the leader. A
// leader read sees every write acknowledged before it started, and costs a
// quorum round trip plus a log append. (A ReadIndex check without the
// barrier would be cheaper, but raft.AppliedIndex counts entries handed to
// the FSM, not applied by it, so it cannot prove the executor caught up.)
//
// # Leader fast path
//
// raft hands the leader's FSM the very Data slice the leader submitted, so
// the leader applies the request object it already decoded instead of
// unmarshalling its own bytes; followers decode. The hand-off is revoked
// when the submitter stops waiting, so the FSM never touches a request its
// owner may reuse.
//
// # Snapshots
//
// raft asks the FSM for a snapshot every Config.SnapshotInterval when more
// than Config.SnapshotThreshold entries were applied since the last one (and
// (*Node).Snapshot asks for one now). The FSM calls Instance.Snapshot into a
// temporary folder while applies are paused (the executor API has no
// copy-on-write, so this is the only way to get a state that matches the
// applied index), and FSMSnapshot.Persist packs the folder as a tar stream
// into raft's file snapshot store. Snapshots are bytes, not paths, so raft
// can send them to a follower on another host (InstallSnapshot), which
// unpacks them into a temporary folder and calls Instance.Restore. Executors
// without Snapshot/Restore cannot be snapshotted: the node logs that once and
// disables automatic snapshots, so the log is never compacted and grows with
// every write, and a new replica replays the whole log.
package consensus
