extends Node3D
## The add-on's demo: a stick figure of the 19 humanoid bones dances at 110 BPM; a Skeleton3D
## carries the bones, IbeatSkeletonSource streams them to an ibeat server, IbeatDrumKit plays
## the drums that come back at the limb that drove each, and IbeatLimbPulse makes that limb
## swell and flash. No model, camera or VR kit needed: start
## `ibeat-server --port 50051 --ws-port 8765` and press Play (F5).

const Dance = preload("ibeat_demo_dance.gd")
const Skeleton = preload("res://addons/ibeat/core/ibeat_skeleton.gd")

## Tempo of the dance [beats per minute]: change it and hear the drums follow.
@export_range(60.0, 180.0) var bpm := 110.0

var _dance = Dance.new()
var _t := 0.0
var _spheres: Array[MeshInstance3D] = []

@onready var _skeleton: Skeleton3D = $Dancer/Skeleton3D
@onready var _client: IbeatClient = $ibeat
@onready var _kit: IbeatDrumKit = $ibeat/DrumKit
@onready var _pulse: IbeatLimbPulse = $ibeat/LimbPulse
@onready var _hud: Label = $Hud/Label


func _ready() -> void:
	$Camera3D.position = Vector3(0.9, 1.35, 3.0)
	$Camera3D.look_at(Vector3(0.0, 1.0, 0.0))
	$Sun.rotation_degrees = Vector3(-50.0, 30.0, 0.0)
	_build_dancer()
	_pulse.set_targets(_spheres)
	_pose(0.0)


func _build_dancer() -> void:
	var rest: Array = _dance.pose(0.0)
	for i in range(Skeleton.HUMANOID_BONES.size()):
		_skeleton.add_bone(Skeleton.HUMANOID_BONES[i])
		_skeleton.set_bone_rest(i, Transform3D(Basis(), rest[i]))
		var sphere := MeshInstance3D.new()
		var mesh := SphereMesh.new()
		var size := 0.2 if i == 10 else (0.09 if i == 17 or i == 18 else 0.07)
		mesh.radius = size / 2.0
		mesh.height = size
		sphere.mesh = mesh
		var material := StandardMaterial3D.new()
		material.albedo_color = Color(0.75, 0.8, 0.9)
		sphere.material_override = material
		sphere.name = Skeleton.HUMANOID_BONES[i]
		$Dancer.add_child(sphere)
		_spheres.append(sphere)


func _process(delta: float) -> void:
	_t += delta
	_pose(_t)
	_show_status()


# The dance moves the skeleton's bones; the spheres follow them.
func _pose(t: float) -> void:
	_dance.bpm = bpm
	var joints: Array = _dance.pose(t)
	for i in range(joints.size()):
		_skeleton.set_bone_pose_position(i, joints[i])
		_spheres[i].position = joints[i]


func _show_status() -> void:
	var beat := _client.get_last_beat()
	var stats := _client.get_last_stats()
	var lines := PackedStringArray([_client.status_text])
	if not beat.is_empty():
		lines.append("tempo %.0f BPM   beat %d of the bar" % [beat["tempo_bpm"], beat["beat_in_bar"]])
	lines.append("hits received %d   played %d   dropped late %d" % [
		_client.get_hits_received(), _kit.played, _kit.get_dropped_late()])
	if not stats.is_empty():
		lines.append("server latency p50 %.1f ms" % (stats["latency_p50_us"] / 1000.0))
	_hud.text = "\n".join(lines)
