"""Benchmarks and Locust suites; each prints its figures and saves them under results/.

Every simulated user of a load run comes from one address (loopback), so the limits a
deployment keeps per client address (registrations, open sockets) would measure
themselves instead of the system. The stacks these harnesses start (private_stack, which
passes the environment on to the functions) lift those two; per-user limits, sign-in
backoff and the hashing cap stay as deployed.
"""

from __future__ import annotations

import os

for _name in ("TASKWAVE_REGISTER_BURST", "TASKWAVE_MAX_SOCKETS_PER_ADDRESS"):
    os.environ.setdefault(_name, "1000000")
