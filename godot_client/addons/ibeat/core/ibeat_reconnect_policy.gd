class_name IbeatReconnectPolicy
## How long to wait before reconnecting: exponential backoff with jitter, so a restarted
## server is not hit by every client at the same instant.
##
## Engine-neutral (Godot 3 and 4), as the Unity package's ReconnectPolicy. Attempt n (from 0)
## waits a random time in (b (1 - jitter), b] with b = min(max_s, initial_s * factor^n): the
## jitter only shortens the wait, so the cap holds. [method reset] after a stream worked.

var initial_s := 0.5
var max_s := 10.0
var factor := 2.0
var jitter := 0.2
## Waits handed out since the last [method reset] [count].
var attempts := 0

var _rng := RandomNumberGenerator.new()


## [param seed_value] 0 draws a seed from the time, so clients differ; tests pass another.
func _init(initial: float = 0.5, maximum: float = 10.0, growth: float = 2.0,
		jitter_fraction: float = 0.2, seed_value: int = 0) -> void:
	# (No min/max/clamp: Godot 3's round to 32-bit floats.)
	initial_s = initial if initial > 0.001 else 0.001
	max_s = maximum if maximum > initial_s else initial_s
	factor = growth if growth > 1.0 else 1.0
	jitter = jitter_fraction if jitter_fraction > 0.0 else 0.0
	if jitter > 0.99:
		jitter = 0.99
	if seed_value != 0:
		_rng.seed = seed_value
	else:
		_rng.randomize()


## The wait before the next attempt [s]; counts one attempt.
func next_delay_s() -> float:
	var base: float = initial_s * pow(factor, attempts if attempts < 64 else 64)
	if base > max_s:
		base = max_s
	attempts += 1
	return base * (1.0 - jitter * _rng.randf())


## Back to the first, shortest wait.
func reset() -> void:
	attempts = 0
