extends SceneTree
## End-to-end check of the add-on's core against a running `ibeat-server --ws-port N`, in
## headless Godot 3 (godot3-server): the same IbeatStream, IbeatAudioClock and
## IbeatHitScheduler the Godot 4 IbeatClient runs, over a WebSocketClient adapter.
##
## godot3-server --no-window --path PROJECT -s res://tests/e2e_client.gd, set up by
## environment variables (tests/test_godot_addon.py does it):
##   IBEAT_E2E_MODE     frames (default), dance, subscribe or status
##   IBEAT_E2E_SERVER   ws://127.0.0.1:PORT
##   IBEAT_E2E_OUT      where the result JSON goes
##   IBEAT_E2E_FRAMES   frames mode: a file, line 1 the settings (IbeatProtocol.config_message
##                      keys), then one frame a line: {"t": timestamp_us, "kp": [...]}
##   IBEAT_E2E_SPEED    frames and dance: 1 = real time (default), 4 = four times faster
##   IBEAT_E2E_SECONDS  dance mode: how much dance [s]; subscribe: how long to listen [s]
##   IBEAT_E2E_SCENARIOS status mode: a JSON list of {"name", "url", "subscribe", "settings",
##                      "token", "seconds"}
##   IBEAT_E2E_TOKEN    frames and dance: the bearer token
## Hits are scheduled on a simulated sound card (512-frame mixes at 48 kHz on a clock 20 ppm
## fast, the audio thread waking 0-2 ms late, 20 ms output latency) through the same
## readings Godot's AudioServer gives, and where each would be heard is worked out from it.

const Json = preload("res://addons/ibeat/core/ibeat_json.gd")
const Protocol = preload("res://addons/ibeat/core/ibeat_protocol.gd")
const AudioClock = preload("res://addons/ibeat/core/ibeat_audio_clock.gd")
const HitScheduler = preload("res://addons/ibeat/core/ibeat_hit_scheduler.gd")
const Skeleton = preload("res://addons/ibeat/core/ibeat_skeleton.gd")
const Stream = preload("res://addons/ibeat/core/ibeat_stream.gd")
const Dance = preload("res://demo/ibeat_demo_dance.gd")
const Socket3 = preload("res://tests/ibeat_websocket_godot3.gd")

# The simulated sound card.
const MIX_FRAMES = 512
const MIX_RATE = 48000.0
const DRIFT = 20e-6
const LATENCY_S = 0.02
# As the Godot 4 IbeatDrumKit: hits are started up to HORIZON_S ahead, out of PRE_ROLL_S of
# leading silence.
const HORIZON_S = 0.05
const PRE_ROLL_S = 0.1
# How long hits may still come due after the stream ended [s].
const DRAIN_S = 2.5

var mode := "frames"
var out_path := ""
var speed := 1.0
var stream
var clock
var scheduler
var frames := []
var next_frame := 0
var t0_us := 0
var origin_us := 0
var deadline_us := 0
var ended_at_us := -1
var done := false
var jitters := []
var dance
var dance_frames := 0
var statuses := []
var beats := []
var hits := []
var played := []
var late_at_take := 0
var scenarios := []
var scenario := -1
var scenario_until_us := 0
var scenario_results := []
var listen_until_us := 0
var source_states := []


func _init() -> void:
	OS.low_processor_usage_mode_sleep_usec = 1000
	mode = _env("IBEAT_E2E_MODE", "frames")
	out_path = _env("IBEAT_E2E_OUT", "user://e2e.json")
	speed = float(_env("IBEAT_E2E_SPEED", "1"))
	var rng := RandomNumberGenerator.new()
	rng.seed = 5
	for _i in range(1009):
		jitters.append(rng.randi_range(0, 2000))
	clock = AudioClock.new()
	scheduler = HitScheduler.new(0.005)
	t0_us = OS.get_ticks_usec()
	if mode == "status":
		var parsed = JSON.parse(_env("IBEAT_E2E_SCENARIOS", "[]"))
		scenarios = parsed.result
		_next_scenario()
		return
	stream = _new_stream(_env("IBEAT_E2E_SERVER", "ws://127.0.0.1:8765"), false)
	stream.auth_token = _env("IBEAT_E2E_TOKEN", "")
	if mode == "subscribe":
		stream.subscribe = true
		origin_us = t0_us
		listen_until_us = t0_us + int(float(_env("IBEAT_E2E_SECONDS", "10")) * 1e6)
	elif mode == "dance":
		dance = Dance.new()
		dance_frames = int(float(_env("IBEAT_E2E_SECONDS", "8")) * 60.0)
		stream.settings = {
			"layout": Protocol.Layout.HUMANOID, "genre": "rock", "seed": 3, "nominal_fps": 60.0,
		}
		origin_us = 0
	else:
		_read_frames(_env("IBEAT_E2E_FRAMES", ""))
		origin_us = int(frames[0]["t"]) if frames.size() > 0 else 0
	deadline_us = t0_us + int((_span_s() / speed + 60.0) * 1e6)
	if mode == "subscribe":
		deadline_us = listen_until_us
	stream.start(_now())


