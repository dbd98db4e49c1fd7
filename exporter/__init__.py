"""k8s-dns-exporter: probes every hop of the Kubernetes DNS path and names the documented cause."""

from __future__ import annotations

__version__ = "0.1.0"
