class_name IbeatSourceClock
## Source clock -> client clock for Subscribe streams: a source time t is
## t + min(arrival - source_time_us) over the last readings (the least delayed message is the
## best estimate), started afresh after a StreamRestarted. Engine-neutral (Godot 3 and 4).

const WINDOW = 16

var _offsets := []


## One clock reading: the message arrived at [param arrival_us] (client clock) and says the
## source clock read [param source_time_us] when it was queued.
func add_reading(arrival_us: int, source_time_us: int) -> void:
	_offsets.append(arrival_us - source_time_us)
	if _offsets.size() > WINDOW:
		_offsets.pop_front()


func has_offset() -> bool:
	return _offsets.size() > 0


## Client clock minus source clock [us] (0 before any reading).
func offset_us() -> int:
	if _offsets.size() == 0:
		return 0
	var best: int = _offsets[0]
	for o in _offsets:
		if o < best:
			best = o
	return best


func reset() -> void:
	_offsets.clear()
