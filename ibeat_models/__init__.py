"""ibeat_models: the trained networks that ship with ibeat, and the small runtime that runs them.

Serving needs only numpy and onnxruntime: every network is exported as a
one-step ONNX graph whose recurrent state is an input and an output, so the
caller owns the state (one per session) and the model object is shared.
"""
