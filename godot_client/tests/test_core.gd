# gdlint: disable=max-public-methods
extends SceneTree
## Unit tests of the add-on's engine-neutral core (addons/ibeat/core/) in headless Godot 3:
## godot3-server --no-window --path PROJECT -s res://tests/test_core.gd
## (tests/test_godot_addon.py lays out PROJECT). Prints one line per failure and
## "N passed, N failed"; exits 1 on any failure.

const Json = preload("res://addons/ibeat/core/ibeat_json.gd")
const Protocol = preload("res://addons/ibeat/core/ibeat_protocol.gd")
const ClockMap = preload("res://addons/ibeat/core/ibeat_clock_map.gd")
const AudioClock = preload("res://addons/ibeat/core/ibeat_audio_clock.gd")
const HitScheduler = preload("res://addons/ibeat/core/ibeat_hit_scheduler.gd")
const ReconnectPolicy = preload("res://addons/ibeat/core/ibeat_reconnect_policy.gd")
const SourceClock = preload("res://addons/ibeat/core/ibeat_source_clock.gd")
const Skeleton = preload("res://addons/ibeat/core/ibeat_skeleton.gd")
const Stream = preload("res://addons/ibeat/core/ibeat_stream.gd")
const FakeSocket = preload("res://tests/fake_socket.gd")

var passed := 0
var failed := 0
var _test := ""


func _init() -> void:
	for name in [
		"test_json_values", "test_json_numbers_give_back_float32",
		"test_config_messages", "test_frame_and_end_messages", "test_decode_messages",
		"test_status_from_close", "test_clock_map_fits_offset_and_drift",
		"test_clock_map_clamps_and_resets", "test_audio_clock_counts_mixes",
		"test_audio_clock_without_audio", "test_hit_scheduler_orders_and_takes_due",
		"test_hit_scheduler_drops_late_and_overflow", "test_reconnect_policy",
		"test_source_clock", "test_skeleton_packing", "test_stream_session",
		"test_stream_errors_and_retries", "test_stream_subscribe_maps_source_clock",
	]:
		_test = name
		call(name)
	print("%d passed, %d failed" % [passed, failed])
	quit(1 if failed > 0 else 0)


func check(condition: bool, what: String) -> void:
	if condition:
		passed += 1
	else:
		failed += 1
		print("FAIL %s: %s" % [_test, what])


func near(a: float, b: float, tol: float, what: String) -> void:
	check(abs(a - b) <= tol, "%s: %s vs %s (tol %s)" % [what, a, b, tol])


func parse(text: String):
	var r = JSON.parse(text)
	check(r.error == OK, "valid JSON: " + text)
	return r.result


