#!/bin/bash
# Oracle test for src/store/npy.c: scipy and numpy (Debian python3-scipy)
# against our .npz / .npy writer and reader, both directions.
#  1. Python draws random sparse matrices (duplicates, empty rows and columns,
#     a 0 x 0 and a 1 x 1 case), musrec builds .npz files from the triplets
#     (plain and with forced ZIP64 records); scipy.sparse.load_npz must load
#     them and equal the matrix scipy builds from the same triplets; zipfile
#     must verify every CRC; the layout must be save_npz's.
#  2. scipy.sparse.save_npz writes matrices (compressed and not, int32 and
#     int64 indices, float64 data, unsorted indices, csc); `musrec npz dump`
#     must print exactly their entries.
#  3. `musrec npz transpose` equals scipy's .T; numpy.load reads our .npy
#     and we read numpy's (C and Fortran order, float32 and float64).
# sanitize: yes
set -eu
: "${MUSREC_BIN:?}" "${PY:?}" "${TEST_TMP:?}"
cd "$TEST_TMP"
"$PY" -c 'import scipy.sparse, numpy' 2>/dev/null || { echo "python3 scipy/numpy not installed"; exit 77; }

"$PY" - "$MUSREC_BIN" <<'EOF'
import subprocess, sys, zipfile, io
import numpy as np, scipy.sparse as sp

musrec = sys.argv[1]
rng = np.random.default_rng(7)
fail = 0

def run(*args, text=None):
    r = subprocess.run([musrec, *args], input=text, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"musrec {' '.join(args)} failed: {r.stderr}")
    return r.stdout

def parse_dump(out):
    lines = out.split("\n")
    R, C = map(int, lines[0].split())
    rows, cols, vals = [], [], []
    for ln in lines[1:]:
        if not ln: continue
        r, c, v = ln.split()
        rows.append(int(r)); cols.append(int(c)); vals.append(float(v))
    return sp.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(R, C))

def same(a, b, what):
    global fail
    a = sp.csr_matrix(a); b = sp.csr_matrix(b)
    if a.shape != b.shape or (a != b).nnz != 0:
        d = (a != b).nonzero()
        print(f"FAIL {what}: shapes {a.shape} vs {b.shape}, first differing entries {list(zip(*d))[:5]}")
        fail = 1

# 1. our writer -> scipy
cases = [(0, 0, 0), (1, 1, 1), (5, 0, 0), (0, 7, 0), (40, 30, 0), (50, 60, 400), (1000, 700, 20000)]
for i, (R, C, n) in enumerate(cases):
    r = rng.integers(0, max(R, 1), n); c = rng.integers(0, max(C, 1), n)
    v = rng.integers(1, 50, n).astype(np.float32) / 4
    if R > 10:  # leave some rows and columns empty
        keep = (r % 7 != 3) & (c % 5 != 1); r, c, v = r[keep], c[keep], v[keep]
    txt = f"{R} {C}\n" + "".join(f"{a} {b} {x!r}\n" for a, b, x in zip(r, c, v.tolist()))
    want = sp.coo_matrix((v, (r, c)), shape=(R, C)).tocsr()
    want.sum_duplicates()
    for z64 in ([], ["--zip64"]):
        path = f"ours_{i}{'_z64' if z64 else ''}.npz"
        run("npz", "from-text", "-", path, *z64, text=txt)
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = [x.filename for x in zf.infolist()]
            methods = {x.compress_type for x in zf.infolist()}
            if bad is not None: print(f"FAIL {path}: CRC of {bad}"); fail = 1
            if names != ["indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"]:
                print(f"FAIL {path}: members {names}"); fail = 1
            if methods != {zipfile.ZIP_STORED}: print(f"FAIL {path}: not stored"); fail = 1
        m = sp.load_npz(path)
        npz = np.load(path)
        if npz["format"].dtype != np.dtype("S3") or npz["format"].shape != () or npz["format"].item() != b"csr":
            print(f"FAIL {path}: format member {npz['format']!r}"); fail = 1
        if npz["shape"].dtype != np.int64: print(f"FAIL {path}: shape dtype {npz['shape'].dtype}"); fail = 1
        if m.format != "csr" or m.dtype != np.float32: print(f"FAIL {path}: {m.format} {m.dtype}"); fail = 1
        if not m.has_sorted_indices: print(f"FAIL {path}: indices not sorted"); fail = 1
        same(m, want, path)
        # transpose
        run("npz", "transpose", path, "t_" + path)
        t = sp.load_npz("t_" + path)
        if not t.has_sorted_indices: print(f"FAIL t_{path}: indices not sorted"); fail = 1
        same(t, want.T, "t_" + path)

