"""Test policy for this technique: one torch thread while its tests run.

On a small shared machine two intra-op threads competing with other processes ran a
SmolLM2 forward pass 10x slower than one thread (13 s against 1.2 s), and one thread also
makes the seeded SAE training reproducible across machines with different core counts.
The previous setting is restored after each module.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
