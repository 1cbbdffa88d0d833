"""One torch thread: these models are too small to gain from more, and on a shared machine
idle-spinning threads make each forward pass several times slower (the numbers do not change)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
