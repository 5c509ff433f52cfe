"""Coffre in Python tests: an ephemeral server (`coffre serve --ephemeral --dev`) and what tests do with it.

`CoffreServer` starts and stops one server and talks to its management API (vaults, time travel, faults); the pytest
fixtures of `pytest_coffre.plugin` use it, and other test runners can too.
"""
from ._server import CoffreServer, Vault, find_binary, pin_localhost

__all__ = ["CoffreServer", "Vault", "find_binary", "pin_localhost"]
