"""Image contrast from tissue relaxation parameters through the spin-echo and inversion-recovery equations."""

from __future__ import annotations

import math

import numpy as np

from mrsynth.demo.anatomy import LABEL_NAMES, N_LABELS

FIELDS = ("3T", "7T")
CONTRASTS = ("T1w", "T2w", "PDw")

# Relative proton density and relaxation times (ms); T1 lengthens and T2/T2* shorten with field strength.
TISSUES: dict[str, dict] = {
    "csf": {"PD": 1.00, "3T": (4000, 1800, 1000), "7T": (4400, 1100, 600)},
    "gm": {"PD": 0.80, "3T": (1350, 95, 60), "7T": (1950, 55, 33)},
    "wm": {"PD": 0.70, "3T": (850, 72, 50), "7T": (1220, 46, 26)},
    "lesion": {"PD": 0.86, "3T": (1650, 140, 80), "7T": (2300, 85, 45)},
    "skull": {"PD": 0.12, "3T": (600, 20, 2), "7T": (800, 15, 1)},
    "scalp": {"PD": 0.90, "3T": (380, 120, 60), "7T": (480, 80, 35)},
    "muscle": {"PD": 0.75, "3T": (1400, 35, 25), "7T": (1900, 25, 14)},
    "blood": {"PD": 0.85, "3T": (1650, 150, 60), "7T": (2100, 60, 30)},
}

# The 3T session is a clinical protocol: a short-TR spin-echo T1w (weak GM/WM contrast, grey CSF). The 7T
# T1w is an inversion-prepared gradient echo (MPRAGE-like, T2* decay: strong GM/WM contrast, nulled CSF), so
# 3T -> 7T synthesis has a contrast to learn besides resolution and noise. T2w and PDw are spin echoes.
SEQUENCES: dict[str, dict[str, dict]] = {
    "3T": {
        "T1w": {"kind": "spin_echo", "TR_ms": 500.0, "TE_ms": 10.0},
        "T2w": {"kind": "spin_echo", "TR_ms": 5000.0, "TE_ms": 100.0},
        "PDw": {"kind": "spin_echo", "TR_ms": 5000.0, "TE_ms": 12.0},
    },
    "7T": {
        "T1w": {"kind": "inversion_recovery", "TR_ms": 3000.0, "TI_ms": 1200.0, "TE_ms": 2.5},
        "T2w": {"kind": "spin_echo", "TR_ms": 6000.0, "TE_ms": 70.0},
        "PDw": {"kind": "spin_echo", "TR_ms": 6000.0, "TE_ms": 10.0},
    },
}

# Rician noise sigma relative to the WM signal: lower at 7T (higher field); 3% is a good clinical 3T protocol.
NOISE_RELATIVE_TO_WM = {"3T": 0.03, "7T": 0.022}
# Image units: the brightest brain tissue (CSF, GM or WM) of every noiseless image is this value.
BRAIN_MAX_UNITS = 1000.0


def tissue_signal(tissue: str, field: str, contrast: str, inflow: bool = False) -> float:
    """Signed steady-state signal; `inflow` spins arrive fully relaxed and uninverted (bright vessels)."""
    params = TISSUES[tissue]
    t1, t2, t2s = params[field]
    seq = SEQUENCES[field][contrast]
    if inflow:
        longitudinal = 1.0
    elif seq["kind"] == "inversion_recovery":
        longitudinal = 1 - 2 * math.exp(-seq["TI_ms"] / t1) + math.exp(-seq["TR_ms"] / t1)
    else:
        longitudinal = 1 - math.exp(-seq["TR_ms"] / t1)
    decay = t2s if seq["kind"] == "inversion_recovery" else t2
    return params["PD"] * longitudinal * math.exp(-seq["TE_ms"] / decay)


def gain(field: str, contrast: str) -> float:
    """Receiver scaling that maps the brightest brain tissue to BRAIN_MAX_UNITS."""
    return BRAIN_MAX_UNITS / max(abs(tissue_signal(t, field, contrast)) for t in ("csf", "gm", "wm"))


def label_signals(field: str, contrast: str) -> np.ndarray:
    """Scaled signed signal of every label (background 0), indexable by label value."""
    scale = gain(field, contrast)
    return np.array(
        [0.0 if k == 0 else scale * tissue_signal(LABEL_NAMES[k], field, contrast) for k in range(N_LABELS)],
        dtype=np.float32,
    )


def noise_sigma(field: str, contrast: str) -> float:
    return NOISE_RELATIVE_TO_WM[field] * gain(field, contrast) * abs(tissue_signal("wm", field, contrast))


def mix_signal(
    fractions: np.ndarray, field: str, contrast: str, texture: np.ndarray, vessel_fraction: np.ndarray | None
) -> np.ndarray:
    """Partial-volume signal of every voxel: fraction-weighted tissue signals, optionally with bright inflow."""
    signal = np.tensordot(label_signals(field, contrast), fractions, axes=1) * (1.0 + texture)
    if vessel_fraction is not None:
        inflow = gain(field, contrast) * tissue_signal("blood", field, contrast, inflow=True)
        signal = (1.0 - vessel_fraction) * signal + vessel_fraction * inflow
    return signal.astype(np.float32)


def contrast_record() -> dict:
    """Tissue parameters, sequences and scaling as written into ground_truth.json."""
    tissues = {
        name: {
            "PD": p["PD"],
            **{f: dict(zip(("T1_ms", "T2_ms", "T2star_ms"), p[f], strict=True)) for f in FIELDS},
        }
        for name, p in TISSUES.items()
    }
    return {
        "tissues": tissues,
        "sequences": SEQUENCES,
        "signal_equations": {
            "spin_echo": "S = PD * (1 - exp(-TR/T1)) * exp(-TE/T2)",
            "inversion_recovery": "S = |PD * (1 - 2 exp(-TI/T1) + exp(-TR/T1)) * exp(-TE/T2*)|",
            "vessels_7T": "S = PD_blood * exp(-TE/T2) (fresh inflow: fully relaxed, not inverted); 7T only",
        },
        "noise_sigma_relative_to_wm": NOISE_RELATIVE_TO_WM,
        "image_units": f"brightest of CSF/GM/WM in each noiseless image = {BRAIN_MAX_UNITS:g} before bias",
    }
