"""Kubernetes API readers (cluster mode) and Corefile analysis.

Importing this package loads nothing heavy: the modules that import the
``kubernetes`` package (api, jobs, leader, readers) are imported by
``wiring`` only in cluster mode.
"""
