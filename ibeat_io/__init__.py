"""ibeat_io: files and data at the edge of ibeat: datasets and their splits, clips, MIDI, WAV and the synthesised kit, plots, virtual cameras."""
