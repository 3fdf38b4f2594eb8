"""The executor: one worker process per candidate, measurements interleaved in a seeded random order.

Every candidate gets its own spawned worker (so one cannot warm, pollute or crash another). All
workers are started and loaded first; then static costs, predictions and memory are taken; then the
latency cells (candidate x batch size x repeat) run one at a time in a seeded random order, so drift
on a shared machine does not favour whoever ran first. Idle workers wait on their pipe and use no
CPU. A worker that crashes or does not answer in time is killed and reported as that candidate's
failure; the others go on. Results reach the parent, which alone writes the store (through the
``recorder``).
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import random
import time
from dataclasses import dataclass, field, replace

import numpy as np

from effbench.errors import CandidateError, ConfigError
from effbench.measure.timer import TimingConfig
from effbench.measure.worker import WorkerState, worker_main


DEFAULT_REPEATS = 3
"""Time windows per latency cell: each cell's sampling budget is split into this many repeats,
interleaved in random order with the other cells, so `effbench compare` can test the variation
between windows (docs/protocol.md); 3 is the fewest its repeat-level test accepts."""


@dataclass(frozen=True)
class ExecutionConfig:
    batch_sizes: tuple[int, ...]
    threads: int = 1
    timing: TimingConfig = field(default_factory=TimingConfig)
    isolate: bool = True
    seed: int = 0
    repeats: int = DEFAULT_REPEATS
    startup_timeout_s: float = 120.0
    command_timeout_s: float = 300.0
    energy: dict | None = None          # EnergyConfig as a dict: one energy cell per candidate and batch size

    def __post_init__(self):
        from effbench.validation import Interval, check

        whole = Interval(int, 1, None)
        seconds = Interval(float, 0, None, closed="neither")
        if not self.batch_sizes:
            raise ConfigError("batch_sizes: at least one batch size is required")
        object.__setattr__(self, "batch_sizes", tuple(check("batch_sizes", b, whole) for b in self.batch_sizes))
        for name, constraint in (("threads", whole), ("repeats", whole), ("seed", Interval(int)),
                                 ("startup_timeout_s", seconds), ("command_timeout_s", seconds)):
            object.__setattr__(self, name, check(name, getattr(self, name), constraint))

    def to_dict(self) -> dict:
        return {
            "batch_sizes": list(map(int, self.batch_sizes)),
            "threads": self.threads,
            "timing": self.timing.to_dict(),
            "isolate": self.isolate,
            "seed": self.seed,
            "repeats": self.repeats,
            "energy": self.energy,
        }


class WorkerFailure(Exception):
    """The worker crashed, hung, or could not load its candidate (``detail``: the worker's traceback, if any)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


class ProcessWorker:
    """A spawned process holding one candidate."""

    def __init__(self, candidate, threads: int):
        self.key = candidate.key
        try:
            payload = pickle.dumps(candidate, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - user objects can fail to pickle in many ways
            raise CandidateError(
                f"candidate {candidate.key!r} cannot be sent to a worker process ({type(exc).__name__}: {exc}); "
                "define its model at module level (importable), or run with isolate=False"
            ) from None
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        # The candidate travels over the pipe after the start, not as a process argument: start()
        # then returns at once and all workers boot in parallel.
        self.process = ctx.Process(target=worker_main, args=(child, threads), name=f"effbench-{candidate.key}", daemon=True)
        self.process.start()
        child.close()
        self._payload = payload

    def send_candidate(self):
        try:
            self.conn.send_bytes(self._payload)
        except (BrokenPipeError, OSError):
            raise WorkerFailure(self._death_reason()) from None
        finally:
            self._payload = None

    def _recv(self, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            if self.conn.poll(min(0.5, max(0.0, deadline - time.monotonic()))):
                try:
                    return self.conn.recv()
                except EOFError:
                    raise WorkerFailure(self._death_reason()) from None
            if not self.process.is_alive():
                raise WorkerFailure(self._death_reason())
            if time.monotonic() >= deadline:
                self.kill()
                raise WorkerFailure(f"the worker did not answer within {timeout:.0f} s and was killed")

    def _death_reason(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            import signal

            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"the worker process died (signal {name})"
        return f"the worker process exited unexpectedly (exit code {code})"

    def ready(self, timeout: float) -> dict:
        if self._payload is not None:
            self.send_candidate()
        msg = self._recv(timeout)
        if msg[0] == "error":
            self.kill()
            raise WorkerFailure(msg[1], msg[2] if len(msg) > 2 else "")
        return msg[1]

    def request(self, cmd: tuple, timeout: float):
        try:
            self.conn.send(cmd)
        except (BrokenPipeError, OSError):
            raise WorkerFailure(self._death_reason()) from None
        msg = self._recv(timeout)
        if msg[0] == "error":
            raise CommandError(msg[1], msg[2])
        return msg

    def close(self):
        if self.process.is_alive():
            try:
                self.conn.send(("exit",))
            except (BrokenPipeError, OSError):
                pass
            self.process.join(timeout=5)
        self.kill()

    def kill(self):
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


class InlineWorker:
    """The same commands, run in this process (isolate=False): for models that cannot be pickled."""

    def __init__(self, candidate, threads: int):
        self.key = candidate.key
        self.state = WorkerState(candidate, threads)

    def ready(self, timeout: float) -> dict:
        return {**self.state.ready_info(), "load_time_s": 0.0, "isolated": False}

    def request(self, cmd: tuple, timeout: float):
        try:
            return self.state.handle(cmd)
        except Exception as exc:  # noqa: BLE001
            import traceback

            raise CommandError(f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None

    def close(self):
        pass


class CommandError(Exception):
    """One command failed inside the worker; the worker itself is still alive."""

    def __init__(self, message: str, tb: str = ""):
        super().__init__(message)
        self.traceback = tb


def plan_cells(keys: list[str], batch_sizes, repeats: int, seed: int) -> list[tuple[str, int, int]]:
    """Every (candidate, batch size, repeat) latency cell, in a seeded random order."""
    cells = [(k, int(b), r) for r in range(repeats) for k in keys for b in batch_sizes]
    random.Random(seed).shuffle(cells)
    return cells


def plan_measurements(keys: list[str], batch_sizes, repeats: int, seed: int, energy: bool) -> list[tuple[str, str, int, int]]:
    """(kind, candidate, batch size, repeat) for every latency cell and, with energy, one energy cell per
    candidate and batch size; all in one seeded random order (without energy, :func:`plan_cells`'s order)."""
    cells = [("latency", k, b, r) for k, b, r in plan_cells(keys, batch_sizes, repeats, seed)]
    if energy:
        cells += [("energy", k, int(b), 0) for k in keys for b in batch_sizes]
        random.Random(seed + 1).shuffle(cells)
    return cells


def steps_for(n_candidates: int, config: ExecutionConfig) -> int:
    """Progress steps: load + static + predictions + memory per batch size, then the latency and energy cells."""
    cells = len(config.batch_sizes) * (config.repeats + (1 if config.energy else 0))
    return n_candidates * (3 + len(config.batch_sizes)) + n_candidates * cells


def execute(candidates, X: np.ndarray, config: ExecutionConfig, recorder, progress=lambda n=1, text="": None):
    """Measure every candidate on inputs X; results go to ``recorder`` as they arrive.

    ``recorder`` has: ready(key, info), static(key, dict), predictions(key, labels),
    memory(key, batch_size, dict), latency(key, batch_size, samples, meta), failed(key, reason, detail).
    """
    workers: dict[str, object] = {}
    failed: set[str] = set()

    def fail(key, reason, detail=""):
        failed.add(key)
        w = workers.pop(key, None)
        if w is not None:
            w.close()
        recorder.failed(key, reason, detail)

    try:
        # 1. start every worker, hand each its candidate (they boot and unpickle in parallel), then wait for each
        for c in candidates:
            try:
                workers[c.key] = (ProcessWorker if config.isolate else InlineWorker)(c, config.threads)
            except CandidateError as exc:
                recorder.failed(c.key, str(exc), "")
                failed.add(c.key)
        for key, w in list(workers.items()):
            if isinstance(w, ProcessWorker):
                try:
                    w.send_candidate()
                except WorkerFailure as exc:
                    fail(key, str(exc), exc.detail)
        for c in candidates:
            if c.key in failed:
                progress(1, f"{c.key}: failed")
                continue
            progress(0, f"loading {c.key}")
            try:
                info = workers[c.key].ready(config.startup_timeout_s)
                recorder.ready(c.key, info)
                workers[c.key].request(("data", X), config.command_timeout_s)
            except WorkerFailure as exc:
                fail(c.key, str(exc), exc.detail)
            except CommandError as exc:
                fail(c.key, f"the worker could not take the inputs: {exc}", exc.traceback)
            progress(1, f"loaded {c.key}")

        # 2. memory, static costs, quality
        for c in candidates:
            # memory first, in ascending batch size, before any large call has grown the heap
            steps = [("memory", int(b)) for b in sorted(config.batch_sizes)] + [("static", 8), ("predict",)]
            for cmd in steps:
                if c.key in failed:
                    progress(1)
                    continue
                progress(0, f"{c.key}: {cmd[0]}" + (f" batch {cmd[1]}" if cmd[0] == "memory" else ""))
                try:
                    reply = workers[c.key].request(cmd, config.command_timeout_s)
                except WorkerFailure as exc:
                    fail(c.key, f"{exc} (during {cmd[0]}" + (f" at batch {cmd[1]})" if cmd[0] == "memory" else ")"), exc.detail)
                except CommandError as exc:
                    if cmd[0] == "predict":
                        fail(c.key, f"inference failed: {exc}", exc.traceback)
                    else:
                        recorder.failed_step(c.key, cmd[0], str(exc), exc.traceback)
                else:
                    if cmd[0] == "static":
                        recorder.static(c.key, reply[1])
                    elif cmd[0] == "predict":
                        recorder.predictions(c.key, reply[1])
                    else:
                        recorder.memory(c.key, cmd[1], reply[1])
                progress(1)

        # 3. latency cells, interleaved in a seeded random order
        per_repeat = config.timing
        if config.repeats > 1:
            per_repeat = replace(
                per_repeat,
                max_time_s=per_repeat.max_time_s / config.repeats,
                min_time_s=min(per_repeat.min_time_s, per_repeat.max_time_s / config.repeats),
            )
        keys = [c.key for c in candidates]
        for kind, key, b, rep in plan_measurements(keys, config.batch_sizes, config.repeats, config.seed, bool(config.energy)):
            if key in failed:
                progress(1)
                continue
            if kind == "energy":
                progress(0, f"{key}: energy at batch {b}")
                try:
                    reply = workers[key].request(("energy", b, config.energy), config.command_timeout_s)
                except WorkerFailure as exc:
                    fail(key, f"{exc} (during energy at batch {b})", exc.detail)
                except CommandError as exc:
                    recorder.failed_step(key, f"energy_b{b}", str(exc), exc.traceback)
                else:
                    recorder.energy(key, b, reply[1])
                progress(1)
                continue
            progress(0, f"{key}: latency at batch {b}" + (f" (repeat {rep + 1}/{config.repeats})" if config.repeats > 1 else ""))
            try:
                _, samples, meta = workers[key].request(("latency", b, per_repeat.to_dict()), config.command_timeout_s)
            except WorkerFailure as exc:
                fail(key, f"{exc} (during latency at batch {b})", exc.detail)
            except CommandError as exc:
                fail(key, f"inference failed at batch {b}: {exc}", exc.traceback)
            else:
                recorder.latency(key, b, samples, {**meta, "repeat": rep})
            progress(1)
    finally:
        for w in workers.values():
            w.close()
