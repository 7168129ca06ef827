class_name IbeatArraySource
extends IbeatPoseSource
## Streams whatever joints your script gives, in any layout: call [method set_joint] (3D),
## [method set_joint_2d] (2D) or [method set_keypoints] each frame.
##
## Joint orders: protos/README.md of the ibeat repository, or ServerInfo.layouts. A joint
## never set goes with confidence 0, so any subset of a layout's joints works.

const Skeleton = preload("core/ibeat_skeleton.gd")

## The layout of the joints you set.
@export_enum("COCO17:1", "BLAZEPOSE33:2", "BODY25:3", "COCO17_3D:4", "HUMANOID:5",
	"TRACKED_POINTS:6", "HEAD_HANDS:7") var layout: int = 1:
	set(value):
		layout = value
		clear()
## Coordinates of a 2D layout (a 3D one is metres, Godot's frame).
@export_enum("PIXELS:1", "NORMALIZED:2") var coordinate_space_2d: int = 1

var _keypoints := []
var _any := false


func _init() -> void:
	clear()


func get_layout() -> int:
	return layout


func get_coordinate_space() -> int:
	if Protocol.is_3d(layout):
		return Protocol.CoordinateSpace.METERS
	return coordinate_space_2d


func get_keypoints() -> Array:
	return _keypoints.duplicate() if _any else []


## Joint [param index] of a 3D layout at world [param position] [m].
func set_joint(index: int, position: Vector3, confidence: float = 1.0) -> void:
	_set_values(index, [position.x, position.y, position.z, confidence], 4)


## Joint [param index] of a 2D layout at [param point] (pixels or normalised, y down).
func set_joint_2d(index: int, point: Vector2, confidence: float = 1.0) -> void:
	_set_values(index, [point.x, point.y, confidence], 3)


## Joint [param index] not seen this frame (confidence 0).
func clear_joint(index: int) -> void:
	var n := Protocol.values_per_joint(layout)
	var zeros := []
	zeros.resize(n)
	zeros.fill(0.0)
	_set_values(index, zeros, n)


## The whole frame at once: values_per_joint values for each joint of the layout.
func set_keypoints(values: Array) -> void:
	var n := Protocol.joint_count(layout) * Protocol.values_per_joint(layout)
	if values.size() != n:
		push_error("IbeatArraySource: layout %d takes %d values, got %d" % [
			layout, n, values.size()])
		return
	_keypoints = values.duplicate()
	_any = true


## Every joint unseen: nothing is sent until one is set.
func clear() -> void:
	var n := Protocol.joint_count(layout) * Protocol.values_per_joint(layout)
	_keypoints = []
	_keypoints.resize(n)
	_keypoints.fill(0.0)
	_any = false


func _set_values(index: int, values: Array, per_joint: int) -> void:
	if Protocol.values_per_joint(layout) != per_joint:
		push_error("IbeatArraySource: layout %d is %s" % [
			layout, "3D: use set_joint" if per_joint == 3 else "2D: use set_joint_2d"])
		return
	if index < 0 or index >= Protocol.joint_count(layout):
		push_error("IbeatArraySource: layout %d has no joint %d" % [layout, index])
		return
	# A NaN or infinite coordinate (the server refuses them): the joint is unseen.
	var finite := true
	for i in range(per_joint):
		var v: float = values[i]
		finite = finite and not (is_nan(v) or is_inf(v))
	for i in range(per_joint):
		_keypoints[index * per_joint + i] = values[i] if finite else 0.0
	_any = true
