#!/bin/bash
# ALS half-step against numpy (Debian python3-numpy): on a small random
# matrix written by scipy, one user half-step of our CG and Cholesky solvers
# must equal an independent numpy solution of the same normal equations
#   (Y^T Y + lambda I + sum_i (c_ui - 1) y_i y_i^T) x_u = sum_i c_ui y_i,  c = 1 + alpha r
# to 1e-4 relative: Cholesky against numpy.linalg.solve (float64); CG with 3
# steps against numpy running the same CG recurrence from the same start;
# CG with 60 steps against the exact solution. Y is trained for 2 iterations
# first so that every term of the equations is of a size that matters.
# sanitize: yes
set -eu
: "${MUSREC_BIN:?}" "${PY:?}" "${TEST_TMP:?}"
$PY -c 'import numpy, scipy' 2>/dev/null || { echo "numpy/scipy not available"; exit 77; }
W=$TEST_TMP/w
mkdir -p "$W/data/preprocessed"
$PY - "$W/data/preprocessed/train_matrix.npz" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
rng = np.random.default_rng(7)
nu, ni = 60, 45
m = sp.random(nu, ni, density=0.15, format="csr", random_state=rng, dtype=np.float32)
m.data = np.floor(m.data * 5 + 1).astype(np.float32)   # play counts 1..5
m = m.tolil(); m[3, :] = 0; m = m.tocsr()              # an empty user row
m.eliminate_zeros(); m.sort_indices()
sp.save_npz(sys.argv[1], m)
EOF

check() {  # steps
  rm -rf "$TEST_TMP/d"
  "$MUSREC_BIN" --quiet --workdir "$W" --seed 5 als --factors 6 --iterations 2 --alpha 2.5 \
      --regularization 0.03 --cg-steps "$1" --dump-half-step "$TEST_TMP/d"
  $PY - "$W/data/preprocessed/train_matrix.npz" "$TEST_TMP/d" "$1" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
R = sp.load_npz(sys.argv[1]).tocsr(); d = sys.argv[2]; steps = int(sys.argv[3])
alpha, lam = 2.5, 0.03
X0 = np.load(d + "/X0.npy").astype(np.float64); Y = np.load(d + "/Y.npy").astype(np.float64)
Xcg = np.load(d + "/X_cg.npy"); Xch = np.load(d + "/X_cholesky.npy")
assert Xcg.dtype == np.float32 and Xcg.shape == X0.shape == (R.shape[0], 6), (Xcg.dtype, Xcg.shape)
G = Y.T @ Y + lam * np.eye(Y.shape[1])
exact = np.zeros_like(X0); cg = np.zeros_like(X0)
for u in range(R.shape[0]):
    idx = R.indices[R.indptr[u]:R.indptr[u + 1]]; c = 1 + alpha * R.data[R.indptr[u]:R.indptr[u + 1]]
    Yu = Y[idx]
    A = G + (Yu.T * (c - 1)) @ Yu
    b = Yu.T @ c
    exact[u] = np.linalg.solve(A, b)
    # implicit's CG recurrence, warm start from X0
    x = X0[u].copy(); r = b - A @ x; p = r.copy(); rs = r @ r
    if rs >= 1e-20:
        for _ in range(steps):
            Ap = A @ p; a = rs / (p @ Ap); x += a * p; r -= a * Ap; rn = r @ r
            if rn < 1e-20: break
            p = r + (rn / rs) * p; rs = rn
    cg[u] = x
def rel(a, b): return np.abs(a - b).max() / np.abs(b).max()
e1, e2, e3 = rel(Xch, exact), rel(Xcg, cg), rel(Xcg, exact)
print(f"steps={steps}: cholesky vs numpy solve {e1:.2e}, cg vs numpy cg {e2:.2e}, cg vs exact {e3:.2e}")
bad = e1 > 1e-4 or e2 > 1e-4 or (steps >= 60 and e3 > 1e-4)
if steps < 60 and e3 < 1e-6: print("3-step CG already exact: the test would not see a wrong recurrence"); bad = True
if bad:
    u = int(np.abs(Xcg - cg).max(axis=1).argmax())
    print("row", u, "\n ours cg ", Xcg[u], "\n numpy cg", cg[u], "\n ours ch ", Xch[u], "\n exact   ", exact[u])
    sys.exit(1)
EOF
}
check 3
check 60
echo "ALS half-step matches numpy"
