"""ibeat_grpc: the gRPC service in front of the ibeat engine (not built yet)."""
