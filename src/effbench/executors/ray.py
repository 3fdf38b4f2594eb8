"""The Ray executor: each candidate's worker runs on a node of a Ray cluster (docs/fleet.md).

Each candidate gets its own Ray actor (a fresh worker process on some node) which holds the custom
resource ``effbench_slot`` for its whole life; every node offers one slot, so two candidates never share
a node while timed, and candidates run in parallel across nodes. ``hardware`` restricts the study to
nodes started with the Ray node label ``effbench-hardware=<label>``.

The measurement itself is the local executor's: one :class:`effbench.executor._Execution` per
candidate (the same phases, timeouts, failure handling and seeded order of its cells) drives a
:class:`RayWorker` instead of a local process, in a thread of its own. Those threads never write:
every recorder and progress call is handed to the driver's main thread (:class:`_MainThread`), which
alone writes the store, as results arrive. A node lost mid-run fails its candidate with the reason;
the others go on.
"""

from __future__ import annotations

import os
import pickle
import queue
import socket
import threading
import time
import traceback
import warnings
from concurrent.futures import Future

from effbench.errors import ConfigError
from effbench.executor import CommandError, ExecutionConfig, WorkerFailure, _Execution, candidate_payload
from effbench.measure.bootstrap import THREAD_ENV

SLOT = "effbench_slot"
"""The custom resource every effbench node offers once (``ray start --resources '{"effbench_slot": 1}'``)."""
LABEL = "effbench-hardware"
"""The Ray node label naming a node's hardware (``ray start --labels effbench-hardware=LABEL``)."""
ADDRESS_TIMEOUT_S = 5.0
"""How long an address may take to accept a connection before it is called dead."""
JOIN_S = 10.0
"""How long an interrupted run waits for its candidates' threads (after their actors were killed)."""

_owned = False  # this module started the Ray connection (and ends it after the run)


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("executor 'ray' needs Ray, which is not installed: pip install 'effbench[ray]'") from None
    return ray


def _check_address(address: str, source: str = "--address") -> str:
    """HOST:PORT of a Ray cluster that accepts connections within ADDRESS_TIMEOUT_S; 'auto': the one this
    machine runs (``ray start`` on it), else its RAY_ADDRESS."""
    given = address
    if address == "auto":
        from ray._private.services import canonicalize_bootstrap_address

        try:
            address = canonicalize_bootstrap_address("auto")
        except ConnectionError:
            address = None
        if not address:
            raise ConfigError(f"{source} auto: no Ray cluster runs on this machine (start one with 'ray start --head', "
                              "or give --address HOST:PORT)")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{source}: expected auto or HOST:PORT (a port from 1 to 65535), got {given!r}")
    try:
        socket.create_connection((host, int(port)), timeout=ADDRESS_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"{source} {given}: no Ray cluster answers at {address} within {ADDRESS_TIMEOUT_S:.0f} s "
                          f"({exc.strerror or type(exc).__name__})") from None
    return address


def connect(config: ExecutionConfig) -> list[dict]:
    """Connect to the cluster (unless this process already is) and return the live nodes the study may use.

    No ``address``: $RAY_ADDRESS if set, else a one-node Ray on this machine with one slot. Raises ConfigError (one line) for an
    address that does not answer, a cluster without slots, or a hardware label no node has.
    """
    global _owned
    ray = _ray()
    if config.isolate is False:
        raise ConfigError("isolate: the Ray executor runs every candidate in a worker process of its own; isolate=False is not allowed with it")
    if not ray.is_initialized():
        kwargs = dict(logging_level="WARNING", log_to_driver=False, configure_logging=True)
        address = config.address or os.environ.get("RAY_ADDRESS")  # ray.init() would join RAY_ADDRESS too
        if address is None:
            ray.init(resources={SLOT: 1}, include_dashboard=False, **kwargs)
        else:
            ray.init(address=_check_address(address, "--address" if config.address else "RAY_ADDRESS"), **kwargs)
        _owned = True
    try:
        return usable_nodes(ray, config.hardware)
    except ConfigError:
        disconnect()
        raise


def disconnect() -> None:
    """End the connection if :func:`connect` started it."""
    global _owned
    if _owned:
        _ray().shutdown()
        _owned = False


def usable_nodes(ray, hardware: str | None) -> list[dict]:
    """The live nodes offering a slot (with ``hardware``: only those with that label); ConfigError if none."""
    alive = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get(SLOT, 0) >= 1]
    if not alive:
        raise ConfigError(f"executor 'ray': no live node of the cluster offers the {SLOT!r} resource; start each node with "
                          f"ray start ... --resources '{{\"{SLOT}\": 1}}' (docs/fleet.md)")
    if hardware is None:
        return alive
    nodes = [n for n in alive if (n.get("Labels") or {}).get(LABEL) == hardware]
    if not nodes:
        labels = sorted({(n.get("Labels") or {}).get(LABEL) for n in alive} - {None})
        raise ConfigError(f"--hardware: no live Ray node has the label {LABEL}={hardware}; the labels there: "
                          f"{', '.join(labels) if labels else 'none'} (ray start ... --labels {LABEL}=LABEL)")
    return nodes


