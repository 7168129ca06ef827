class_name IbeatLimbPulse
extends Node
## Makes the limb behind each hit pulse as its sound plays: the target swells and, where it
## is a MeshInstance3D with a StandardMaterial3D, flashes.
##
## [member targets] are 19 Node3D in humanoid order (IbeatSkeleton.HUMANOID_BONES: Hips ..
## RightHand), e.g. a sphere per bone or a BoneAttachment3D's child; a hit's COCO-17
## [code]joint[/code] is mapped to its humanoid bone (the face points to the Head), so this
## works whatever layout was sent.

const Skeleton = preload("core/ibeat_skeleton.gd")

## The kit whose hits to show.
@export var drum_kit: IbeatDrumKit
## 19 nodes in humanoid order; an empty slot is skipped.
@export var targets: Array[Node3D] = []
## Size at the peak of a pulse, relative to the rest size.
@export_range(1.0, 4.0) var pulse_scale := 1.8
## How long a pulse takes to fade [s].
@export_range(0.05, 2.0) var decay_s := 0.25
@export var flash_color := Color(1.0, 0.55, 0.1)

var _amount := []
var _rest_scale := []
var _rest_color := []


func _ready() -> void:
	if drum_kit != null:
		drum_kit.hit_played.connect(pulse_hit)
	set_targets(targets)


## Sets the 19 targets (and takes their sizes and colours now as the rest ones).
func set_targets(nodes: Array) -> void:
	targets.assign(nodes.duplicate())
	_amount = []
	_rest_scale = []
	_rest_color = []
	for t in targets:
		_amount.append(0.0)
		_rest_scale.append(t.scale if t != null else Vector3.ONE)
		var material := _material(t)
		_rest_color.append(material.albedo_color if material != null else Color.WHITE)


## Pulses the bone behind [param event] (a hit: its COCO-17 "joint").
func pulse_hit(event: Dictionary) -> void:
	pulse_bone(Skeleton.humanoid_from_coco(int(event.get("joint", -1))))


## Pulses humanoid bone [param bone] (0..18).
func pulse_bone(bone: int) -> void:
	if bone >= 0 and bone < _amount.size():
		_amount[bone] = 1.0


func _process(delta: float) -> void:
	var fade := delta / decay_s
	for i in range(_amount.size()):
		var t: Node3D = targets[i]
		if t == null:
			continue
		var a: float = _amount[i]
		if a <= 0.0:
			continue
		a = maxf(0.0, a - fade)
		_amount[i] = a
		t.scale = _rest_scale[i] * (1.0 + (pulse_scale - 1.0) * a)
		var material := _material(t)
		if material != null:
			var rest: Color = _rest_color[i]
			material.albedo_color = rest.lerp(flash_color, a)


func _material(node: Node3D) -> StandardMaterial3D:
	var mesh := node as MeshInstance3D
	if mesh == null:
		return null
	return mesh.material_override as StandardMaterial3D
