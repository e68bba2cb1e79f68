"""Executors: in-process and Dask."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.experiments.spec import SpecError

# Seconds to wait for a remote Dask scheduler to answer before giving up (``--connect-timeout``).
DASK_CONNECT_TIMEOUT_S = 10.0

EXECUTOR_FORMS = (
    "'inprocess' (the default), 'dask-local' or 'dask-local:N' (N >= 1 local worker processes), "
    "'dask://HOST:PORT' or 'tcp://HOST:PORT' (a running Dask scheduler)"
)


class ExecutorError(UserFacingError, RuntimeError):
    """The Dask scheduler named by the executor cannot be reached."""


# ----------------------------------------------------------------------------- executors
class InProcessExecutor:
    """Runs trials one after another in this process."""

    workers = 1

    def map_unordered(self, fn: Callable, items: Sequence[tuple]) -> Iterator[tuple[int, dict]]:
        for i, args in enumerate(items):
            yield i, fn(*args)

    def map(self, fn: Callable, items: Sequence[tuple], resources=None, progress=False, desc="") -> list:
        """``[fn(*args) for args in items]`` in this process (``resources``, ``progress``, ``desc``: unused)."""
        return [fn(*args) for args in items]

    def close(self) -> None:
        pass


class DaskExecutor:
    """Runs trials on a Dask distributed cluster: ``address`` ('HOST:PORT'), or a LocalCluster of ``n_workers``.

    Each worker process runs one trial at a time (``threads_per_worker=1`` for local
    clusters). Workers need the package, the data and the synthetic sets under the same
    paths (a shared file system), and ``SYNTHAUG_CACHE`` pointing at a shared cache when
    remote. For SLURM/PBS, start a dask-jobqueue cluster and pass its scheduler address.
    """

    def __init__(
        self, address: str | None = None, n_workers: int = 2, client=None, timeout: float = DASK_CONNECT_TIMEOUT_S
    ):
        from distributed import Client, LocalCluster

        self._cluster = None
        if client is not None:
            self.client = client
        elif address:
            self.client = Client(address, timeout=timeout)
        else:
            self._cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self._cluster)
        self.workers = max(1, sum(self.client.nthreads().values()))

    def map_unordered(self, fn: Callable, items: Sequence[tuple]) -> Iterator[tuple[int, dict]]:
        from distributed import as_completed

        futures = {self.client.submit(fn, *args, pure=False): i for i, args in enumerate(items)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def map(self, fn: Callable, items: Sequence[tuple], resources: dict | None = None, progress=False, desc="") -> list:
        """``[fn(*args) for args in items]``, one task each (each asking for ``resources``, e.g. ``{"GPU": 1}``),
        results in order; the first task that fails raises here and the others are cancelled."""
        from distributed import as_completed
        from tqdm.auto import tqdm

        futures = [self.client.submit(fn, *args, pure=False, resources=resources) for args in items]
        bar = tqdm(total=len(futures), desc=desc, disable=not progress or not futures)
        try:
            for future in as_completed(futures):
                future.result()
                bar.update(1)
            return [future.result() for future in futures]
        finally:
            bar.close()
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def parse_executor(executor: str | None, name: str = "executor") -> tuple[str, Any]:
    """``('inprocess', None)``, ``('local', n_workers)`` or ``('remote', address)`` from an executor name
    (see :data:`EXECUTOR_FORMS`); SpecError naming ``name``, the value and the accepted forms otherwise.
    Nothing is started or contacted."""
    if executor is None or executor in ("inprocess", "local", "in-process"):
        return "inprocess", None
    text = str(executor).strip()
    if text == "dask-local":
        return "local", 2
    if text.startswith("dask-local:") and text[len("dask-local:") :].isdigit() and int(text[len("dask-local:") :]) >= 1:
        return "local", int(text[len("dask-local:") :])
    for scheme in ("dask://", "tcp://"):
        if text.startswith(scheme):
            address = text[len("dask://") :] if scheme == "dask://" else text
            host, sep, port = address.split("://", 1)[-1].rpartition(":")
            if host and sep and port.isdigit() and 0 < int(port) < 65536:
                return "remote", address
    raise SpecError(f"{name} {executor!r} is not one of: {EXECUTOR_FORMS}")


def make_executor(executor: str | None | Any = None, connect_timeout: float = DASK_CONNECT_TIMEOUT_S):
    """An executor from a name (see :func:`parse_executor`), or ``executor`` itself when it is an executor object.

    A remote scheduler that does not answer within ``connect_timeout`` seconds raises ExecutorError naming it.
    """
    if executor is not None and not isinstance(executor, str):
        return executor
    kind, value = parse_executor(executor)
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "local":
        return DaskExecutor(n_workers=value)
    try:
        return DaskExecutor(address=value, timeout=connect_timeout)
    except OSError as exc:  # distributed raises OSError (TimeoutError is one) when nothing answers
        raise ExecutorError(
            f"executor {executor!r}: no Dask scheduler answered at {value} within {connect_timeout:g} s (the connect "
            f"timeout); start one there or fix the address, or use 'dask-local:N' for a local cluster"
        ) from exc
