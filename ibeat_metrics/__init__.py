"""ibeat_metrics: plain metric functions for beats and drums (mir_eval style).

:mod:`ibeat_metrics.beats` scores beat times (F-measure, Cemgil, tempo agreement;
mir_eval underneath), :mod:`ibeat_metrics.drums` scores drum patterns (FID,
NDB, next-beat F1, hit statistics), :mod:`ibeat_metrics.following` scores how
scheduled beats follow the body (continuity, coverage, tempo agreement, lock,
stillness, first drums, chance levels). Training validates with them and
``ibeat evaluate`` reports them; the engine never imports them.
"""