# 2. scipy's writer -> our reader
for i, (R, C, n) in enumerate([(0, 0, 0), (3, 4, 5), (200, 150, 3000), (2000, 1200, 60000)]):
    r = rng.integers(0, max(R, 1), n); c = rng.integers(0, max(C, 1), n)
    v = rng.random(n)
    base = sp.coo_matrix((v, (r, c)), shape=(R, C)).tocsr()
    base.sum_duplicates()
    variants = {
        "f64": base,
        "f32": base.astype(np.float32),
        "i64": sp.csr_matrix((base.data.astype(np.float32), base.indices.astype(np.int64),
                              base.indptr.astype(np.int64)), shape=base.shape),
        "csc": base.tocsc().astype(np.float32),
    }
    if n:  # rows with reversed column order, as non-canonical scipy matrices can be
        u = base.astype(np.float32).copy()
        for row in range(u.shape[0]):
            a, b = u.indptr[row], u.indptr[row + 1]
            u.indices[a:b] = u.indices[a:b][::-1].copy(); u.data[a:b] = u.data[a:b][::-1].copy()
        u.has_sorted_indices = False
        variants["unsorted"] = u
    for name, mat in variants.items():
        for comp in (False, True):
            path = f"scipy_{i}_{name}_{'z' if comp else 's'}.npz"
            sp.save_npz(path, mat, compressed=comp)
            got = parse_dump(run("npz", "dump", path))
            same(got, base.astype(np.float32), path)

# 3. .npy both ways
a = (rng.random((17, 5)) * 100).astype(np.float32)
txt = "17 5\n" + "\n".join(" ".join(repr(float(x)) for x in row) for row in a) + "\n"
run("npz", "npy-from-text", "-", "ours.npy", text=txt)
b = np.load("ours.npy")
if b.dtype != np.float32 or b.shape != (17, 5) or not np.array_equal(a, b):
    print(f"FAIL ours.npy: {b.dtype} {b.shape}"); fail = 1
for name, arr in {"c32": a, "f32": np.asfortranarray(a), "c64": a.astype(np.float64),
                  "f64": np.asfortranarray(a.astype(np.float64)), "empty": np.zeros((0, 3), np.float32)}.items():
    np.save(f"np_{name}.npy", arr)
    out = run("npz", "npy-dump", f"np_{name}.npy").split("\n")
    R, C = map(int, out[0].split())
    got = np.array([[float(x) for x in ln.split()] for ln in out[1:] if ln], dtype=np.float32).reshape(R, C)
    if got.shape != arr.shape or not np.array_equal(got, arr.astype(np.float32)):
        print(f"FAIL np_{name}.npy: read {got.shape}"); fail = 1

sys.exit(fail)
EOF

# bad input: clear errors naming the file
printf 'not a zip' > junk.npz
if "$MUSREC_BIN" npz info junk.npz 2>err.txt; then echo "FAIL: junk.npz accepted"; exit 1; fi
grep -q "junk.npz" err.txt || { echo "FAIL: error does not name the file: $(cat err.txt)"; exit 1; }
if "$MUSREC_BIN" npz info missing.npz 2>err.txt; then echo "FAIL: missing.npz accepted"; exit 1; fi
grep -q "missing.npz" err.txt || { echo "FAIL: error does not name the file: $(cat err.txt)"; exit 1; }
"$PY" -c "import scipy.sparse as sp; sp.save_npz('coo.npz', sp.coo_matrix(([1.0], ([0], [0])), shape=(2, 2)))"
if "$MUSREC_BIN" npz info coo.npz 2>err.txt; then echo "FAIL: coo.npz accepted"; exit 1; fi
grep -q "coo.npz" err.txt || { echo "FAIL: $(cat err.txt)"; exit 1; }
echo "npz_scipy: ok"
