@tool
extends EditorPlugin
## The ibeat add-on. Its nodes (IbeatClient, IbeatSkeletonSource, IbeatXRSource,
## IbeatArraySource, IbeatDrumKit, IbeatLimbPulse) register themselves with class_name, so
## enabling the plugin only marks the add-on as in use; nothing is added to the editor.


func _enter_tree() -> void:
	pass


func _exit_tree() -> void:
	pass