func _env(name: String, default_value: String) -> String:
	var v := OS.get_environment(name)
	return v if v != "" else default_value


func _new_stream(url: String, subscribe: bool):
	var s = Stream.new()
	s.socket_script = Socket3
	s.url = url
	s.subscribe = subscribe
	return s


func _read_frames(path: String) -> void:
	var f := File.new()
	if f.open(path, File.READ) != OK:
		printerr("e2e_client: cannot read ", path)
		quit(2)
		return
	var first := true
	while not f.eof_reached():
		var line := f.get_line().strip_edges()
		if line == "":
			continue
		var parsed = JSON.parse(line).result
		if first:
			stream.settings = parsed
			first = false
		else:
			# 32-bit floats, as a Vector3 or a PoolRealArray holds them.
			frames.append({"t": int(parsed["t"]), "kp": PoolRealArray(parsed["kp"])})
	f.close()


func _span_s() -> float:
	if mode == "dance":
		return dance_frames / 60.0
	if frames.size() < 2:
		return 0.0
	return (int(frames[frames.size() - 1]["t"]) - origin_us) * 1e-6


# The stream clock [us]: the first frame's timestamp at start, then the engine's clock
# (sped up in faster-than-real-time runs).
func _now() -> int:
	return origin_us + int((OS.get_ticks_usec() - t0_us) * speed)


func _idle(_delta: float) -> bool:
	if done:
		return true
	if mode == "status":
		_status_step()
		return done
	var now := _now()
	_sample_audio(now)
	_handle(stream.update(now), now)
	_send_due(now)
	_pump(now)
	if stream.state == Stream.State.ENDED or stream.state == Stream.State.IDLE:
		if ended_at_us < 0:
			ended_at_us = now
		if scheduler.pending() == 0 or now - ended_at_us > int(DRAIN_S * 1e6 * speed):
			_finish()
	elif OS.get_ticks_usec() > deadline_us:
		statuses.append("e2e_client: deadline passed")
		_finish()
	return done


# --- the simulated sound card, in stream-clock microseconds ---------------------------------

func _mix_s() -> float:
	return MIX_FRAMES / MIX_RATE


# Hardware start of mix k on the stream clock [s].
func _mix_hw_s(k: int) -> float:
	return origin_us * 1e-6 + k * _mix_s() / (1.0 + DRIFT)


# The last mix the audio thread has run by now_us: [k, its wake-up time in us].
func _last_mix(now_us: int) -> Array:
	var k := int(floor((now_us * 1e-6 - origin_us * 1e-6) * (1.0 + DRIFT) / _mix_s())) + 1
	while true:
		var wake := int(round(_mix_hw_s(k) * 1e6)) + int(jitters[k % jitters.size()])
		if wake <= now_us:
			return [k, wake]
		k -= 1
	return [0, 0]


func _sample_audio(now: int) -> void:
	var last := _last_mix(now)
	var since := (now - int(last[1])) * 1e-6
	clock.sample(now, since, _mix_s() - since, LATENCY_S)


# --- the stream -------------------------------------------------------------------------------

func _handle(events: Array, now: int) -> void:
	for e in events:
		if e["type"] == "status":
			statuses.append(e["text"])
			continue
		var m: Dictionary = e["message"]
		if m["kind"] == "source_status":
			source_states.append(m["state"])
		if m["kind"] == "beat":
			beats.append({"index": m["index"], "tempo": m["tempo_bpm"], "time_us": m["time_us"]})
		elif m["kind"] == "hits":
			for h in m["hits"]:
				hits.append({
					"timeUs": h["time_us"], "drumClass": h["drum_class"],
					"velocity": h["velocity"], "beatIndex": h["beat_index"], "step": h["step"],
					"joint": h["joint"], "layoutJoint": h["layout_joint"],
					"leadUs": int(h["time_us"]) - now,
				})
				scheduler.add(h)


func _send_due(now: int) -> void:
	if not stream.is_open():
		return
	if mode == "dance":
		while next_frame < dance_frames and int(next_frame * 1e6 / 60.0) <= now:
			var t_us := int(next_frame * 1e6 / 60.0)
			stream.send_frame(t_us, Skeleton.pack_3d(dance.pose(t_us * 1e-6)))
			next_frame += 1
		if next_frame >= dance_frames:
			stream.end_stream()
		return
	while next_frame < frames.size() and int(frames[next_frame]["t"]) <= now:
		var f: Dictionary = frames[next_frame]
		stream.send_frame(int(f["t"]), f["kp"], next_frame)
		next_frame += 1
	if next_frame >= frames.size():
		stream.end_stream()