func test_json_values() -> void:
	check(Json.encode(null) == "null", "null")
	check(Json.encode(true) == "true" and Json.encode(false) == "false", "bools")
	check(Json.encode(1700000000123456) == "1700000000123456", "int64 exact")
	check(Json.encode("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"", "escapes")
	var text := Json.encode({"end": {}, "list": [1, 2.5, "x"], "nested": {"k": [true]}})
	check(text == "{\"end\":{},\"list\":[1,2.5,\"x\"],\"nested\":{\"k\":[true]}}", text)
	var back = parse(text)
	check(back["list"][2] == "x" and back["nested"]["k"][0] == true, "round trip")
	check(Json.encode(PoolRealArray([0.5, 1.0])) == "[0.5,1]", "packed array")


func test_json_numbers_give_back_float32() -> void:
	var cases := {
		0.0: "0", 1.0: "1", -2.5: "-2.5", 0.05: "0.05", 60.0: "60", 1000000.0: "1000000",
		1e-12: "1e-12", 6e20: "6e20", 123.456789: "123.456789", -0.001: "-0.001",
	}
	for v in cases:
		check(Json.number(v) == cases[v], "number(%s) = %s" % [v, Json.number(v)])
	# Any 32-bit float (what a Vector3 or a PoolRealArray holds) comes back exactly.
	var rng := RandomNumberGenerator.new()
	rng.seed = 7
	var exact := 0
	var n := 3000
	for i in range(n):
		var magnitude := pow(10.0, rng.randf_range(-6.0, 6.0))
		var f32 := PoolRealArray([rng.randf_range(-1.0, 1.0) * magnitude])
		if i % 3 == 0:
			f32 = PoolRealArray([float(i) * 0.1])
		var back = JSON.parse("[" + Json.number(f32[0]) + "]").result
		var again := PoolRealArray([back[0]])
		if again[0] == f32[0]:
			exact += 1
		else:
			print("  not exact: %s -> %s -> %s" % [f32[0], Json.number(f32[0]), again[0]])
	check(exact == n, "float32 round trip exact for %d of %d" % [exact, n])


func test_config_messages() -> void:
	var m := Protocol.config_message({
		"layout": Protocol.Layout.HUMANOID, "genre": "funk", "seed": 7, "mode": "mono",
		"lead_time_us": 120000, "nominal_fps": 60.0, "density": -0.5,
	})
	var c: Dictionary = m["config"]
	check(c["layout"] == "SKELETON_LAYOUT_HUMANOID", "layout name")
	check(c["coordinateSpace"] == "COORDINATE_SPACE_METERS", "3D defaults to metres")
	check(c["handedness"] == "HANDEDNESS_RIGHT" and c["upAxis"] == "UP_AXIS_Y", "Godot frame")
	check(c["mode"] == "DRUM_MODE_MONO" and c["genre"] == "funk", "mode, genre")
	check(c["seed"] == "7" and c["leadTimeUs"] == "120000", "64-bit integers as strings")
	check(c["nominalFps"] == 60.0 and c["density"] == -0.5, "floats")
	check(not c.has("temperature"), "unset fields left out")
	var c2: Dictionary = Protocol.config_message({})["config"]
	check(c2["layout"] == "SKELETON_LAYOUT_COCO17", "default layout")
	check(c2["coordinateSpace"] == "COORDINATE_SPACE_PIXELS", "2D defaults to pixels")
	check(not c2.has("handedness") and c2["genre"] == "any", "2D: no frame; genre any")
	check(Protocol.joint_count(Protocol.Layout.HEAD_HANDS) == 3, "head-hands joints")
	check(Protocol.values_per_joint(Protocol.Layout.COCO17) == 3, "2D values per joint")
	check(Protocol.values_per_joint(Protocol.Layout.TRACKED_POINTS) == 4, "3D values per joint")


func test_frame_and_end_messages() -> void:
	var text := Json.encode(Protocol.frame_message(1700000000123456, [0.5, 1.25, 0.0, 1.0], 42))
	check(text == "{\"frame\":{\"timestampUs\":\"1700000000123456\","
		+ "\"keypoints\":[0.5,1.25,0,1],\"frameId\":\"42\"}}", text)
	check(Json.encode(Protocol.end_message()) == "{\"end\":{}}", "end")


func test_decode_messages() -> void:
	var hits := Protocol.decode_server_message(parse(
		"{\"hits\": {\"beatIndex\": \"3\", \"emittedUs\": \"1700000000000000\", "
		+ "\"frameId\": \"90\", \"hits\": [{\"timeUs\": \"1700000000123456\", "
		+ "\"drumClass\": 1, \"drum\": \"snare\", \"gmPitch\": 38, \"velocity\": 97, "
		+ "\"beatIndex\": \"3\", \"step\": 2, \"joint\": 9, \"jointX\": 0.25, "
		+ "\"jointY\": 1.5, \"jointZ\": -0.75, \"layoutJoint\": 17}, {\"timeUs\": \"5\"}]}}"))
	check(hits["kind"] == "hits" and hits["beat_index"] == 3, "hits kind, beat index")
	var h: Dictionary = hits["hits"][0]
	check(h["time_us"] == 1700000000123456, "int64 time exact: %s" % h["time_us"])
	check(h["drum"] == "snare" and h["drum_class"] == 1 and h["velocity"] == 97, "drum")
	check(h["step"] == 2 and h["joint"] == 9 and h["layout_joint"] == 17, "step, joints")
	check(h["position"] == Vector3(0.25, 1.5, -0.75), "position")
	check(h["frame_id"] == 90 and h["emitted_us"] == 1700000000000000, "frame id copied")
	var d: Dictionary = hits["hits"][1]
	check(d["drum_class"] == 0 and d["drum"] == "kick" and d["layout_joint"] == 0, "defaults")
	var beat := Protocol.decode_server_message(parse(
		"{\"beat\": {\"timeUs\": \"500000\", \"tempoBpm\": 110.5, \"index\": \"4\", "
		+ "\"feel\": \"rock\", \"beatInBar\": 1, \"beatsPerBar\": 4}}"))
	check(beat["kind"] == "beat" and beat["time_us"] == 500000 and beat["index"] == 4, "beat")
	check(beat["tempo_bpm"] == 110.5 and beat["beat_in_bar"] == 1, "beat fields")
	var acc := Protocol.decode_server_message(parse(
		"{\"accepted\": {\"sessionId\": \"ab\", \"leadTimeUs\": \"100000\", "
		+ "\"jointsExpected\": 19, \"valuesPerJoint\": 4, \"genre\": \"any\", "
		+ "\"modelVersions\": {\"visbeat\": \"sha256:12\"}}}"))
	check(acc["kind"] == "accepted" and acc["lead_time_us"] == 100000, "accepted")
	check(acc["model_versions"]["visbeat"] == "sha256:12", "model versions")
	var stats := Protocol.decode_server_message(parse(
		"{\"stats\": {\"framesReceived\": \"120\", \"latencyP50Us\": 2500, \"final\": true, "
		+ "\"sourceTimeUs\": \"77\"}}"))
	check(stats["frames_received"] == 120 and stats["latency_p50_us"] == 2500, "stats")
	check(stats["final"] and stats["has_source_time"] and stats["source_time_us"] == 77, "final")
	check(stats["frames_processed"] == 0 and stats["hits_dropped_late"] == 0, "stats defaults")
	var src := Protocol.decode_server_message(parse(
		"{\"source\": {\"description\": \"camera 0\", \"isLive\": true, "
		+ "\"session\": {\"leadTimeUs\": \"150000\"}}}"))
	check(src["kind"] == "source" and src["is_live"] and not src["has_source_time"], "source")
	check(src["session"]["lead_time_us"] == 150000, "source session")
	var st := Protocol.decode_server_message(parse(
		"{\"sourceStatus\": {\"state\": \"SOURCE_STATE_NO_PERSON\", \"message\": \"m\"}}"))
	check(st["state"] == "NO_PERSON" and st["message"] == "m", "source status")
	check(Protocol.decode_server_message(parse("{\"what\": {}}"))["kind"] == "unknown", "unknown")
	check(Protocol.decode_server_message("text")["kind"] == "unknown", "not a dictionary")


func test_status_from_close() -> void:
	var s := Protocol.status_from_close(4003, "INVALID_ARGUMENT: unknown genre 'x'")
	check(s["code"] == Protocol.Status.INVALID_ARGUMENT, "4003")
	check(s["message"] == "unknown genre 'x'", "name taken off: " + s["message"])
	check(Protocol.status_text(s) == "INVALID_ARGUMENT: unknown genre 'x'", "status text")
	check(Protocol.status_from_close(1000, "")["code"] == Protocol.Status.OK, "1000 is OK")
	var lost := Protocol.status_from_close(1006, "")
	check(lost["code"] == Protocol.Status.UNAVAILABLE, "1006 is UNAVAILABLE")
	check(lost["message"].find("1006") >= 0, "1006 named")
	check(Protocol.status_from_close(4999, "")["code"] == Protocol.Status.UNKNOWN, "past table")
	check(Protocol.status_from_close(4014, "x")["name"] == "UNAVAILABLE", "name")
	check(Protocol.is_retryable(Protocol.Status.UNAVAILABLE), "UNAVAILABLE retried")
	check(Protocol.is_retryable(Protocol.Status.RESOURCE_EXHAUSTED), "busy retried")
	check(not Protocol.is_retryable(Protocol.Status.INVALID_ARGUMENT), "refusal not retried")
	check(not Protocol.is_retryable(Protocol.Status.FAILED_PRECONDITION), "precondition")
	check(not Protocol.is_retryable(Protocol.Status.OK), "OK not retried")


func test_clock_map_fits_offset_and_drift() -> void:
	var map = ClockMap.new(120)
	check(not map.is_ready(), "not ready empty")
	map.add_sample(5000.0, 1000.0)
	check(not map.is_ready(), "not ready with one reading")
	# An audio clock 20 ppm fast that moves in 10.667 ms steps, read at 60 fps from a stream
	# clock at Unix-time scale.
	var step := 512.0 / 48000.0
	for i in range(1, 300):
		var t := 1.7e9 + i / 60.0
		var audio := 1000.0 + (t - 1.7e9) * (1.0 + 20e-6)
		audio = floor(audio / step) * step
		map.add_sample(t, audio)
	check(map.is_ready() and map.count() == 120, "ready, window full")
	near(map.drift(), 20e-6, 2e-4, "drift")
	var t_end := 1.7e9 + 300 / 60.0
	near(map.to_audio(t_end), 1000.0 + 300 / 60.0 * (1.0 + 20e-6) - step / 2.0, 0.002, "map")
	near(map.to_stream(map.to_audio(t_end)), t_end, 1e-6, "inverse")
	check(map.residual_s() < step, "residual under one step: %s" % map.residual_s())


func test_clock_map_clamps_and_resets() -> void:
	var map = ClockMap.new(10)
	for i in range(10):
		map.add_sample(i * 0.1, i * 0.2)
	near(map.drift(), ClockMap.MAX_DRIFT, 1e-12, "clamped")
	map.reset()
	check(not map.is_ready() and map.count() == 0, "reset")
	map.add_sample(1.0, 1.0)
	map.add_sample(1.0, 2.0)
	check(not map.is_ready(), "same stream time twice: no rate")


# A simulated sound card: 512-frame mixes at 48 kHz on a clock 20 ppm fast; the audio thread
# wakes 0-2 ms after the hardware asks. Returns the readings a frame at now_us would get.
func _device_reading(now_us: int, jitters: Array) -> Array:
	var buffer := 512.0 / 48000.0
	var k := int(floor(now_us * 1e-6 * (1.0 + 20e-6) / buffer))
	var wake_us := 0
	while true:
		var hw := k * buffer / (1.0 + 20e-6)
		wake_us = int(round(hw * 1e6)) + int(jitters[k % jitters.size()])
		if wake_us <= now_us:
			break
		k -= 1
	var since := (now_us - wake_us) * 1e-6
	return [since, buffer - since, k]


func test_audio_clock_counts_mixes() -> void:
	var rng := RandomNumberGenerator.new()
	rng.seed = 3
	var jitters := []
	for _i in range(997):
		jitters.append(rng.randi_range(0, 2000))
	var clock = AudioClock.new()
	var buffer := 512.0 / 48000.0
	var now_us := 2000000
	var first_mix := -1
	for _frame in range(600):
		now_us += 16667 + rng.randi_range(-3000, 3000)
		var r := _device_reading(now_us, jitters)
		clock.sample(now_us, r[0], r[1], 0.02)
		if first_mix < 0:
			first_mix = r[2]
		# The next mix's audio time is the device's own count.
		near(clock.next_mix_s(), (r[2] + 1 - first_mix) * buffer, 1e-9, "next mix")
	check(clock.has_audio and clock.is_ready(), "audio clock ready")
	near(clock.map.drift(), 20e-6, 5e-4, "drift found")
	# A hit meant to be heard at stream time t: its audio time, played back through the
	# device, is heard within a millisecond of t (the mean wake-up delay is the bias).
	for t_ms in [now_us / 1000 + 50, now_us / 1000 + 90]:
		var audio: float = clock.to_audio(t_ms * 1000)
		var mix_k: float = audio / buffer + first_mix
		var heard := mix_k * buffer / (1.0 + 20e-6) + 0.02
		near(heard, t_ms * 1e-3, 0.0015, "heard on time")


func test_audio_clock_without_audio() -> void:
	var clock = AudioClock.new()
	clock.sample(1000000, 0.0, 0.0, 0.0)
	check(not clock.has_audio, "no mix: no audio")
	clock.sample(1016000, 0.0, 0.0, 0.0)
	check(clock.is_ready(), "ready on the stream clock")
	near(clock.to_audio(1100000), 1.1, 1e-9, "identity")
	near(clock.next_mix_s(), 1.016, 1e-9, "now")
	clock.sample(1032000, 0.004, 0.006, 0.01)
	check(clock.has_audio and not clock.is_ready(), "switches to audio, fresh fit")


func _hit(t: int, drum: int = 0) -> Dictionary:
	return {"time_us": t, "drum_class": drum}


func test_hit_scheduler_orders_and_takes_due() -> void:
	var clock = AudioClock.new()
	clock.sample(0, 0.0, 0.0, 0.0)
	var s = HitScheduler.new(0.005)
	var out := []
	s.add(_hit(300000, 1))
	check(s.take_due(clock, 0.0, 1.0, out) == 0, "nothing before the clock is ready")
	clock.sample(16000, 0.0, 0.0, 0.0)
	s.add(_hit(100000, 2))
	s.add(_hit(200000, 3))
	s.add(_hit(100000, 4))
	check(s.pending() == 4, "four waiting")
	check(s.take_due(clock, 0.09, 0.05, out) == 2, "two due within the horizon")
	check(out[0]["hit"]["drum_class"] == 2 and out[1]["hit"]["drum_class"] == 4, "arrival order")
	near(out[0]["delay_s"], 0.01, 1e-9, "delay")
	check(s.take_due(clock, 0.18, 0.05, out) == 1 and out[2]["hit"]["drum_class"] == 3, "third")
	check(s.scheduled == 3 and s.dropped == 0 and s.pending() == 1, "counts")


func test_hit_scheduler_drops_late_and_overflow() -> void:
	var clock = AudioClock.new()
	clock.sample(0, 0.0, 0.0, 0.0)
	clock.sample(16000, 0.0, 0.0, 0.0)
	var s = HitScheduler.new(0.005, 3)
	var out := []
	s.add(_hit(100000))
	s.add(_hit(103000))
	s.add(_hit(200000))
	check(s.take_due(clock, 0.099, 0.05, out) == 0, "both early hits too late to start")
	check(s.dropped == 2 and s.pending() == 1, "dropped late, never played")
	s.add(_hit(300000))
	s.add(_hit(400000))
	s.add(_hit(500000))
	check(s.dropped == 3 and s.pending() == 3, "capacity drops the earliest")
	s.clear()
	check(s.pending() == 0 and s.dropped == 3, "clear keeps counts")


func test_reconnect_policy() -> void:
	var p = ReconnectPolicy.new(0.5, 10.0, 2.0, 0.2, 11)
	var bases := [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
	for b in bases:
		var d: float = p.next_delay_s()
		check(d > b * 0.8 - 1e-9 and d <= b + 1e-9, "delay %s within (%s, %s]" % [d, b * 0.8, b])
	check(p.attempts == bases.size(), "attempts counted")
	for _i in range(100):
		p.next_delay_s()
	check(p.next_delay_s() <= 10.0, "capped after many attempts")
	p.reset()
	check(p.next_delay_s() <= 0.5, "reset")
	var q = ReconnectPolicy.new(0.5, 10.0, 2.0, 0.2, 11)
	var r = ReconnectPolicy.new(0.5, 10.0, 2.0, 0.2, 11)
	check(q.next_delay_s() == r.next_delay_s(), "seeded: the same waits")


func test_source_clock() -> void:
	var c = SourceClock.new()
	check(not c.has_offset() and c.offset_us() == 0, "empty")
	c.add_reading(5000, 1000)
	c.add_reading(5200, 1100)
	c.add_reading(5050, 1030)
	check(c.offset_us() == 4000, "least delayed reading wins")
	for i in range(20):
		c.add_reading(10000 + i, 1000)
	check(c.offset_us() == 9000 + 4, "window forgets old readings: %d" % c.offset_us())
	c.reset()
	check(not c.has_offset(), "reset")


func test_skeleton_packing() -> void:
	var kp := Skeleton.pack_3d([Vector3(0.0, 1.6, 0.1), null, Vector3(NAN, 1.0, 0.0)])
	check(kp.size() == 12, "3 joints x 4")
	check(kp[1] == 1.6 * 1.0 or abs(kp[1] - 1.6) < 1e-6, "y kept")
	check(kp[3] == 1.0 and kp[7] == 0.0 and kp[11] == 0.0, "missing joints confidence 0")
	check(kp[8] == 0.0 and kp[4] == 0.0, "missing joints at the origin")
	var kp2 := Skeleton.pack_2d([Vector2(320, 240), null])
	check(kp2 == [320.0, 240.0, 1.0, 0.0, 0.0, 0.0], "2D")
	check(Skeleton.HUMANOID_BONES.size() == 19 and Skeleton.MIXAMO_BONES.size() == 19, "19")
	check(Skeleton.humanoid_from_coco(9) == 17 and Skeleton.humanoid_from_coco(0) == 10, "map")
	check(Skeleton.humanoid_from_coco(15) == 5 and Skeleton.humanoid_from_coco(17) == -1, "feet")


func _stream() -> Object:
	var s = Stream.new()
	s.socket_script = FakeSocket
	s.url = "ws://127.0.0.1:8765/"
	s.policy = ReconnectPolicy.new(0.5, 10.0, 2.0, 0.2, 5)
	return s


func _statuses(events: Array) -> Array:
	var out := []
	for e in events:
		if e["type"] == "status":
			out.append(e["text"])
	return out


func test_stream_session() -> void:
	var s = _stream()
	s.auth_token = "tok"
	s.settings = {"layout": Protocol.Layout.HEAD_HANDS, "genre": "rock"}
	s.start(0)
	var sock = s._socket
	check(sock.url == "ws://127.0.0.1:8765/ibeat.v1.Ibeat/Session", "path added: " + sock.url)
	check(sock.headers == ["Authorization: Bearer tok"], "bearer header")
	check(s.update(1000).size() == 0 and s.state == Stream.State.CONNECTING, "connecting")
	check(not s.send_frame(1000, [0.0]), "no frames before open")
	sock.state = 1
	var ev: Array = s.update(2000)
	check(s.state == Stream.State.OPEN and _statuses(ev).size() == 1, "open")
	check(sock.sent.size() == 1 and sock.sent[0].begins_with("{\"config\":"), "config first")
	check(parse(sock.sent[0])["config"]["layout"] == "SKELETON_LAYOUT_HEAD_HANDS", "config")
	check(s.send_frame(5000, [0.5]) and s.send_frame(5000, [0.5]), "frames sent")
	var f1 = parse(sock.sent[1])["frame"]
	var f2 = parse(sock.sent[2])["frame"]
	check(f1["timestampUs"] == "5000" and f2["timestampUs"] == "5001", "strictly increasing")
	check(f1["frameId"] == "0" and f2["frameId"] == "1", "frame ids count")
	sock.buffered = 1 << 20
	check(not s.send_frame(6000, [0.5]) and s.frames_skipped == 1, "busy socket skips")
	sock.buffered = 0
	sock.incoming = [
		"{\"accepted\": {\"sessionId\": \"s1\", \"leadTimeUs\": \"100000\"}}",
		"{\"beat\": {\"timeUs\": \"9000\", \"index\": \"0\"}}",
		"{\"hits\": {\"hits\": [{\"timeUs\": \"9000\"}, {\"timeUs\": \"9500\"}]}}",
	]
	ev = s.update(7000)
	check(ev.size() == 4, "status + three messages: %d" % ev.size())
	check(s.accepted["session_id"] == "s1" and s.status_text.find("s1") >= 0, "accepted")
	check(s.beats_received == 1 and s.hits_received == 2, "counted")
	s.end_stream()
	check(sock.sent[sock.sent.size() - 1] == "{\"end\":{}}", "end sent")
	check(not s.send_frame(8000, [0.5]), "no frames after end")
	sock.incoming = ["{\"stats\": {\"final\": true, \"framesReceived\": \"2\"}}"]
	sock.state = 3
	sock.close_code = 1000
	ev = s.update(9000)
	check(s.last_stats["final"] and s.state == Stream.State.ENDED, "ended OK after final stats")
	check(s.last_status["code"] == Protocol.Status.OK, "status OK")


func test_stream_errors_and_retries() -> void:
	var s = _stream()
	s.start(0)
	s._socket.state = 3  # refused before opening
	var ev: Array = s.update(1000)
	check(s.state == Stream.State.WAITING, "unreachable: waiting to retry")
	var text: String = _statuses(ev)[0]
	check(text.find("no ibeat server") >= 0 and text.find("Retrying in") >= 0, text)
	s.update(100000)
	check(s.attempts == 1, "not before the delay")
	s.update(600000)
	check(s.attempts == 2 and s.state == Stream.State.CONNECTING, "retried after the delay")
	s._socket.state = 1
	s.update(610000)
	s._socket.incoming = ["{\"accepted\": {\"sessionId\": \"s2\"}}"]
	s._socket.state = 3
	s._socket.close_code = 4003
	s._socket.close_reason = "INVALID_ARGUMENT: unknown genre 'disco'"
	ev = s.update(620000)
	check(s.state == Stream.State.ENDED, "refusal: not retried")
	check(s.last_status["message"] == "unknown genre 'disco'", "reason kept")
	text = _statuses(ev)[1]
	check(text.find("INVALID_ARGUMENT: unknown genre 'disco'") >= 0, text)
	check(text.find("Not retrying") >= 0, text)
	# Busy server: retried; the wait grows while nothing gets through.
	s.start(700000)
	s._socket.state = 1
	s.update(701000)
	s._socket.state = 3
	s._socket.close_code = 4008
	s._socket.close_reason = "RESOURCE_EXHAUSTED: 4 sessions open"
	s.update(702000)
	check(s.state == Stream.State.WAITING, "busy: retried")
	s._socket = null
	s.stop()
	check(s.state == Stream.State.IDLE, "stopped")
	s.start(800000)
	s._socket.state = 0
	s.update(800000 + 11000000)
	check(s.state == Stream.State.WAITING, "connect timeout: retried")
	check(s.last_status["message"].find("no answer") >= 0, s.last_status["message"])
	s.start(0)
	s._socket.state = 1
	s.update(1000)
	s._socket.incoming = ["not json"]
	s.update(2000)
	check(s.last_status["code"] == Protocol.Status.INTERNAL, "bad JSON ends the stream")


func test_stream_subscribe_maps_source_clock() -> void:
	var s = _stream()
	s.subscribe = true
	s.start(0)
	var sock = s._socket
	check(sock.url.ends_with("/ibeat.v1.Ibeat/Subscribe"), "subscribe path")
	sock.state = 1
	s.update(1000)
	check(sock.sent.size() == 0, "a listener sends nothing")
	check(not s.send_frame(2000, [0.5]), "no frames on Subscribe")
	sock.incoming = ["{\"hits\": {\"hits\": [{\"timeUs\": \"100\"}]}}"]
	s.update(2000)
	check(s.hits_unplaced == 1 and s.hits_received == 0, "no clock reading: not placed")
	sock.incoming = [
		"{\"source\": {\"description\": \"video d.mp4\", \"sourceTimeUs\": \"1000\"}}",
		"{\"hits\": {\"hits\": [{\"timeUs\": \"1500\"}]}}",
	]
	var ev: Array = s.update(50000)
	var hits: Dictionary = ev[ev.size() - 1]["message"]
	check(hits["hits"][0]["time_us"] == 1500 + 49000, "mapped: %d" % hits["hits"][0]["time_us"])
	check(s.status_text.find("video d.mp4") >= 0, "source described")
	sock.incoming = ["{\"restarted\": {\"reason\": \"loop\"}}"]
	s.update(60000)
	sock.incoming = ["{\"hits\": {\"hits\": [{\"timeUs\": \"1500\"}]}}"]
	s.update(61000)
	check(s.hits_unplaced == 2, "a restart forgets the readings")
