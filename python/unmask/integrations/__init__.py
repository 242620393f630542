"""Bridges to distributed engines (Dask, torch.distributed); each needs its optional extra.

:mod:`unmask.integrations.dask` (``unmask[dask]``) runs shard plans on a
``dask.distributed.Client``; :mod:`unmask.integrations.torch_distributed` (``unmask[torch]``)
splits them over the ranks of a ``torch.distributed`` process group. Neither is imported here,
so ``import unmask`` never needs them.
"""

from __future__ import annotations

__all__: list[str] = []