# As IbeatDrumKit does each frame: start the hits due within the horizon, each out of the
# pre-roll so that its onset lands on the audio clock; here, work out when it is heard.
func _pump(now: int) -> void:
	var due := []
	var audio_now: float = clock.next_mix_s()
	scheduler.take_due(clock, audio_now, HORIZON_S, due)
	if due.size() == 0:
		return
	var next_mix: int = int(_last_mix(now)[0]) + 1
	for d in due:
		var delay: float = d["delay_s"]
		var from_position := PRE_ROLL_S - delay
		if from_position < 0.0:
			late_at_take += 1
			continue
		# Started now, the sound is mixed from the next mix on; its onset PRE_ROLL_S into the
		# stream is delay_s of audio later, heard after the output latency.
		var heard := _mix_hw_s(next_mix) + delay / (1.0 + DRIFT) + LATENCY_S
		played.append({
			"timeUs": d["hit"]["time_us"], "errorUs": int(round(heard * 1e6)) - int(d["hit"]["time_us"]),
			"fromPosition": from_position,
		})


func _finish() -> void:
	var result := {
		"mode": mode,
		"status": stream.last_status.get("name", "none"),
		"statusMessage": stream.last_status.get("message", ""),
		"statuses": statuses,
		"framesSent": stream.frames_sent,
		"framesSkipped": stream.frames_skipped,
		"attempts": stream.attempts,
		"beats": beats,
		"hits": hits,
		"played": played,
		"scheduled": scheduler.scheduled,
		"dropped": scheduler.dropped,
		"neverDue": scheduler.pending(),
		"lateAtTake": late_at_take,
		"accepted": stream.accepted,
		"finalStats": stream.last_stats,
		"source": stream.source_info,
		"sourceStates": source_states,
		"hitsUnplaced": stream.hits_unplaced,
		"clock": {
			"mixes": clock.mixes, "driftFitted": clock.map.drift(), "driftSimulated": DRIFT,
			"residualS": clock.map.residual_s(), "hasAudio": clock.has_audio,
		},
	}
	_write(result)
	print("e2e_client: %s, %d frames sent, %d beats, %d hits, %d scheduled, %d dropped late" % [
		result["status"], stream.frames_sent, beats.size(), hits.size(), scheduler.scheduled,
		scheduler.dropped])
	done = true
	quit(0 if stream.last_status.get("code", -1) == Protocol.Status.OK else 1)


func _write(result: Dictionary) -> void:
	var f := File.new()
	if f.open(out_path, File.WRITE) != OK:
		printerr("e2e_client: cannot write ", out_path)
		return
	f.store_string(Json.encode(result))
	f.close()


# --- status mode: how the client sees refusals, a missing server and tokens -------------------

func _next_scenario() -> void:
	scenario += 1
	if scenario >= scenarios.size():
		_write({"mode": "status", "scenarios": scenario_results})
		print("e2e_client: %d status scenarios run" % scenario_results.size())
		done = true
		quit(0)
		return
	var sc: Dictionary = scenarios[scenario]
	stream = _new_stream(sc["url"], bool(sc.get("subscribe", false)))
	stream.auth_token = str(sc.get("token", ""))
	stream.settings = sc.get("settings", {})
	stream.policy.initial_s = 0.2
	statuses = []
	scenario_until_us = OS.get_ticks_usec() + int(float(sc.get("seconds", 3.0)) * 1e6)
	stream.start(OS.get_ticks_usec())


func _status_step() -> void:
	var now := OS.get_ticks_usec()
	for e in stream.update(now):
		if e["type"] == "status":
			statuses.append(e["text"])
	# A Session that opened gets one frame, so its config is answered (accepted or refused).
	if stream.is_open() and stream.frames_sent == 0 and not stream.subscribe:
		var layout := int(stream.settings.get("layout", Protocol.Layout.COCO17))
		var kp := []
		for _i in range(Protocol.joint_count(layout) * Protocol.values_per_joint(layout)):
			kp.append(0.0)
		stream.send_frame(now, kp)
	var finished: bool = stream.state == Stream.State.ENDED
	if finished or now > scenario_until_us:
		scenario_results.append({
			"name": scenarios[scenario]["name"],
			"state": Stream.State.keys()[stream.state],
			"status": stream.last_status.get("name", "none"),
			"message": stream.last_status.get("message", ""),
			"attempts": stream.attempts,
			"accepted": stream.accepted.size() > 0,
			"statuses": statuses,
		})
		stream.stop()
		_next_scenario()
