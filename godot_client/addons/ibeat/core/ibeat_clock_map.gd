class_name IbeatClockMap
## Maps the stream clock onto the audio clock: a least-squares line of audio time against
## stream time over the last [member window] readings (offset and drift).
##
## Engine-neutral (Godot 3 and 4), the same fit as the Unity package's ClockMap. The audio
## clock moves in steps of one mix buffer and the moment it is read jitters with the audio
## thread; the fit averages both out. A drift steeper than [constant MAX_DRIFT] comes from
## too few noisy readings and is clamped.

## Largest rate difference believed [dimensionless, 0.01 = 1 %].
const MAX_DRIFT = 0.01

## Readings kept [count, >= 2]; 120 is 2 s at 60 fps.
var window := 120

var _stream := []
var _audio := []
var _next := 0
var _slope := 1.0
var _mean_stream := 0.0
var _mean_audio := 0.0
var _residual := 0.0
var _ready := false


func _init(readings: int = 120) -> void:
	window = readings if readings > 2 else 2


## True once two readings at different stream times are in: [method to_audio] works.
func is_ready() -> bool:
	return _ready


## Readings in the window [count].
func count() -> int:
	return _stream.size()


## Audio clock rate relative to the stream clock, minus 1 [dimensionless; 20e-6 = 20 ppm fast].
func drift() -> float:
	return _slope - 1.0


## RMS distance of the readings from the fitted line [s]: their jitter.
func residual_s() -> float:
	return _residual


## Adds one reading of both clocks taken at the same moment [s each].
func add_sample(stream_s: float, audio_s: float) -> void:
	if is_nan(stream_s) or is_inf(stream_s) or is_nan(audio_s) or is_inf(audio_s):
		push_error("IbeatClockMap: clock readings must be finite")
		return
	if _stream.size() < window:
		_stream.append(stream_s)
		_audio.append(audio_s)
	else:
		_stream[_next] = stream_s
		_audio[_next] = audio_s
	_next = (_next + 1) % window
	_fit()


## The audio clock time [s] of stream time [param stream_s] [s] (before [method is_ready]:
## the stream time itself).
func to_audio(stream_s: float) -> float:
	if not _ready:
		return stream_s
	return _mean_audio + _slope * (stream_s - _mean_stream)


## The stream time [s] of audio time [param audio_s] [s].
func to_stream(audio_s: float) -> float:
	if not _ready:
		return audio_s
	return _mean_stream + (audio_s - _mean_audio) / _slope


## Forgets every reading (a new clock, an audio device change).
func reset() -> void:
	_stream.clear()
	_audio.clear()
	_next = 0
	_slope = 1.0
	_mean_stream = 0.0
	_mean_audio = 0.0
	_residual = 0.0
	_ready = false


func _fit() -> void:
	var n := _stream.size()
	# Relative to the newest reading, so the sums stay small when the clocks are large.
	var newest := (_next - 1 + window) % window
	if newest >= n:
		newest = n - 1
	var ref_stream: float = _stream[newest]
	var ref_audio: float = _audio[newest]
	var sum_x := 0.0
	var sum_y := 0.0
	for i in range(n):
		sum_x += _stream[i] - ref_stream
		sum_y += _audio[i] - ref_audio
	var mx := sum_x / n
	var my := sum_y / n
	var sxx := 0.0
	var sxy := 0.0
	for i in range(n):
		var dx: float = _stream[i] - ref_stream - mx
		var dy: float = _audio[i] - ref_audio - my
		sxx += dx * dx
		sxy += dx * dy
	_mean_stream = ref_stream + mx
	_mean_audio = ref_audio + my
	if n < 2 or sxx <= 0.0:
		# One reading, or all at one stream time: no rate yet.
		_ready = _ready and n >= 2
		return
	# (Not clamp(): Godot 3's min, max and clamp round to 32-bit floats.)
	_slope = sxy / sxx
	if _slope < 1.0 - MAX_DRIFT:
		_slope = 1.0 - MAX_DRIFT
	elif _slope > 1.0 + MAX_DRIFT:
		_slope = 1.0 + MAX_DRIFT
	var sse := 0.0
	for i in range(n):
		var e: float = (_audio[i] - ref_audio - my) - _slope * (_stream[i] - ref_stream - mx)
		sse += e * e
	_residual = sqrt(sse / n)
	_ready = true
