"""Type stubs of the private C++ extension ``unmask._core``."""

import numpy as np
from numpy.typing import NDArray

__version__: str

def have_openmp() -> bool: ...
def max_threads() -> int: ...
def plogp_kernel() -> str: ...

# entropy area
def subset_entropies(
    joint: NDArray[np.float64], n: int, q: int, out: NDArray[np.float64], threads: int
) -> None: ...
def subset_entropies_workspace_bytes(n: int, q: int, threads: int) -> int: ...
def level_sums(values: NDArray[np.float64], n: int) -> NDArray[np.float64]: ...
def plogp_sum(x: NDArray[np.float64]) -> float: ...
def log_array(x: NDArray[np.float64]) -> NDArray[np.float64]: ...

# sampler area
def level_marginals(
    joint: NDArray[np.float64], n: int, q: int, levels: list[int], threads: int
) -> dict[int, NDArray[np.float64]]: ...
def law_step(
    src: NDArray[np.float64],
    dst: NDArray[np.float64],
    n: int,
    q: int,
    i: int,
    s: int,
    weight: float,
    marg_cur: NDArray[np.float64] | None,
    marg_next: NDArray[np.float64] | None,
    temperature: float,
    table: NDArray[np.float64] | None,
    threads: int,
) -> None: ...
