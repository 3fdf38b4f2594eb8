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

from effbench.errors import CandidateError, ConfigError, DataError
from effbench.measure.timer import TimingConfig
from effbench.measure.bootstrap import worker_main
from effbench.measure.inputs import n_rows
from effbench.measure.worker import WorkerState


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
    startup_timeout_s: float = 120.0   # starting a worker and loading its candidate
    command_timeout_s: float | None = None   # every later command; None: scaled with its work (see Timeouts)
    energy: dict | None = None          # EnergyConfig as a dict: one energy cell per candidate and batch size
    quality: bool = True                # predict and score; False for a cost-only run (a task without labels)
    executor: str = "local"             # "local" (worker processes here) or "ray" (effbench.executors.ray; docs/fleet.md)
    address: str | None = None          # ray: "auto" or HOST:PORT of the cluster; None starts a one-node Ray here
    hardware: str | None = None         # ray: only nodes with this label (effbench-hardware=LABEL)
    predict: str = "labels"             # what the worker returns to score: "labels", "outputs" (regression) or "both" (top-k)

    def __post_init__(self):
        from effbench.validation import Interval, Options, check

        whole = Interval(int, 1, None)
        seconds = Interval(float, 0, None, closed="neither")
        if not self.batch_sizes:
            raise ConfigError("batch_sizes: at least one batch size is required")
        object.__setattr__(self, "batch_sizes", tuple(check("batch_sizes", b, whole) for b in self.batch_sizes))
        check("predict", self.predict, Options({"labels", "outputs", "both"}))
        for name, constraint in (("threads", whole), ("repeats", whole), ("seed", Interval(int)),
                                 ("startup_timeout_s", seconds), ("command_timeout_s", (seconds, None))):
            constraints = constraint if isinstance(constraint, tuple) else (constraint,)
            object.__setattr__(self, name, check(name, getattr(self, name), *constraints))
        from effbench.validation import Options, validate_name

        check("executor", self.executor, Options({"local", "ray"}))
        if self.executor == "local" and (self.address is not None or self.hardware is not None):
            raise ConfigError("address, hardware: apply to executor 'ray' only; the executor is 'local'")
        if self.hardware is not None:
            validate_name(self.hardware, "hardware")
        if self.address is not None and not isinstance(self.address, str):
            raise ConfigError(f"address: expected 'auto' or 'HOST:PORT', got {self.address!r}")

    def to_dict(self) -> dict:
        return {
            "batch_sizes": list(map(int, self.batch_sizes)),
            "threads": self.threads,
            "timing": self.timing.to_dict(),
            "isolate": self.isolate,
            "seed": self.seed,
            "repeats": self.repeats,
            "energy": self.energy,
            "startup_timeout_s": self.startup_timeout_s,
            "command_timeout_s": self.command_timeout_s,
            "quality": self.quality,
            "predict": self.predict,
            **({"executor": self.executor, "address": self.address, "hardware": self.hardware} if self.executor != "local" else {}),
        }


class WorkerFailure(Exception):
    """The worker crashed, hung, or could not load its candidate (``detail``: the worker's traceback, if any;
    ``timed_out``: it did not answer in time and was killed)."""

    def __init__(self, message: str, detail: str = "", timed_out: bool = False):
        super().__init__(message)
        self.detail = detail
        self.timed_out = timed_out


