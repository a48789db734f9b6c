package flow

// Upper bounds on the sizes a flow may ask for. Each replica is a gRPC
// server (in-process) or a child process, each shard a set of them: a
// typo such as `replicas: 1e9` or `replicas: 100000` must be refused
// at load time instead of exhausting the machine while the flow starts.
// The README's Reliability section documents these numbers.
const (
	// MaxReplicas is the largest `replicas:` of one deployment.
	MaxReplicas = 64
	// MaxShards is the largest `shards:` of one deployment.
	MaxShards = 64
	// MaxReplicasTotal bounds replicas × shards of one deployment: the
	// number of workers it runs.
	MaxReplicasTotal = 256
)
