"""ibeat_models: the trained networks that ship with ibeat, and the small runtime that runs them.

Serving needs only numpy and onnxruntime: every network is exported as a
one-step ONNX graph whose recurrent state is an input and an output, so the
caller owns the state (one per session) and the model object is shared.
"""

__all__ = ["load_networks"]


def load_networks():
    """The shipped networks a :class:`ibeat_core.session.Session` runs, ready to share.

    Returns
    -------
    ibeat_core.session.Networks
        VisBeatNet, MuStyleNet, DrumGenNet (bar-aware, and the paper's) and Mono on
        onnxruntime.
    """
    from ibeat_core.session import Networks

    from .drumgen import DrumGenRuntime
    from .mono import MonoRuntime
    from .mustyle import StyleNetwork
    from .visbeat import VisBeatNetwork

    return Networks(beat=VisBeatNetwork(), style=StyleNetwork(), drumgen=DrumGenRuntime(),
                    mono=MonoRuntime(), drumgen_paper=DrumGenRuntime("drumgen_paper"))
