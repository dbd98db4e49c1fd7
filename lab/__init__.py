"""The loopback lab: real DNS servers playing every hop of a cluster's DNS path."""

from lab.responder import Responder
from lab.servers import LabError, free_port
from lab.topology import Lab

__all__ = ["Lab", "LabError", "Responder", "free_port"]
