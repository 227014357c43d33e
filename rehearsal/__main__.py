"""``python -m rehearsal``: deploy, update, destroy the landing zone on moto with the real CDK CLI.

Offline and loopback only: a ``moto_server`` on 127.0.0.1 (ephemeral port) stands in for AWS,
the pinned CDK CLI talks to it through ``AWS_ENDPOINT_URL`` with fake credentials. Steps:

1. synthesize the default environment twice, in parallel, with the real ``cdk synth``: as it is,
   and with one configuration value changed (a temporary copy of ``app.py`` and ``config/``);
2. transform both assemblies (``rehearsal/transform.py``: the only change made to them) and check
   that moto models every resource type and intrinsic left;
3. ``cdk bootstrap``, ``cdk deploy --all`` of the first assembly; play the part of the
   Lambda-backed ``AwsCustomResource`` calls moto cannot run; check the stacks, the model
   invocation logging configuration and the SSM parameters other teams consume;
4. ``cdk deploy --all`` of the second assembly (the update path) and check the change landed;
5. write data into every retained resource, ``cdk destroy --all --force``, and check that every
   retained resource and its data are still there.

``python -m rehearsal --table`` prints the transformation tables. Exit status: 0 when every check
passes, 1 with ``REHEARSAL FAILED: ...`` otherwise.

This module holds the options and the order of the steps; ``rehearsal/server.py`` the moto
server and the processes, ``rehearsal/lifecycle.py`` the steps, ``rehearsal/checks.py`` the
checks (``rehearsal/__init__.py`` lists every module).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bedrock_landing_zone.config import load_config
from rehearsal import Clock, RehearsalError
from rehearsal.checks import (
    check_invocation_logging,
    check_invocation_logging_off,
    check_max_output_tokens,
    check_moto_coverage,
    check_nothing_else_left,
    check_parameters,
    check_probes,
    check_statuses,
    contract_parameters,
    deployed_resources,
    diff_resources,
    retained_resources,
)
from rehearsal.lifecycle import (
    CDK,
    ENV_NAME,
    Assembly,
    ConfigChange,
    Lifecycle,
    fill_delete_gaps,
    physical_ids,
    provide_public_parameters,
    read_requests,
    replay,
)
from rehearsal.server import ACCOUNT, ROOT, TIMEOUTS, Moto, MotoServer, cli_environment, stop_all
from rehearsal.survivors import inventory, merge_deployed
from rehearsal.transform import markdown_table


class Rehearsal:
    """The steps in order: each a lifecycle step, then its checks."""

    def __init__(self, work: Path, clock: Clock) -> None:
        self.work = work
        self.clock = clock
        self.moto_server = MotoServer(work / "moto.log")
        self.config = load_config(ENV_NAME, ROOT / "config")
        first = self.config.models[0]
        before = first.max_output_tokens
        self.change = ConfigChange(first.alias, before, before // 2)
        self.env = cli_environment(self.moto_server.port, self.config.region, work)
        self.moto = Moto(self.moto_server.port, self.config.region)
        self.lifecycle = Lifecycle(work, self.env, self.change)

    def transform(self, source: Path, name: str) -> Assembly:
        assembly = self.lifecycle.transform(source, name)
        check_moto_coverage(assembly, self.moto_server.modelled())
        return assembly

    def run(self) -> None:
        clock, moto = self.clock, self.moto
        clock.step(f"moto_server on 127.0.0.1:{self.moto_server.port}; synthesizing in parallel")
        self.moto_server.start(self.env)
        try:
            self._run(clock, moto)
        except Exception as exc:
            if not isinstance(exc, RehearsalError):
                traceback.print_exc()
            what = str(exc) if isinstance(exc, RehearsalError) else f"{type(exc).__name__}: {exc}"
            tail = self.moto_server.log_tail()
            raise RehearsalError(f"{what}\n--- moto_server log (tail) ---\n{tail}") from None
        finally:
            self.moto_server.stop()

    def _run(self, clock: Clock, moto: Moto) -> None:
        synth_initial, synth_update, changed_config = self.lifecycle.synthesize(
            meanwhile=lambda: self.moto_server.wait_ready(TIMEOUTS["moto"])
        )
        clock.step(f"synthesized: as configured, and with {self.change.describe()}")

        initial = self.transform(synth_initial, "assembly-initial")
        updated = self.transform(synth_update, "assembly-update")
        clock.step("transformed both assemblies (rehearsal/transform.py); moto models the rest")
        for line in initial.report.lines():
            clock.info(line)
        clock.info(initial.report.summary())
        (self.work / "transform-report.txt").write_text(
            "\n".join(initial.report.details()) + "\n", encoding="utf-8"
        )

        clock.step(f"cdk bootstrap aws://{ACCOUNT}/{self.config.region}")
        self.lifecycle.bootstrap(self.config.region)
        for line in provide_public_parameters(moto, initial.report):
            clock.info(line)
        baseline = inventory(moto)  # what moto holds before the stacks exist

        clock.step("cdk deploy --all (create)")
        self.lifecycle.create(initial)
        check_statuses(clock, moto, initial, {s: {"CREATE_COMPLETE"} for s in initial.order})
        known = {
            (stack, lid): pid
            for stack in initial.order
            for lid, pid in physical_ids(moto("cloudformation"), stack).items()
        }
        created = deployed_resources(moto, initial)
        requests = read_requests(moto, initial)
        for request in requests:
            clock.info(replay(moto, request, "Create"))
        check_invocation_logging(clock, moto, initial, ROOT / "config")
        contract = contract_parameters(ROOT / "config")
        check_parameters(clock, moto, initial, contract)
        check_max_output_tokens(moto, initial, self.change, updated=False)

        clock.step(f"cdk deploy --all (update: {self.change.describe()})")
        for line in diff_resources(initial, updated, self.moto_server.modelled()):
            clock.info(line)
        self.lifecycle.update(updated)
        changed = {s for s in updated.order if initial.templates.get(s) != updated.templates[s]}
        check_statuses(
            clock,
            moto,
            updated,
            {
                s: {"UPDATE_COMPLETE"} if s in changed else {"CREATE_COMPLETE"}
                for s in updated.order
            },
        )
        check_max_output_tokens(moto, updated, self.change, updated=True)
        clock.info(f"the inference function now has max_output_tokens={self.change.after}")
        before = {(r.stack, r.logical_id): r.properties for r in requests}
        requests = read_requests(moto, updated)
        for request in requests:
            if before.get((request.stack, request.logical_id)) != request.properties:
                clock.info(replay(moto, request, "Update"))
        check_invocation_logging(clock, moto, updated, changed_config)
        check_parameters(clock, moto, updated, contract_parameters(changed_config))

        clock.step("writing data into every retained resource")
        retained = retained_resources(moto, updated, known)
        for resource in retained:
            resource.write(moto)
            clock.info(f"{resource.stack} {resource.logical_id} ({resource.resource_type})")

        current = deployed_resources(moto, updated)
        deployed = merge_deployed(created, current)
        check_probes(deployed)

        clock.step("cdk destroy --all --force")
        fill_delete_gaps(clock, moto, current)
        self.lifecycle.destroy(updated)
        check_statuses(
            clock, moto, updated, {s: {"(gone)", "DELETE_COMPLETE"} for s in updated.order}
        )
        for request in requests:
            clock.info(replay(moto, request, "Delete"))
        check_invocation_logging_off(clock, moto, enabled=self.config.invocation_logging.enabled)

        clock.step("checking that nothing retained was lost")
        for resource in retained:
            clock.info(f"kept: {resource.check(moto)}")

        clock.step("checking that nothing else outlived its stack")
        check_nothing_else_left(clock, moto, deployed, updated, baseline, self.config.region)
        clock.info(updated.report.summary())


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__.split("\n")[0])
    parser.add_argument("--table", action="store_true", help="print the transformation tables")
    parser.add_argument("--keep", type=Path, help="work in this new directory and keep it")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
        return 0
    if args.keep and args.keep.exists():
        parser.error(f"--keep {args.keep}: choose a directory that does not exist yet")
    if not CDK.exists():
        print(f"REHEARSAL FAILED: {CDK} is missing: run `make setup`", file=sys.stderr)
        return 1
    clock = Clock()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.keep:
            args.keep.mkdir(parents=True)
            Rehearsal(args.keep.resolve(), clock).run()
        else:
            with tempfile.TemporaryDirectory(prefix="rehearsal-") as tmp:
                Rehearsal(Path(tmp), clock).run()
    except RehearsalError as exc:
        print(f"\nREHEARSAL FAILED after {clock.elapsed():.1f} s: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        print(f"\nREHEARSAL INTERRUPTED after {clock.elapsed():.1f} s", file=sys.stderr)
        raise
    finally:
        stop_all()
        signal.signal(signal.SIGTERM, previous)
    print(f"\nrehearsal passed in {clock.elapsed():.1f} s (wall time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
