"""Signals -> documented causes: pure functions over one snapshot of observations.

The causes themselves, with their rules, are in :mod:`exporter.causes`. Here:
``engine`` (``diagnose``, ``Findings``), ``model`` (``Observations``, ``Finding``),
``draft`` (what a rule returns), ``stats`` (window statistics per server),
``agreement`` (do the upstreams agree) and ``read`` (helpers the rules share).
Import those modules directly: this package imports nothing, so a cause module
can import them without a cycle through the engine, which imports every cause.
"""
