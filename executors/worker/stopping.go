package worker

// ServerStopping is implemented by a Writes (RAFT's node) that serves
// long-lived streams beside the worker's own services (jig.RaftAdmin/Watch,
// which the engine follows a replica's leadership with): Stop tells it
// first, so those streams end and the graceful stop does not wait for
// them until its deadline.
type ServerStopping interface {
	ServerStopping()
}

// notifyStopping tells the options' Writes that the server is stopping.
func (s *Server) notifyStopping() {
	if w, ok := s.opts.Writes.(ServerStopping); ok {
		w.ServerStopping()
	}
}
