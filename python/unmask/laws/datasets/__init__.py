"""Real-data laws shipped with unmask (small data files, no extra dependency to load them)."""

from __future__ import annotations

from importlib import resources

import numpy as np

from unmask.laws.joint import Joint

__all__ = ["digit_patches"]

_DIGIT_PATCHES_FILE = "digit_patches.txt"


def digit_patches() -> Joint:
    """Empirical law of binarised 4x4 patches of scikit-learn's 8x8 handwritten digits.

    Returns
    -------
    Joint
        A law on ``{0, 1}^16`` (``n = 16``, ``q = 2``): the empirical distribution of all
        44925 4x4 windows (stride 1, 25 per image) of the 1797 images of
        ``sklearn.datasets.load_digits``, binarised with ``pixel >= 8`` (grey levels 0..16).
        Variable ``j`` is the pixel at row ``j // 4``, column ``j % 4`` of the patch; 1 = ink.

    Notes
    -----
    The counts are stored in ``unmask/datasets/digit_patches.txt`` (flat C-order index and count
    per distinct pattern), produced by ``scripts/make_digit_patches.py``; scikit-learn is needed
    only to regenerate the file. A real law with strong local dependence and a non-trivial
    profile, small enough for every exact computation in unmask.

    Examples
    --------
    >>> import unmask
    >>> p = unmask.datasets.digit_patches()
    >>> (p.n, p.q)
    (16, 2)
    """
    text = resources.files(__name__).joinpath(_DIGIT_PATCHES_FILE).read_text()
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    table = np.array(rows, dtype=np.int64)
    counts = np.zeros(1 << 16, dtype=np.float64)
    counts[table[:, 0]] = table[:, 1]
    return Joint((counts / counts.sum()).reshape((2,) * 16), normalize=True)
