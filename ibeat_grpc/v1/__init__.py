"""Generated ibeat.v1 messages and stubs (``python -m ibeat_grpc.codegen``); never edit by hand."""
