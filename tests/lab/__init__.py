"""The loopback lab: real DNS servers playing every hop of a cluster's DNS path."""

from tests.lab.responder import Responder
from tests.lab.servers import LabError, free_port
from tests.lab.topology import Lab

__all__ = ["Lab", "LabError", "Responder", "free_port"]
