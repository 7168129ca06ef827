class_name IbeatHitScheduler
## Hits waiting to be played: added as they arrive (about the lead time early), taken a
## few frames before they are due and started on the audio clock.
##
## Engine-neutral (Godot 3 and 4), as the Unity package's HitScheduler. Late policy: a hit
## whose play time on the audio clock is earlier than [code]audio_now + min_lead_s[/code]
## can no longer start exactly, so it is dropped and counted in [member dropped], never
## played late: a late drum sounds worse than a missing one.

## Least time before its play time a hit can still be started exactly [s].
var min_lead_s := 0.005
## Most hits held [count]; past it the earliest is dropped.
var capacity := 256
## Hits dropped so far: late, or pushed out by [member capacity] [count].
var dropped := 0
## Hits handed out by [method take_due] so far [count].
var scheduled := 0

var _pending := []


func _init(min_lead: float = 0.005, max_pending: int = 256) -> void:
	min_lead_s = min_lead if min_lead > 0.0 else 0.0
	capacity = max_pending if max_pending > 1 else 1


## Hits waiting [count].
func pending() -> int:
	return _pending.size()


## Adds a hit (a Dictionary with [code]time_us[/code] on the stream clock), in play-time
## order; equal times keep their arrival order.
func add(hit: Dictionary) -> void:
	if _pending.size() >= capacity:
		_pending.pop_front()
		dropped += 1
	var i := _pending.size()
	while i > 0 and int(_pending[i - 1]["time_us"]) > int(hit["time_us"]):
		i -= 1
	_pending.insert(i, hit)


## Moves the hits to play before [code]audio_now + horizon_s[/code] into [param output] as
## [code]{"hit": hit, "audio_time": s, "delay_s": audio_time - audio_now}[/code], in play
## order, and drops the late ones. [param clock] maps stream time onto the audio clock
## (an [IbeatAudioClock]); nothing happens before it is ready: hits wait.
## Returns the number of hits appended.
func take_due(clock, audio_now: float, horizon_s: float, output: Array) -> int:
	if not clock.is_ready():
		return 0
	var added := 0
	var taken := 0
	var earliest := audio_now + min_lead_s
	var horizon := audio_now + horizon_s
	while taken < _pending.size():
		var hit: Dictionary = _pending[taken]
		var audio_time: float = clock.to_audio(int(hit["time_us"]))
		if audio_time < earliest:
			dropped += 1
			taken += 1
			continue
		# The map increases, so every later hit is beyond the horizon too.
		if audio_time >= horizon:
			break
		output.append({"hit": hit, "audio_time": audio_time, "delay_s": audio_time - audio_now})
		scheduled += 1
		added += 1
		taken += 1
	for _i in range(taken):
		_pending.pop_front()
	return added


## Forgets the waiting hits (the stream ended or restarted); the counts stay.
func clear() -> void:
	_pending.clear()
