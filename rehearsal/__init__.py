"""Deploy rehearsal: the real CDK CLI deploys, updates and destroys the landing zone on moto.

The modules, by responsibility (``python -m rehearsal`` runs them in order):

- ``server``: the processes the rehearsal starts (``moto_server`` on 127.0.0.1, the CDK CLI),
  bounded and stopped whatever happens, and the boto3 clients and CLI environment bound to moto;
- ``transform``: the one change made to the synthesized templates so moto can deploy them;
- ``lifecycle``: the stacks' lifecycle: synthesize, bootstrap, deploy, update, destroy, and the
  part moto cannot play (custom resource handlers, public parameters, missing delete handlers);
- ``checks``: what the rehearsal asserts and reports after each step;
- ``survivors``: what ``cdk destroy`` may leave behind, and how to ask moto about it;
- ``__main__``: the options and the order of the steps.
"""

from __future__ import annotations

import time


class RehearsalError(Exception):
    """A step or a check failed; the message says which and why."""


class Clock:
    """The rehearsal's output: a step with the seconds since the start, or a detail under it."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def step(self, text: str) -> None:
        print(f"[{self.elapsed():5.1f}s] {text}", flush=True)

    @staticmethod
    def info(text: str) -> None:
        print(f"         {text}", flush=True)
