"""Pieces every training loop here shares: torchrun/DDP context, data order, LR schedule.

- :class:`DistContext` reads torchrun's environment (``RANK``, ``WORLD_SIZE``,
  ``LOCAL_RANK``); with ``WORLD_SIZE > 1`` it starts the process group (NCCL on CUDA, gloo
  on CPU) and wraps modules in ``DistributedDataParallel``.
- :func:`epoch_order` gives the data order of an epoch as a pure function of
  ``(seed, epoch, rank)``, so a resumed run sees exactly the batches it would have seen.
- :func:`cosine_schedule`: linear warmup, then cosine decay to 0.
- :func:`budgeted_batches`: shuffled batches and the LR factor for a wall-clock budget
  (the SynthWorld trainers: a busy machine trains fewer steps but finishes on time).

Usage::

    dist = DistContext.from_env("cuda")
    model = dist.wrap(model)
    for epoch in ...:
        order = epoch_order(n, seed, epoch, dist.rank, dist.world_size)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass
class DistContext:
    """Where this process sits in a (possibly single-process) run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str = "cpu") -> DistContext:
        """From torchrun's environment; starts the process group when ``WORLD_SIZE > 1``."""
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        dev = torch.device(device)
        if dev.type == "cuda" and world > 1:
            dev = torch.device("cuda", local)
            torch.cuda.set_device(dev)
        started = False
        if world > 1:
            import torch.distributed as td

            if not td.is_initialized():
                td.init_process_group("nccl" if dev.type == "cuda" else "gloo")
                started = True
        return cls(rank, world, local, dev, started)

    def wrap(self, module: torch.nn.Module, *, find_unused: bool = False) -> torch.nn.Module:
        """``DistributedDataParallel(module)`` when distributed, else the module itself.

        ``find_unused``: some parameters may get no gradient in a step (auxiliary heads
        without targets in a batch)."""
        if self.world_size == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DDP(module, device_ids=ids, find_unused_parameters=find_unused)

    def global_mean_scales(self, counts: dict[str, int]) -> dict[str, float]:
        """Loss factors that make DDP's gradient average equal the gradient of the mean over
        the whole global batch: ``world * local / global`` known-target count per term (1
        outside DDP). Without them a term whose targets are known for more items on one rank
        than on another (unknown auxiliary values) would weigh items unevenly, and a
        multi-rank run would not train the heads one process trains on the same batches."""
        if self.world_size == 1:
            return {k: 1.0 for k in counts}
        import torch.distributed as td

        t = torch.tensor([float(v) for v in counts.values()], dtype=torch.float64,
                         device=self.device)
        td.all_reduce(t)
        return {k: (self.world_size * c / g if g > 0 else 0.0)
                for (k, c), g in zip(counts.items(), t.tolist())}

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as td

            td.barrier()

    def close(self) -> None:
        if self.initialized_here:
            import torch.distributed as td

            td.barrier()
            td.destroy_process_group()


def per_rank_count(n: int, world_size: int) -> int:
    """Samples each rank sees per epoch (the order is padded so ranks stay in step)."""
    return math.ceil(n / world_size)


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1
                ) -> torch.Tensor:
    """This rank's sample order for ``epoch``: a seeded permutation, padded by wrapping so
    every rank gets :func:`per_rank_count` samples."""
    g = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
    perm = torch.randperm(n, generator=g)
    total = per_rank_count(n, world_size) * world_size
    if total > n:
        perm = torch.cat([perm, perm[: total - n]])
    return perm[rank::world_size]


def warmup_cosine(frac: float, warmup_frac: float) -> float:
    """LR factor at progress ``frac`` in [0, 1] of a run (steps or a wall-clock budget):
    linear warmup over the first ``warmup_frac``, then cosine decay to 0."""
    if frac < warmup_frac:
        return frac / warmup_frac
    return 0.5 * (1.0 + math.cos(math.pi * (frac - warmup_frac) / (1.0 - warmup_frac)))


def budgeted_batches(n: int, batch_size: int, *, minutes: float, gen: torch.Generator,
                     warmup_frac: float, lr_floor: float = 0.0, max_steps: int | None = None,
                     ) -> Iterator[tuple[torch.Tensor, float]]:
    """Batches of shuffled indices into ``n`` samples until a wall-clock budget is spent.

    Yields ``(indices, lr_factor)``: the factor is :func:`warmup_cosine` of the elapsed share of
    ``minutes`` (at least ``lr_floor``), read before each batch. A new permutation from ``gen``
    starts whenever the current one has fewer than ``batch_size`` indices left. Stops when the
    budget is spent or after ``max_steps`` batches.
    """
    budget = minutes * 60.0
    t0 = time.perf_counter()
    order, pos, step = torch.randperm(n, generator=gen), 0, 0
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= budget or (max_steps is not None and step >= max_steps):
            return
        if pos + batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        step += 1
        yield idx, max(warmup_cosine(elapsed / budget, warmup_frac), lr_floor)


def cosine_schedule(opt: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0
                    ) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup for ``warmup_steps``, then cosine decay to 0 at ``total_steps``."""
    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup_steps) / span)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)
