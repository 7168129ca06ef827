"""ibeat_io: adapters at the edge of ibeat: datasets, file formats, plots, CLI."""
