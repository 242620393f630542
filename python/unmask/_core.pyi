# Type stubs for the private compiled core. Users call the public Python API instead.
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__version__: str

def have_openmp() -> bool: ...
def max_threads() -> int: ...
def plogp_kernel() -> str: ...

# -- entropy (cpp/bindings/bind_entropy.cpp) --
def subset_entropies(
    joint: NDArray[np.float64],
    n: int,
    q: int,
    out: NDArray[np.float64],
    threads: int,
    big_table: int = ...,
) -> None: ...
def subset_entropies_subtree(
    joint: NDArray[np.float64],
    n: int,
    q: int,
    k: int,
    keep: int,
    out: NDArray[np.float64],
    threads: int,
) -> None: ...
def subset_entropies_workspace_bytes(n: int, q: int, threads: int) -> int: ...
def level_sums(values: NDArray[np.float64], n: int) -> NDArray[np.float64]: ...
def plogp_kernels() -> list[str]: ...
def plogp_sum(x: NDArray[np.float64], kernel: str = "") -> float: ...
def log_array(x: NDArray[np.float64], kernel: str = "") -> NDArray[np.float64]: ...

# -- markov (cpp/bindings/bind_markov.cpp) --
def markov_profile(
    transition: NDArray[np.float64],
    initial: NDArray[np.float64],
    n: int,
    stationary: bool,
    threads: int,
) -> NDArray[np.float64]: ...
def markov_profile_workspace_bytes(n: int, q: int) -> int: ...

# -- schedules (cpp/bindings/bind_schedule.cpp) --
def schedule_lagrangian(
    h: NDArray[np.float64], steps: int, max_iterations: int = 200
) -> tuple[NDArray[np.int64], float, int, bool, float, bool]: ...
def schedule_penalised(
    h: NDArray[np.float64], penalty: float, prefer_more: bool
) -> NDArray[np.int64]: ...
def schedule_layers(
    h: NDArray[np.float64], max_steps: int, keep_argmins: bool, threads: int
) -> tuple[NDArray[np.float64], NDArray[np.int32] | None]: ...
def schedule_plain(
    h: NDArray[np.float64] | None,
    matrix: NDArray[np.float64] | None,
    n: int,
    max_steps: int,
    keep_argmins: bool,
    threads: int,
) -> tuple[NDArray[np.float64], NDArray[np.int32] | None]: ...
def schedule_reconstruct(argmins: NDArray[np.int32], n: int, k: int) -> NDArray[np.int64]: ...
def schedule_path_cost(h: NDArray[np.float64], bounds: NDArray[np.int64]) -> float: ...
def csv_rows(ints: NDArray[np.int64], floats: NDArray[np.float64]) -> str: ...

# -- sampler (cpp/bindings/bind_sampler.cpp) --
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

# -- adaptive rules (cpp/bindings/bind_adaptive.cpp) --
def adaptive_step(
    rule: int,
    src: NDArray[np.float64],
    dst: NDArray[np.float64],
    n: int,
    q: int,
    i: int,
    s: int,
    block_of: list[int],
    marg_next: NDArray[np.float64] | None,
    temperature: float,
    table: NDArray[np.float64] | None,
    scores: NDArray[np.float64] | None,
    threads: int,
) -> None: ...
def threshold_offsets(n: int, q: int) -> list[int]: ...
def adaptive_threshold_level(
    levels: NDArray[np.float64],
    n: int,
    q: int,
    i: int,
    tau: float,
    block_of: list[int],
    marg_next: NDArray[np.float64] | None,
    temperature: float,
    table: NDArray[np.float64] | None,
    threads: int,
) -> None: ...

# -- learning (cpp/bindings/bind_learning.cpp) --
def learning_pair_kl(
    p: NDArray[np.float64],
    log_q: NDArray[np.float64],
    count: int,
    a: int,
    q: int,
    b: int,
    threads: int,
) -> NDArray[np.float64]: ...
def learning_level_kl_marginals(
    p: NDArray[np.float64],
    marginals: NDArray[np.float64],
    temperature: float,
    count: int,
    size: int,
    q: int,
    threads: int,
) -> NDArray[np.float64]: ...

# -- planner (cpp/bindings/bind_planner.cpp) --
def planner_work(n: int, q: int, budget: int, sizes: list[int], block_width: int) -> float: ...
def planner_solve(
    marg: NDArray[np.float64],
    cond: NDArray[np.float64] | None,
    n: int,
    q: int,
    budget: int,
    sizes: list[int],
    block_width: int,
    value: NDArray[np.float64],
    choice: NDArray[np.uint32],
    threads: int,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None: ...
def planner_law(
    marg: NDArray[np.float64],
    cond: NDArray[np.float64] | None,
    n: int,
    q: int,
    budget: int,
    sizes: list[int],
    block_width: int,
    choice: NDArray[np.uint32],
) -> NDArray[np.float64]: ...
