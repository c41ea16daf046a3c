"""Local emulators of Salesforce and BigTime, for the demo (``--sandbox``), tests and benchmarks.

No Qt and nothing of the product is imported here: the sandbox is a separate world that speaks
the real services' wire formats.
"""

from .server import Sandbox

__all__ = ["Sandbox"]