def candidate_payload(candidate, where: str = "a worker process",
                      hint: str = "define its model at module level (importable), or run with isolate=False") -> bytes:
    """The pickled candidate a worker loads; CandidateError (that candidate fails alone) when it cannot be pickled."""
    try:
        return pickle.dumps(candidate, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - user objects can fail to pickle in many ways
        raise CandidateError(f"candidate {candidate.key!r} cannot be sent to {where} ({type(exc).__name__}: {exc}); {hint}") from None


class ProcessWorker:
    """A spawned process holding one candidate."""

    def __init__(self, candidate, threads: int):
        self.key = candidate.key
        payload = candidate_payload(candidate)
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
                raise WorkerFailure(f"the worker did not answer within {timeout:.3g} s and was killed", timed_out=True)

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

    def ask_exit(self):
        if self.process.is_alive():
            try:
                self.conn.send(("exit",))
            except (BrokenPipeError, OSError):
                pass

    def close(self):
        self.ask_exit()
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
    """Progress steps: load + static + predictions (with quality) + memory per batch size, then the latency and
    energy cells."""
    cells = len(config.batch_sizes) * (config.repeats + (1 if config.energy else 0))
    return n_candidates * (2 + config.quality + len(config.batch_sizes)) + n_candidates * cells


def per_window_timing(config: ExecutionConfig) -> TimingConfig:
    """The timing of one time window: the cell's sampling budget split between its repeats."""
    t = config.timing
    if config.repeats <= 1:
        return t
    return replace(t, max_time_s=t.max_time_s / config.repeats, min_time_s=min(t.min_time_s, t.max_time_s / config.repeats))


class Timeouts:
    """How long the parent waits for each command before it calls the worker hung and kills it.

    ``command_timeout_s`` given: that, for every command. Otherwise the wait scales with the work:
    ``BASE_S`` plus ``MARGIN`` times what the command should take. A latency or energy cell should
    take its time budget (the window's ``max_time_s`` and warm-up; an energy window twice its minimum,
    at least 1 s) plus its least number of calls (``min_samples`` and the warm-up calls; 3 for energy)
    at the time one call took at that batch size, measured by
    the memory step before; predictions on the whole test split the time of one call at the largest
    measured batch size per batch. Before any call was timed, ``FIRST_CALL_S`` stands in.
    """

    BASE_S = 30.0
    MARGIN = 5.0
    FIRST_CALL_S = 60.0

    def __init__(self, config: ExecutionConfig, n_inputs: int):
        self.config, self.n_inputs = config, n_inputs
        self.call_s: dict[str, dict[int, float]] = {}

    def observed(self, key: str, batch_size: int, seconds: float) -> None:
        self.call_s.setdefault(key, {})[batch_size] = seconds

    def _scaled(self, expected_s: float) -> float:
        return self.BASE_S + self.MARGIN * expected_s

    def for_command(self, key: str, cmd: tuple) -> float:
        if self.config.command_timeout_s is not None:
            return self.config.command_timeout_s
        calls = self.call_s.get(key, {})
        op = cmd[0]
        if op in ("latency", "energy"):
            one = calls.get(int(cmd[1]), self.FIRST_CALL_S)
            t = per_window_timing(self.config).to_dict() if op == "latency" else {}
            budget = t.get("max_time_s", 0.0) + t.get("warmup_s", 0.0)
            least = t.get("min_samples", 1) + t.get("warmup_calls", 0)
            if op == "energy":  # the window grows by doubling past its minimum, which a slow counter lifts to 1 s
                budget, least = 2.0 * max(float((self.config.energy or {}).get("min_window_s", 1.0)), 1.0), 3
            return self._scaled(budget + least * one)
        if op == "predict" and calls:
            b = max(calls)
            return self._scaled(calls[b] * -(-self.n_inputs // b))
        return self._scaled(self.FIRST_CALL_S)

    def describe(self, key: str, cmd: tuple) -> str:
        if self.config.command_timeout_s is not None:
            return "the timeout set"
        return f"{self.BASE_S:.0f} s + {self.MARGIN:.0f} x the work expected"


class NothingDone:
    """What a fresh run has measured already: nothing. A resumed run passes what its store holds
    (:class:`effbench.runs.latency.MeasuredAlready`), and only the rest is measured."""

    def step(self, key: str, op: str, batch_size: int | None = None) -> bool:
        return False

    def cell(self, kind: str, key: str, batch_size: int) -> bool:
        return False


class _Execution:
    """One execution: the workers, the candidates that failed, and the phases in their order."""

    def __init__(self, candidates, X, config: ExecutionConfig, recorder, progress, done=None, worker_cls=None):
        self.candidates, self.X, self.config = candidates, X, config
        self.worker_cls = worker_cls  # None: a local process (or this process, isolate=False); the Ray executor passes its own
        self.recorder, self.progress = recorder, progress
        self.done = done or NothingDone()
        self.workers: dict[str, object] = {}
        self.failed: set[str] = set()
        self.timeouts = Timeouts(config, n_rows(X))

    def fail(self, key, reason, detail=""):
        self.failed.add(key)
        w = self.workers.pop(key, None)
        if w is not None:
            w.close()
        self.recorder.failed(key, reason, detail)

    def request(self, key, cmd, during: str):
        """The worker's reply, or None when it failed; a dead or hung worker fails its candidate."""
        timeout = self.timeouts.for_command(key, cmd)
        t0 = time.monotonic()
        try:
            reply = self.workers[key].request(cmd, timeout)
        except WorkerFailure as exc:
            hung = f"; the wait was {self.timeouts.describe(key, cmd)}" if exc.timed_out else ""
            self.fail(key, f"{exc} (during {during}{hung})", exc.detail)
            return None
        if cmd[0] == "memory":  # one call at this batch size: what later waits scale with
            self.timeouts.observed(key, int(cmd[1]), time.monotonic() - t0)
        return reply

    # 1. start every worker, hand each its candidate (they boot and unpickle in parallel), then wait for each
    def start(self):
        worker_cls = self.worker_cls or (ProcessWorker if self.config.isolate else InlineWorker)
        for c in self.candidates:
            try:
                self.workers[c.key] = worker_cls(c, self.config.threads)
            except CandidateError as exc:
                self.recorder.failed(c.key, str(exc), "")
                self.failed.add(c.key)
        for key, w in list(self.workers.items()):
            if isinstance(w, ProcessWorker):
                try:
                    w.send_candidate()
                except WorkerFailure as exc:
                    self.fail(key, str(exc), exc.detail)
        for c in self.candidates:
            if c.key in self.failed:
                self.progress(1, f"{c.key}: failed")
                continue
            self.progress(0, f"loading {c.key}")
            self._load(c.key)
            self.progress(1, f"loaded {c.key}")

    def _load(self, key):
        try:
            info = self.workers[key].ready(self.config.startup_timeout_s)
            self.recorder.ready(key, info)
            self.workers[key].request(("data", self.X), self.timeouts.for_command(key, ("data",)))
        except WorkerFailure as exc:
            self.fail(key, str(exc), exc.detail)
        except CommandError as exc:
            self.fail(key, f"the worker could not take the inputs: {exc}", exc.traceback)

    # 2. memory (first, in ascending batch size, before any large call has grown the heap), static costs, quality
    #    (no predictions in a cost-only run: there are no labels to score them on)
    def static_phase(self):
        for c in self.candidates:
            steps = [("memory", int(b)) for b in sorted(self.config.batch_sizes)] + [("static", 8)]
            steps += [("predict", self.config.predict)] if self.config.quality else []
            for cmd in steps:
                if c.key not in self.failed and not self.done.step(c.key, cmd[0], cmd[1] if cmd[0] == "memory" else None):
                    self.progress(0, f"{c.key}: {cmd[0]}" + (f" batch {cmd[1]}" if cmd[0] == "memory" else ""))
                    self._static_step(c.key, cmd)
                self.progress(1)

    def _static_step(self, key, cmd):
        during = cmd[0] + (f" at batch {cmd[1]}" if cmd[0] == "memory" else "")
        try:
            reply = self.request(key, cmd, during)
        except CommandError as exc:
            if cmd[0] == "predict":
                self.fail(key, f"inference failed: {exc}", exc.traceback)
            else:
                self.recorder.failed_step(key, cmd[0], str(exc), exc.traceback)
            return
        if reply is None:
            return
        if cmd[0] == "static":
            self.recorder.static(key, reply[1])
        elif cmd[0] == "predict":
            try:
                self.recorder.predictions(key, reply[1], reply[2])
            except DataError as exc:  # scored here, in the parent: a bad answer fails its candidate alone
                self.fail(key, f"unusable predictions: {exc}")
        else:
            self.recorder.memory(key, cmd[1], reply[1])

    # 3. latency and energy cells, interleaved in a seeded random order
    def cells_phase(self):
        cfg = self.config
        window = per_window_timing(cfg).to_dict()
        keys = [c.key for c in self.candidates]
        for kind, key, b, rep in plan_measurements(keys, cfg.batch_sizes, cfg.repeats, cfg.seed, bool(cfg.energy)):
            if key not in self.failed and not self.done.cell(kind, key, b):
                if kind == "energy":
                    self._energy_cell(key, b)
                else:
                    self._latency_cell(key, b, rep, window)
            self.progress(1)

    def _energy_cell(self, key, b):
        self.progress(0, f"{key}: energy at batch {b}")
        try:
            reply = self.request(key, ("energy", b, self.config.energy), f"energy at batch {b}")
        except CommandError as exc:
            self.recorder.failed_step(key, f"energy_b{b}", str(exc), exc.traceback)
            return
        if reply is not None:
            self.recorder.energy(key, b, reply[1])

    def _latency_cell(self, key, b, rep, window: dict):
        repeats = self.config.repeats
        self.progress(0, f"{key}: latency at batch {b}" + (f" (repeat {rep + 1}/{repeats})" if repeats > 1 else ""))
        try:
            reply = self.request(key, ("latency", b, window), f"latency at batch {b}")
        except CommandError as exc:
            self.fail(key, f"inference failed at batch {b}: {exc}", exc.traceback)
            return
        if reply is not None:
            _, samples, meta = reply
            self.recorder.latency(key, b, samples, {**meta, "repeat": rep})

    def close(self, interrupted: bool = False):
        close_workers(list(self.workers.values()), kill=interrupted)


def close_workers(workers, *, kill: bool = False, grace_s: float = 2.0) -> None:
    """Ask every worker to exit, then wait for all of them together (at most ``grace_s``) and kill
    what is left; with ``kill`` (Ctrl-C), kill at once: a worker busy in a cell would finish it first."""
    procs = [w for w in workers if isinstance(w, ProcessWorker)]
    for w in workers:
        if not isinstance(w, ProcessWorker):
            w.close()
    if not kill:
        for w in procs:
            w.ask_exit()
        deadline = time.monotonic() + grace_s
        for w in procs:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in procs:
        w.kill()


def execute(candidates, X, config: ExecutionConfig, recorder, progress=lambda n=1, text="": None, done=None):
    """Measure every candidate on inputs X (an array, or a dict of named arrays with one row per
    example each); results go to ``recorder`` as they arrive.

    ``recorder`` has: ready(key, info), static(key, dict), predictions(key, labels, outputs),
    memory(key, batch_size, dict), latency(key, batch_size, samples, meta), energy(key, batch_size, dict),
    failed(key, reason, detail), failed_step(key, step, reason, detail)
    (:class:`effbench.runs.recorder.Recorder`). ``done``: what is measured already (a resumed run);
    those steps and cells are skipped (each still counts one progress step).
    """
    run = _Execution(candidates, X, config, recorder, progress, done)
    interrupted = True
    try:
        run.start()
        run.static_phase()
        run.cells_phase()
        interrupted = False
    finally:
        run.close(interrupted=interrupted)
