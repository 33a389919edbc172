"""Monarch matrices: factors for tessera.monarch_mm and the projection of a
dense matrix onto them.

A Monarch matrix W (N x K) is given by two block-diagonal factors, w1 of
shape (k, q, p) and w2 of shape (l, s, r) with k*q = l*r, and the
permutation between them (see tessera.reference.monarch_mm); Y = X W^T.
With k = l = nblocks and q = r = nblocks * rank, block (u, i) of W (its rows
c*l + u, c < s, and columns i*p + t, t < p) is a sum of `rank` outer
products, each of a column of w2[u] and a row of w1[i] that appear in no
other block. The nearest such matrix in Frobenius norm is therefore the
rank-`rank` truncated SVD of each block: that is `project`.
"""

import numpy as np


class MonarchMatrix:
    """A Monarch matrix of logical shape (N, K): factors w1 (k x q x p) and w2
    (l x s x r), N <= l*s and K <= k*p (fly's MonarchLinear pads the input
    with zeros and truncates the output when nblocks does not divide)."""

    def __init__(self, w1, w2, shape=None, name=None):
        self.w1 = np.ascontiguousarray(w1, dtype=np.float32)
        self.w2 = np.ascontiguousarray(w2, dtype=np.float32)
        if self.w1.ndim != 3 or self.w2.ndim != 3:
            raise ValueError(f"w1 and w2 must be 3-D, got shapes {self.w1.shape} and {self.w2.shape}")
        k, q, p = self.w1.shape
        l, s, r = self.w2.shape
        if k * q != l * r:
            raise ValueError(f"w1 {self.w1.shape} and w2 {self.w2.shape} do not compose: "
                             f"k*q = {k * q} != l*r = {l * r}")
        self.shape = tuple(shape) if shape is not None else (l * s, k * p)
        if not (0 < self.shape[0] <= l * s and 0 < self.shape[1] <= k * p):
            raise ValueError(f"shape {self.shape} exceeds the factors' ({l * s}, {k * p})")
        self.name = name

    def to_dense(self):
        """The dense N x K matrix (float64)."""
        from . import reference
        return reference.monarch_mm(np.eye(self.shape[1]), self.w1, self.w2,
                                    self.shape[0]).T

    @property
    def flops_per_row(self):
        """Multiply-adds per row of X (both factors)."""
        return self.w1.size + self.w2.size


def _ceil_div(a, b):
    return -(-a // b)


def project(w, nblocks, rank=1):
    """The Monarch matrix with `nblocks` blocks per factor nearest to the dense
    matrix w (N x K) in Frobenius norm: a rank-`rank` SVD per block pair.
    N and K need not be multiples of nblocks (w is padded with zeros)."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"project takes a 2-D matrix, got shape {w.shape}")
    n, k_in = w.shape
    if nblocks < 1 or nblocks > min(n, k_in):
        raise ValueError(f"nblocks must be in [1, {min(n, k_in)}], got {nblocks}")
    p, s = _ceil_div(k_in, nblocks), _ceil_div(n, nblocks)
    q = nblocks * rank
    if rank < 1 or rank > min(p, s):
        raise ValueError(f"rank must be in [1, {min(p, s)}], got {rank}")
    padded = np.zeros((nblocks * s, nblocks * p))
    padded[:n, :k_in] = w
    # blocks[u, i, c, t] = W[c*l + u, i*p + t]
    blocks = padded.reshape(s, nblocks, nblocks, p).transpose(1, 2, 0, 3)
    u_, sigma, vt = np.linalg.svd(blocks, full_matrices=False)
    root = np.sqrt(sigma[..., :rank])
    left = u_[..., :rank] * root[..., None, :]        # (l, k, s, rank)
    right = vt[..., :rank, :] * root[..., :, None]    # (l, k, rank, p)
    # Block (u, i) uses j = m*nblocks + u of w1[i] and v = i*rank + m of w2[u].
    w1 = np.zeros((nblocks, q, p))
    w2 = np.zeros((nblocks, s, q))
    for m in range(rank):
        w1[:, m * nblocks:(m + 1) * nblocks, :] = right[:, :, m, :].transpose(1, 0, 2)
        w2[:, :, np.arange(nblocks) * rank + m] = left[:, :, :, m].transpose(0, 2, 1)
    return MonarchMatrix(w1, w2, shape=(n, k_in))
