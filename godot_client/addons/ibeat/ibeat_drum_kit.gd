class_name IbeatDrumKit
extends Node3D
## Plays the hits of an [IbeatClient] on time, each from an AudioStreamPlayer3D at the joint
## that drove it.
##
## One voice per drum class in class order (kick, snare, closed_hihat, open_hihat, low_tom,
## mid_tom, high_tom, crash, ride): a stream from [member streams] or, where that is empty,
## [code]kit_dir/NAME.wav[/code] as [code]ibeat kit --out DIR[/code] writes them, and a pool
## of [member voices_per_drum] players so that hits of one drum overlap. Volume is
## velocity / 127 x the voice's gain.
##
## On time: Godot cannot start a sound at a given sample, but it can start one part-way in.
## So each WAV is padded with [member pre_roll_s] of silence, and each frame the hits due
## within [member horizon_s] are started now from [code]pre_roll - delay[/code], where delay
## is how far the hit's time (mapped onto the audio clock by [member IbeatClient.audio_clock])
## lies after the next mix: the onset then sounds exactly on time whatever the frame rate. A
## hit less than [member IbeatClient.min_lead_s] ahead is dropped, never played late
## (counted in [member IbeatHitScheduler.dropped]). A voice that cannot be padded (an
## imported WAV compressed as QOA or IMA-ADPCM, an Ogg or MP3) starts at the mix its hit
## falls in: within one mix buffer. Import the kit's WAVs uncompressed (Import dock, Compress
## > Mode: PCM (Disabled)).

## A hit's sound has started: emitted as it is heard, not as it was scheduled.
signal hit_played(event: Dictionary)

const Protocol = preload("core/ibeat_protocol.gd")

## The client whose hits to play.
@export var client: IbeatClient
## Where the kit's WAVs are (ibeat kit --out DIR inside the project).
@export_dir var kit_dir := "res://ibeat_kit"
## A stream per drum class (class order); an empty entry is loaded from kit_dir.
@export var streams: Array[AudioStream] = []
## A gain per drum class (1 when left out).
@export var gains: PackedFloat32Array = PackedFloat32Array()
## Players per drum, so hits of one drum overlap.
@export_range(1, 16) var voices_per_drum := 4
@export var bus: StringName = &"Master"
## true: AudioStreamPlayer3D at the driving joint; false: plain AudioStreamPlayers.
@export var spatial := true
## Leading silence each WAV is padded with [s]; hits start at most this far ahead.
@export_range(0.02, 0.5) var pre_roll_s := 0.1
## How far ahead hits are started [s]: more than one frame plus one mix buffer.
@export_range(0.01, 0.4) var horizon_s := 0.05

## Hits started [count].
var played := 0

var _voices := []
var _waiting := []
var _sounding := []


func _ready() -> void:
	process_priority = 101
	_build_voices()


## Hits dropped because they came too late to start on time [count].
func get_dropped_late() -> int:
	return client.scheduler.dropped if client != null else 0


func _build_voices() -> void:
	for v in _voices:
		for p in v["players"]:
			p.queue_free()
	_voices = []
	for c in range(Protocol.DRUM_CLASSES.size()):
		var stream: AudioStream = streams[c] if c < streams.size() else null
		if stream == null:
			var path := kit_dir.path_join(Protocol.DRUM_CLASSES[c] + ".wav")
			if ResourceLoader.exists(path):
				stream = load(path)
		if stream == null:
			push_warning("IbeatDrumKit: no sound for %s: put ibeat kit's WAVs in %s or set "
				% [Protocol.DRUM_CLASSES[c], kit_dir] + "streams[%d]" % c)
		var padded := _pad(stream)
		var players := []
		for i in range(voices_per_drum):
			var p = AudioStreamPlayer3D.new() if spatial else AudioStreamPlayer.new()
			p.name = "%s_%d" % [Protocol.DRUM_CLASSES[c], i]
			p.bus = bus
			p.stream = padded if padded != null else stream
			add_child(p)
			players.append(p)
		_voices.append({
			"padded": padded != null, "players": players, "next": 0,
			"gain": gains[c] if c < gains.size() else 1.0,
			"pre_roll": _pre_roll_of(padded),
		})


# A copy of a PCM AudioStreamWAV with pre_roll_s of silence in front; null if not PCM.
func _pad(stream: AudioStream) -> AudioStreamWAV:
	var wav := stream as AudioStreamWAV
	if wav == null:
		return null
	var bytes := 0
	if wav.format == AudioStreamWAV.FORMAT_16_BITS:
		bytes = 2
	elif wav.format == AudioStreamWAV.FORMAT_8_BITS:
		bytes = 1
	else:
		push_warning("IbeatDrumKit: %s is compressed, so it starts within one mix buffer of "
			% wav.resource_path + "its time: reimport it with Compress > Mode: PCM")
		return null
	bytes *= 2 if wav.stereo else 1
	var silence := PackedByteArray()
	silence.resize(int(round(pre_roll_s * wav.mix_rate)) * bytes)
	silence.fill(0)
	silence.append_array(wav.data)
	var out := AudioStreamWAV.new()
	out.format = wav.format
	out.mix_rate = wav.mix_rate
	out.stereo = wav.stereo
	out.loop_mode = AudioStreamWAV.LOOP_DISABLED
	out.data = silence
	return out


func _pre_roll_of(padded: AudioStreamWAV) -> float:
	if padded == null:
		return 0.0
	return int(round(pre_roll_s * padded.mix_rate)) / float(padded.mix_rate)


func _process(_delta: float) -> void:
	if client == null or _voices.is_empty():
		return
	var clock = client.audio_clock
	var audio_now: float = clock.next_mix_s()
	var due := []
	client.scheduler.take_due(clock, audio_now, minf(horizon_s, pre_roll_s - 0.01), due)
	for d in due:
		var c := int(d["hit"]["drum_class"])
		if c < 0 or c >= _voices.size():
			continue
		if _voices[c]["padded"]:
			_start(d["hit"], _voices[c]["pre_roll"] - float(d["delay_s"]))
		else:
			_waiting.append(d)
	# Voices without pre-roll: started at the mix their hit falls in.
	var buffer: float = clock.buffer_s if clock.buffer_s > 0.0 else 0.017
	var still := []
	for d in _waiting:
		if float(d["audio_time"]) < audio_now + buffer:
			_start(d["hit"], 0.0)
		else:
			still.append(d)
	_waiting = still
	# Visual: hit_played when the hit is heard (stream clock).
	var now := Time.get_ticks_usec()
	var later := []
	for h in _sounding:
		if int(h["time_us"]) <= now:
			hit_played.emit(h)
		else:
			later.append(h)
	_sounding = later


func _start(hit: Dictionary, from_position: float) -> void:
	var voice: Dictionary = _voices[int(hit["drum_class"])]
	var players: Array = voice["players"]
	var p = players[voice["next"]]
	voice["next"] = (int(voice["next"]) + 1) % players.size()
	var level: float = clampf(float(hit["velocity"]) / 127.0 * float(voice["gain"]), 0.0, 4.0)
	p.volume_db = linear_to_db(maxf(level, 0.0001))
	if spatial:
		if client.hits_carry_world_positions:
			p.global_position = hit["position"]
		else:
			p.position = Vector3.ZERO
	p.play(maxf(from_position, 0.0))
	played += 1
	_sounding.append(hit)
