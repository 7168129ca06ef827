"""ibeat_core: the pure, deterministic signal core of ibeat.

Arrays in, arrays or events out: no file, socket or thread in here. Times are
float seconds, rates Hz, tempi BPM; frame indices carry a ``_frames`` suffix.
"""
