class_name IbeatPoseSource
extends Node
## A body for [IbeatClient] to stream: what layout it is in, and its keypoints now.
##
## Use [IbeatSkeletonSource] (a Skeleton3D's bones), [IbeatXRSource] (an XR headset and
## controllers) or [IbeatArraySource] (any joints your script has), or extend this and
## override [method get_layout] and [method get_keypoints].

const Protocol = preload("core/ibeat_protocol.gd")


## The layout sent (an [enum IbeatProtocol.Layout] value).
func get_layout() -> int:
	return Protocol.Layout.COCO17


## The coordinate space sent (an [enum IbeatProtocol.CoordinateSpace] value): metres for a
## 3D layout, pixels for a 2D one.
func get_coordinate_space() -> int:
	if Protocol.is_3d(get_layout()):
		return Protocol.CoordinateSpace.METERS
	return Protocol.CoordinateSpace.PIXELS


## The keypoints now, flat: [x, y, z, confidence] per joint of a 3D layout (world
## coordinates, Godot's frame), [x, y, confidence] of a 2D one; an empty Array when there is
## no body to send this frame.
func get_keypoints() -> Array:
	return []


## True when the keypoints are world positions, so a hit's position is where its sound goes.
func carries_world_positions() -> bool:
	return Protocol.is_3d(get_layout())