class NodeWorker:
    """The Ray actor: one candidate on one node (what :func:`effbench.measure.bootstrap.worker_main` does in a
    local worker process). Every reply comes with the node's clock at the start and end of the command."""

    def __init__(self, payload: bytes, threads: int):
        for name in THREAD_ENV:
            os.environ[name] = str(threads)
        self.threads, self.state, self.error = threads, None, None
        try:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                warnings.simplefilter("ignore", category=DeprecationWarning)
                candidate = pickle.loads(payload)
            self.load_time_s = time.perf_counter() - t0
            from effbench.measure.worker import WorkerState

            self.state = WorkerState(candidate, threads)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver by ready()
            self.error = ("error", f"could not load the candidate: {type(exc).__name__}: {exc}", traceback.format_exc())

    def ready(self):
        if self.error is not None:
            return self.error
        return ("ready", {**self.state.ready_info(), "load_time_s": self.load_time_s, "isolated": True}, self.describe())

    def describe(self) -> dict:
        import platform

        import ray

        from effbench.candidates.registry import library_names
        from effbench.measure.environment import collect_environment

        labels = ray.get_runtime_context().get_node_labels() or {}
        hardware = labels.get(LABEL)
        return {
            "hostname": platform.node(),
            "node_id": ray.get_runtime_context().get_node_id(),
            "hardware": hardware[0] if isinstance(hardware, list) else hardware,
            "environment": collect_environment(self.threads, backend_libraries=library_names()),
        }

    def handle(self, cmd: tuple):
        start = time.time()
        try:
            reply = self.state.handle(cmd)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver, the worker goes on
            reply = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        return reply, (start, time.time())


class RayWorker:
    """A candidate's :class:`NodeWorker` on some node, behind the local workers' interface
    (``ready``, ``request``, ``close``), so :class:`effbench.executor._Execution` drives it unchanged."""

    def __init__(self, candidate, threads: int, *, hardware: str | None = None):
        ray = _ray()
        self.key = candidate.key
        payload = candidate_payload(candidate, "a Ray node", "define its model at module level (importable on every node)")
        options = dict(resources={SLOT: 1}, num_cpus=0, max_restarts=0, max_task_retries=0,
                       name=None, runtime_env={"env_vars": {name: str(threads) for name in THREAD_ENV}})
        if hardware is not None:
            options["label_selector"] = {LABEL: hardware}
        self.actor = ray.remote(NodeWorker).options(**options).remote(payload, threads)
        self.node: dict | None = None
        self.window: list[float] = []  # the node's clock: first command's start, last command's end

    def _get(self, ref, timeout: float):
        ray = _ray()
        from ray.exceptions import GetTimeoutError, RayActorError

        try:
            return ray.get(ref, timeout=timeout)
        except GetTimeoutError:
            self.kill()
            raise WorkerFailure(f"the worker did not answer within {timeout:.3g} s and was killed", timed_out=True) from None
        except RayActorError as exc:
            raise WorkerFailure(self._death_reason(exc)) from None

    def _death_reason(self, exc) -> str:
        if self.node is not None:
            node_id = self.node["node_id"]
            alive = {n["NodeID"]: n.get("Alive") for n in _ray().nodes()}
            where = f"Ray node {node_id[:12]} ({self.node['hostname']})"
            if not alive.get(node_id):
                return f"the {where} was lost"
            return f"the worker on the {where} died ({type(exc).__name__})"
        return f"the worker died before it started on a node ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"

    def ready(self, timeout: float) -> dict:
        msg = self._get(self.actor.ready.remote(), timeout)
        if msg[0] == "error":
            self.kill()
            raise WorkerFailure(msg[1], msg[2])
        resources = {n["NodeID"]: n.get("Resources", {}) for n in _ray().nodes()}.get(msg[2]["node_id"], {})
        self.node = {**msg[2], "ray_resources": {k: v for k, v in resources.items() if k in ("CPU", "GPU", SLOT)}}
        return {**msg[1], "node": self.node}

    def request(self, cmd: tuple, timeout: float):
        msg, (start, end) = self._get(self.actor.handle.remote(cmd), timeout)
        self.window = [self.window[0] if self.window else start, end]
        if msg[0] == "error":
            raise CommandError(msg[1], msg[2])
        return msg

    def close(self):
        self.kill()

    def kill(self):
        actor, self.actor = self.actor, None  # the main thread may kill it too (Ctrl-C)
        if actor is not None:
            _ray().kill(actor, no_restart=True)


class _Stopped(Exception):
    """The run was interrupted: a candidate's thread stops where it is."""


