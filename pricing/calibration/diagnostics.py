"""Residual checks of a fitted model: are the one-step residuals the white noise it assumes?"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats


def residual_diagnostics(residuals: NDArray[np.float64], lags: int = 10) -> dict[str, float | int | str]:
    """Summary and tests of standardised one-step residuals (standard normal i.i.d. under the model).

    Ljung-Box tests the absence of autocorrelation up to ``lags``; Jarque-Bera tests normality.
    Small p-values say the model misses structure (autocorrelation) or tails (non-normality).
    """
    z = np.asarray(residuals, dtype=float)
    z = z[np.isfinite(z)]
    n = len(z)
    if n < 8:
        return {"n": n, "note": "too few finite residuals to test"}
    lags = max(1, min(lags, n // 5))
    centred = z - z.mean()
    denominator = float(np.sum(centred**2))
    acf = np.array([np.sum(centred[k:] * centred[:-k]) / denominator for k in range(1, lags + 1)])
    q = float(n * (n + 2) * np.sum(acf**2 / (n - np.arange(1, lags + 1))))
    variance = denominator / n
    skewness = float(np.mean(centred**3) / variance**1.5) if variance > 0 else float("nan")
    kurtosis = float(np.mean(centred**4) / variance**2 - 3.0) if variance > 0 else float("nan")
    jb = n / 6.0 * (skewness**2 + kurtosis**2 / 4.0)  # Jarque-Bera, chi-square with 2 degrees of freedom
    return {
        "n": n,
        "mean": float(z.mean()),
        "std": float(z.std(ddof=1)),
        "skewness": skewness,
        "excess_kurtosis": kurtosis,
        "ljung_box_lags": lags,
        "ljung_box_stat": q,
        "ljung_box_pvalue": float(stats.chi2.sf(q, lags)),
        "jarque_bera_stat": jb,
        "jarque_bera_pvalue": float(stats.chi2.sf(jb, 2)),
    }
