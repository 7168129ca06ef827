class_name IbeatAudioClock
## The audio clock, read from the AudioServer once per frame, and the map from the stream
## clock onto it.
##
## Engine-neutral (Godot 3 and 4): the caller passes the readings, so a test can feed a
## simulated sound card. The audio clock counts mixed audio: each mix the AudioServer runs
## adds one buffer ([code]get_time_since_last_mix() + get_time_to_next_mix()[/code]) to
## it, so it runs at the sound card's rate. Each reading gives one point: the stream-clock
## time at which the last mix's first sample is heard (the mix's start on
## [code]Time.get_ticks_usec()[/code], now minus the time since the mix, plus the output
## latency) against that mix's audio time. [member map] fits a line through the last
## readings (offset and drift), which averages out the jitter of the audio thread's wake-ups.
##
## Scheduling: a sound started now is mixed from the next mix on, at audio time
## [method next_mix_s]; a hit at stream time t is heard right when started from that mix
## [code]map.to_audio(t) - next_mix_s()[/code] seconds later.
##
## Without audio output (no driver, the Dummy driver before its first mix, a mix older than
## 1 s) the audio clock is the stream clock itself, with no latency; the map switches back
## when the readings return.

const ClockMap = preload("ibeat_clock_map.gd")

## Stream clock [s] -> audio clock [s].
var map
## Whether the last reading came from a running AudioServer (false: stream clock stand-in).
var has_audio := false
## Length of one mix [s] (0 without audio).
var buffer_s := 0.0
## Output latency the readings are shifted by [s].
var latency_s := 0.0
## Mixes counted since the first reading [count].
var mixes := 0

var _audio_s := 0.0
var _last_mix_us := 0
var _started := false
var _stand_in_s := 0.0


func _init(window: int = 120) -> void:
	map = ClockMap.new(window)


## One reading, once per frame: [param now_us] the stream clock now
## ([code]Time.get_ticks_usec()[/code]), then [code]AudioServer.get_time_since_last_mix()[/code],
## [code]get_time_to_next_mix()[/code] and [code]get_output_latency()[/code] [s], read right
## after it.
func sample(now_us: int, since_last_mix_s: float, to_next_mix_s: float,
		output_latency_s: float) -> void:
	var buffer := since_last_mix_s + to_next_mix_s
	var running := buffer > 0.0 and buffer < 1.0 and since_last_mix_s >= 0.0 \
		and since_last_mix_s < 1.0
	if not running:
		sample_without_audio(now_us)
		return
	if not has_audio:
		map.reset()
		_started = false
		has_audio = true
	buffer_s = buffer
	latency_s = output_latency_s if output_latency_s > 0.0 else 0.0
	var last_mix_us := now_us - int(round(since_last_mix_s * 1e6))
	if _started:
		# Mixes since the last reading: the wake-ups jitter, the count is whole.
		var k := int(round((last_mix_us - _last_mix_us) / (buffer * 1e6)))
		if k <= 0:
			return  # the same mix as last time
		mixes += k
		_audio_s += k * buffer
	_started = true
	_last_mix_us = last_mix_us
	map.add_sample(last_mix_us * 1e-6 + latency_s, _audio_s)
	# A miscounted mix shows as a step the line cannot follow: start the fit afresh.
	if map.count() >= 8 and map.residual_s() > 0.3 * buffer:
		map.reset()
		map.add_sample(last_mix_us * 1e-6 + latency_s, _audio_s)


## A reading with no audio output: the audio clock is the stream clock.
func sample_without_audio(now_us: int) -> void:
	if has_audio or not _started:
		map.reset()
		has_audio = false
		_started = true
		buffer_s = 0.0
		latency_s = 0.0
	_stand_in_s = now_us * 1e-6
	map.add_sample(_stand_in_s, _stand_in_s)


## True once stream times can be mapped onto the audio clock.
func is_ready() -> bool:
	return map.is_ready()


## The audio time [s] from which a sound started now is mixed: the next mix's.
func next_mix_s() -> float:
	return _audio_s + buffer_s if has_audio else _stand_in_s


## The audio time [s] of stream time [param stream_us] [us].
func to_audio(stream_us: int) -> float:
	return map.to_audio(stream_us * 1e-6)


## Forgets the readings.
func reset() -> void:
	map.reset()
	has_audio = false
	_started = false
	mixes = 0
	_audio_s = 0.0
	buffer_s = 0.0