class _MainThread:
    """Runs the calls of the candidates' threads in the main thread (the store's connection lives there)
    and hands each its result or exception."""

    def __init__(self):
        self.calls: queue.Queue = queue.Queue()
        self.stopped = False
        self.lock = threading.Lock()  # no call is queued after stop() has answered those waiting

    def call(self, fn, *args):
        future: Future = Future()
        with self.lock:
            if self.stopped:
                raise _Stopped
            self.calls.put((fn, args, future))
        return future.result()

    def proxy(self, target):
        main = self

        class Proxy:
            def __getattr__(self, name):
                method = getattr(target, name)
                return lambda *args: main.call(method, *args)

        return Proxy()

    def serve(self, timeout: float) -> None:
        """Run the calls waiting (at least one, if one comes within ``timeout``)."""
        try:
            item = self.calls.get(timeout=timeout)
        except queue.Empty:
            return
        while item is not None:
            fn, args, future = item
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - raised in the candidate's thread
                future.set_exception(exc)
                if not isinstance(exc, Exception):  # Ctrl-C: the main thread stops the run
                    raise
            try:
                item = self.calls.get_nowait()
            except queue.Empty:
                item = None

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
        while True:
            try:
                _, _, future = self.calls.get_nowait()
            except queue.Empty:
                return
            future.set_exception(_Stopped())


def _measure_one(candidate, X, config, recorder, progress, done, workers: dict, errors: list):
    """One candidate, start to end, on whichever node its actor got: the local executor's phases.
    An error that is not the candidate's own goes to ``errors``, for the main thread to raise."""
    try:
        _phases(candidate, X, config, recorder, progress, done, workers)
    except _Stopped:
        pass
    except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
        errors.append(exc)


def _phases(candidate, X, config, recorder, progress, done, workers: dict):

    def worker(c, threads):
        workers[c.key] = RayWorker(c, threads, hardware=config.hardware)
        return workers[c.key]

    def ready(key, info):
        node = info.pop("node")
        recorder.ready(key, info)
        recorder.node(key, node)

    class Recorder:  # the node's description goes to its own record field
        def __getattr__(self, name):
            return ready if name == "ready" else getattr(recorder, name)

    run = _Execution([candidate], X, config, Recorder(), progress, done, worker_cls=worker)
    try:
        run.start()
        run.static_phase()
        run.cells_phase()
    finally:
        run.close(interrupted=True)  # kills the actor: its slot is free for the next candidate
    w = workers.get(candidate.key)
    if w is not None and w.node is not None and w.window:
        recorder.node(candidate.key, {**w.node, "busy_from_unix_s": w.window[0], "busy_until_unix_s": w.window[1]})


def execute_ray(candidates, X, config: ExecutionConfig, recorder, progress=lambda n=1, text="": None, done=None):
    """Measure every candidate on the Ray cluster :func:`connect` reached; same contract as
    :func:`effbench.executor.execute`. At most as many candidates run at once as the usable nodes offer
    slots; the next starts when one ends. Ends the connection if :func:`connect` started it."""
    from effbench.executor import steps_for

    ray = _ray()
    main = _MainThread()
    rec = main.proxy(recorder)

    def prog(n=1, text=""):
        main.call(progress, n, text)

    waiting = list(candidates)
    errors: list[BaseException] = []
    threads: dict[str, threading.Thread] = {}
    workers: dict[str, RayWorker] = {}
    try:
        while waiting or any(t.is_alive() for t in threads.values()):
            running = sum(t.is_alive() for t in threads.values())
            if waiting and running < _slots(ray, config.hardware):
                c = waiting.pop(0)
                t = threading.Thread(target=_measure_one, name=f"effbench-ray-{c.key}", daemon=True,
                                     args=(c, X, config, rec, prog, done, workers, errors))
                threads[c.key] = t
                t.start()
                continue
            if waiting and running == 0:  # every usable node is gone
                for c in waiting:
                    recorder.failed(c.key, f"no live Ray node{' with ' + LABEL + '=' + config.hardware if config.hardware else ''} "
                                           f"offering {SLOT!r} is left", "")
                    progress(steps_for(1, config), f"{c.key}: failed")
                waiting = []
                continue
            main.serve(timeout=0.2)
            if errors:  # a candidate's thread met an error that is not its candidate's (the store, a bug)
                raise errors[0]
        if errors:  # the last thread's, after the last call it made
            raise errors[0]
    except BaseException:
        main.stop()
        for w in list(workers.values()):
            w.kill()
        deadline = time.monotonic() + JOIN_S
        for t in threads.values():
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        raise
    finally:
        disconnect()


def _slots(ray, hardware: str | None) -> int:
    try:
        return sum(int(n["Resources"][SLOT]) for n in usable_nodes(ray, hardware))
    except ConfigError:
        return 0
