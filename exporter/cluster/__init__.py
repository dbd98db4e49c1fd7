"""The cluster instance's readers of the Kubernetes API: CoreDNS, its Service and neighbours, sizing.

Importing this package loads nothing heavy: the modules that import the
``kubernetes`` package (``jobs``, ``part``, ``readers``) are imported by the
composition root in cluster mode only.
"""
