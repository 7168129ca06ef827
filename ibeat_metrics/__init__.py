"""ibeat_metrics: plain metric functions for beats and drums (mir_eval style).

:mod:`ibeat_metrics.beats` scores beat times (F-measure, Cemgil, tempo agreement;
mir_eval underneath), :mod:`ibeat_metrics.drums` scores drum patterns (FID,
NDB, next-beat F1, hit statistics). Training validates with them and
``ibeat evaluate`` reports them; the engine never imports them.
"""
