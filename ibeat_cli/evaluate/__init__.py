"""``ibeat evaluate``: tempo, beats and drums scored on a data folder laid out like shared/data.

One module per evaluation: :mod:`~ibeat_cli.evaluate.tempo`,
:mod:`~ibeat_cli.evaluate.beats`, :mod:`~ibeat_cli.evaluate.drums` (pose is
``ibeat_video.pose_eval``).
"""
