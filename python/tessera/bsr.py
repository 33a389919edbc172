"""Block-sparse weights in BSR form for tessera.bsr_mm.

A BsrMatrix of shape (N, K) with blocks of shape (R, C) stores `indptr`
(N/R + 1 entries), `indices` (the block column of each stored block) and
`blocks` (nnz x R x C): W[i*R + r, indices[p]*C + c] = blocks[p, r, c] for
p in [indptr[i], indptr[i+1]). scipy.sparse.bsr_matrix uses the same form.
"""

import numpy as np


class BsrMatrix:
    def __init__(self, indptr, indices, blocks, shape, name=None):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int32)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.blocks = np.ascontiguousarray(blocks, dtype=np.float32)
        self.shape = tuple(int(d) for d in shape)
        self.name = name
        self._check()

    def _check(self):
        if self.blocks.ndim != 3:
            raise ValueError(f"blocks must be nnz x R x C, got shape {self.blocks.shape}")
        (n, k), (rows, cols) = self.shape, self.block
        if rows == 0 or cols == 0 or n % rows or k % cols:
            raise ValueError(f"block shape {self.block} must divide the shape {self.shape}")
        if self.indptr.shape != (n // rows + 1,):
            raise ValueError(f"indptr must have N/R + 1 = {n // rows + 1} entries, "
                             f"got shape {self.indptr.shape}")
        nnz = self.blocks.shape[0]
        if self.indices.shape != (nnz,):
            raise ValueError(f"indices must have one entry per block ({nnz}), "
                             f"got shape {self.indices.shape}")
        if self.indptr[0] != 0 or self.indptr[-1] != nnz or np.any(np.diff(self.indptr) < 0):
            raise ValueError("indptr must start at 0, never decrease and end at nnz = "
                             f"{nnz}; got {self.indptr[:4]}...{self.indptr[-2:]}")
        if nnz and (self.indices.min() < 0 or self.indices.max() >= k // cols):
            raise ValueError(f"indices must be block columns in [0, {k // cols}), got "
                             f"[{self.indices.min()}, {self.indices.max()}]")

    @property
    def block(self):
        return tuple(int(d) for d in self.blocks.shape[1:])

    @property
    def nnz_blocks(self):
        return self.blocks.shape[0]

    @property
    def density(self):
        """Fraction of the blocks of the grid that are stored."""
        (n, k), (rows, cols) = self.shape, self.block
        return self.nnz_blocks / ((n // rows) * (k // cols))

    def to_dense(self):
        (n, k), (rows, cols) = self.shape, self.block
        w = np.zeros(self.shape, dtype=np.float32)
        for i in range(n // rows):
            for p in range(self.indptr[i], self.indptr[i + 1]):
                j = self.indices[p]
                w[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols] += self.blocks[p]
        return w

    def to_scipy(self):
        import scipy.sparse
        return scipy.sparse.bsr_matrix((self.blocks, self.indices, self.indptr),
                                       shape=self.shape)


def from_dense(w, block, density):
    """Prune w (N x K) to the fraction `density` of its (R, C) blocks with the
    largest Frobenius norms (at least one block if density > 0); the kept
    blocks are stored exactly, in increasing column order per block row."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = block
    n, k = w.shape
    if n % rows or k % cols:
        raise ValueError(f"block shape {tuple(block)} must divide the shape {w.shape}")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}")
    grid = w.reshape(n // rows, rows, k // cols, cols).transpose(0, 2, 1, 3)
    norms = np.sqrt((grid.astype(np.float64) ** 2).sum(axis=(2, 3)))
    total = norms.size
    keep = 0 if density == 0 else max(1, int(round(density * total)))
    mask = np.zeros(total, dtype=bool)
    if keep:
        # Stable: ties go to the earlier block.
        mask[np.argsort(-norms.reshape(-1), kind="stable")[:keep]] = True
    mask = mask.reshape(norms.shape)
    bi, bj = np.nonzero(mask)  # row-major: sorted by block row, then column
    indptr = np.zeros(n // rows + 1, dtype=np.int32)
    np.add.at(indptr, bi + 1, 1)
    return BsrMatrix(np.cumsum(indptr), bj, grid[bi, bj], w.shape)


def from_scipy(m):
    """A BsrMatrix from a scipy.sparse.bsr_matrix (or any sparse matrix,
    converted to BSR with its block size)."""
    import scipy.sparse
    if not scipy.sparse.isspmatrix_bsr(m):
        m = scipy.sparse.bsr_matrix(m)
    return BsrMatrix(m.indptr, m.indices, m.data, m.shape)
