"""The device policy: one place where ``auto`` / ``cpu`` / ``cuda`` becomes a concrete device.

Every operation (:func:`xling.lexicon.knn.knn`, ``mean_topk``, ``count_above``,
``logsumexp_sim``) and every trainer (:mod:`xling.align.w2v`, :mod:`xling.align.w2v_torch`,
CADE) resolves its device through :func:`resolve_device`:

* ``auto`` -> ``cuda`` when PyTorch sees a CUDA device, ``cpu`` otherwise;
* ``cuda`` without CUDA -> :class:`~xling.data.errors.DeviceError` with the one text
  :data:`NO_CUDA` (never a silent fallback);
* anything else -> :class:`~xling.data.errors.XlingError` naming the choices.

Torch code then asks :func:`torch_device` for the ``torch.device``. Checking for CUDA does not
import torch on a machine without an NVIDIA driver (importing it takes seconds).
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum

from ..data.errors import DeviceError, XlingError

#: the one error text for ``cuda`` asked for where there is none
NO_CUDA = "device 'cuda' was asked for but no CUDA device is available here"


class Device(str, Enum):
    """Where computation runs."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def cuda_available() -> bool:
    """Does PyTorch see a CUDA device? (False without torch or without an NVIDIA driver.)"""
    # without an NVIDIA driver there is no CUDA: answer without importing torch (seconds)
    if sys.platform == "linux" and not (os.path.exists("/proc/driver/nvidia/version")
                                        or os.path.exists("/dev/nvidiactl")):
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return bool(torch.cuda.is_available())


def as_device(device: Device | str) -> Device:
    """``device`` as a :class:`Device`, without resolving ``auto`` (unknown names: XlingError)."""
    if isinstance(device, Device):
        return device
    try:
        return Device(str(device).lower())
    except ValueError:
        raise XlingError(f"unknown device {device!r}: choose auto, cpu or cuda") from None


def resolve_device(device: Device | str = Device.auto) -> Device:
    """A concrete device (``cpu`` or ``cuda``) that can run here.

    Parameters
    ----------
    device : Device or str
        ``auto``, ``cpu`` or ``cuda``.

    Returns
    -------
    Device
        ``Device.cpu`` or ``Device.cuda``, never ``auto``.

    Raises
    ------
    DeviceError
        ``cuda`` asked for without a CUDA device (text :data:`NO_CUDA`).
    XlingError
        An unknown device name.
    """
    dev = as_device(device)
    if dev is Device.auto:
        return Device.cuda if cuda_available() else Device.cpu
    if dev is Device.cuda and not cuda_available():
        raise DeviceError(NO_CUDA)
    return dev


def torch_device(device: Device | str = Device.auto):
    """The ``torch.device`` of :func:`resolve_device` (imports torch)."""
    import torch

    return torch.device(resolve_device(device).value)


@contextmanager
def torch_settings(torch, threads: int, deterministic: bool = False):
    """Set torch's CPU thread count (and, optionally, deterministic algorithms); restore them after.

    torch splits a CPU product by its thread count, so the bytes of a result depend on it: code
    whose output must not depend on the machine runs under a fixed count.
    """
    prev_threads, prev_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    if deterministic:
        # same seed, same weights: the backward of the gathers must not add in thread order
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(prev_threads)
        if deterministic:
            torch.use_deterministic_algorithms(prev_det)
