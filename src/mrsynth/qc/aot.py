"""`python -m mrsynth.qc.aot`: compile the QC loops ahead of time (a step of `make setup`; see `mrsynth.qc.native`).

Builds the extension module `mrsynth/qc/_kernels_aot*.so` with numba.pycc (needs a C compiler and
setuptools; about 12 s of CPU once) for this machine's CPU: built for any x86-64 CPU its loops took
~1.5x the CPU time (no AVX2). Where the build fails, it says why and compiles numba's JIT cache instead,
so a first call still finds the loops compiled. numba.pycc is pending deprecation in numba: when it is gone, the JIT cache is what remains.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

from mrsynth.qc.native import AOT_MODULE, source_stamp


def build(folder: Path | None = None) -> Path:
    """Compile the kernels into `folder` (default: beside kernels.py); returns the extension's path.

    Written in a temporary folder and renamed into place: a process importing it never sees half a file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation warning: the module says what follows
        from numba import types
        from numba.pycc import CC

    from mrsynth.qc import kernels  # also compiles (or loads) the JIT loops into numba's cache

    folder = Path(folder or Path(kernels.__file__).parent)
    stamp = source_stamp()
    with tempfile.TemporaryDirectory(dir=folder, prefix=".aot-") as tmp:
        cc = CC(AOT_MODULE)
        cc.output_dir, cc.verbose, cc.target_cpu = tmp, False, "host"
        cc.export("joint_counts", kernels.joint_counts.nopython_signatures[0])(kernels.joint_counts.py_func)
        stats = kernels.intersection_stats

        def intersection_stats(src, tgt, src_mask, tgt_mask, z0, z1, r0, r1, c0, c1, k, constant, out):
            # a call of the JIT kernel keeps its fastmath sums (an exported body is compiled without them): ~35% less CPU
            stats(src, tgt, src_mask, tgt_mask, z0, z1, r0, r1, c0, c1, k, constant, out)

        cc.export("intersection_stats", stats.nopython_signatures[0])(intersection_stats)
        for signature in kernels.mask_survey.nopython_signatures:
            name = "survey_masks" if signature.args[0].dtype == types.boolean else "survey_images"
            cc.export(name, signature)(kernels.mask_survey.py_func)
        cc.export("stamp", types.int64())(lambda: stamp)
        cc.compile()
        built = Path(tmp) / cc.output_file
        target = folder / built.name
        os.replace(built, target)
    return target


def main() -> int:
    try:
        path = build()
    except Exception as exc:  # no C compiler, no setuptools, pycc gone from numba: the JIT cache serves
        import mrsynth.qc.kernels  # noqa: F401 - compiles the JIT loops into numba's cache

        print(f"mrsynth: QC loops not compiled ahead of time ({type(exc).__name__}: {exc}); numba's cache holds them instead")
        return 0
    print(f"mrsynth: QC loops compiled ahead of time: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
