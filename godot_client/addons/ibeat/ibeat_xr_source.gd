class_name IbeatXRSource
extends IbeatPoseSource
## Streams an XR headset and two controllers as SKELETON_LAYOUT_HEAD_HANDS (head, left
## hand, right hand) in world metres; the server completes a body from the three points.
##
## Set [member xr_origin] and the XRCamera3D and the XRController3D nodes tracking
## "left_hand" and "right_hand" under it are found, or set [member head],
## [member left_hand] and [member right_hand] yourself (any Node3D works). A controller that
## is not tracking goes with confidence 0.

const Skeleton = preload("core/ibeat_skeleton.gd")

## The XR origin whose camera and controllers to use (when the three below are unset).
@export var xr_origin: XROrigin3D
## The headset (an XRCamera3D).
@export var head: Node3D
## The left controller (an XRController3D).
@export var left_hand: Node3D
## The right controller.
@export var right_hand: Node3D


func _ready() -> void:
	find_nodes()


func get_layout() -> int:
	return Protocol.Layout.HEAD_HANDS


func get_keypoints() -> Array:
	var points := [_tracked(head), _tracked(left_hand), _tracked(right_hand)]
	if points == [null, null, null]:
		return []
	return Skeleton.pack_3d(points)


## Fills the unset nodes from [member xr_origin]'s children.
func find_nodes() -> void:
	if xr_origin == null:
		return
	for child in xr_origin.find_children("*", "Node3D", true, false):
		if head == null and child is XRCamera3D:
			head = child
		elif child is XRController3D:
			var tracker := str(child.tracker)
			if left_hand == null and tracker == "left_hand":
				left_hand = child
			elif right_hand == null and tracker == "right_hand":
				right_hand = child


func _tracked(node: Node3D):
	if node == null or not node.is_inside_tree():
		return null
	if node is XRNode3D and not node.get_is_active():
		return null
	return node.global_position
