"""Demo data: ``machikoba seed --demo``."""

from server.demo.seed import DEMO_COORDINATOR_EMAIL, DEMO_PASSWORD, seed_demo

__all__ = ["DEMO_COORDINATOR_EMAIL", "DEMO_PASSWORD", "seed_demo"]
