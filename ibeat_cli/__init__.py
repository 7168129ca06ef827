"""ibeat_cli: the top of the package graph, where the pieces are composed into commands.

The ``ibeat`` command line (:mod:`ibeat_cli.main`), ``ibeat render`` for keypoint
clips (:mod:`ibeat_cli.render`), the evaluations behind ``ibeat evaluate``
(:mod:`ibeat_cli.evaluate`) and the benchmarks behind ``ibeat bench``
(:mod:`ibeat_cli.bench`). Nothing below imports this package.
"""
