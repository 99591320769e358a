"""``ecology.abundance``: species-abundance models of the pooled community, with AIC.

Broken stick, geometric series (niche preemption) and lognormal are fitted to the ranked
abundances with Poisson errors exactly as ``vegan::radfit`` does (rad.null, rad.preempt,
rad.lognormal), so their AICs are vegan's and comparable with each other. The log-series is
Fisher's: alpha solves S = alpha ln(1 + N/alpha) (``vegan::fisher.alpha``); its AIC is of the
log-series *distribution* of the species' abundances, a different likelihood, so it is
reported but not ranked against the three rank-abundance models.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.ecology.common import completed, read_counts, write_table


def _poisson_loglik(x: Any, fitted: Any) -> float:
    import numpy as np
    from scipy.special import gammaln

    with np.errstate(divide="ignore", invalid="ignore"):
        terms = x * np.log(fitted) - fitted - gammaln(x + 1)
    return float(terms.sum()) if np.isfinite(terms).all() else float("-inf")


def broken_stick(x: Any) -> Any:
    import numpy as np

    s = len(x)
    return np.cumsum(1.0 / np.arange(s, 0, -1))[::-1] / s * x.sum()


def geometric(x: Any) -> tuple[Any, float]:
    """(fitted, alpha): a_r = N alpha (1 - alpha)^(r-1), alpha by Poisson maximum likelihood."""
    import numpy as np
    from scipy.optimize import minimize_scalar

    ranks = np.arange(len(x))
    total = x.sum()

    def deviance(logit: float) -> float:
        a = 1.0 / (1.0 + np.exp(-logit))
        return -_poisson_loglik(x, total * a * (1 - a) ** ranks)

    best = minimize_scalar(deviance, bounds=(-20, 20), method="bounded",
                           options={"xatol": 1e-12})
    a = 1.0 / (1.0 + np.exp(-best.x))
    return total * a * (1 - a) ** ranks, float(a)


def lognormal(x: Any) -> tuple[Any, Any]:
    """(fitted, (mu, sigma)): Poisson GLM of abundance on -qnorm(ppoints(S)) (IRLS)."""
    import numpy as np
    from scipy.stats import norm

    s = len(x)
    a = 3 / 8 if s <= 10 else 0.5
    design = np.column_stack([np.ones(s), -norm.ppf((np.arange(1, s + 1) - a) / (s + 1 - 2 * a))])
    beta = np.array([np.log(x.mean()), 0.0])
    for _ in range(100):
        mu = np.exp(design @ beta)
        step_ = np.linalg.solve(design.T @ (design * mu[:, None]), design.T @ (x - mu))
        beta = beta + step_
        if np.abs(step_).max() < 1e-13:
            break
    return np.exp(design @ beta), beta


def fisher_logseries(x: Any) -> tuple[float, float, float]:
    """(Fisher's alpha, x parameter, log-likelihood of the abundances under the log-series)."""
    import numpy as np
    from scipy.optimize import brentq

    s, n = len(x), x.sum()
    alpha = brentq(lambda a: a * np.log1p(n / a) - s, 1e-9, 1e9, xtol=1e-14, rtol=1e-15)
    p = n / (n + alpha)
    loglik = float((x * np.log(p) - np.log(x) - np.log(-np.log1p(-p))).sum())
    return float(alpha), float(p), loglik


@step(
    "ecology.abundance",
    version="1",
    inputs={"counts": "sites x species counts (pooled over the sites)"},
    outputs={"fits": {"description": "model, parameters, log_likelihood, aic",
                      "suffixes": [".tsv"]}},
)
def abundance(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Broken stick, geometric, lognormal (vegan radfit's AIC) and Fisher's log-series fits of
    the pooled species abundances."""
    import numpy as np
    import pandas as pd

    table = read_counts(single_path(inputs, "counts"))
    x = np.sort(np.round(table.sum(axis=0).to_numpy(dtype=float)))[::-1]
    x = x[x > 0]
    if len(x) < 3:
        raise StepError(f"abundance models need at least 3 species, got {len(x)}",
                        hint="pool more sites or skip macroecology")
    stick = broken_stick(x)
    geo, geo_alpha = geometric(x)
    lnorm, (mu, sigma) = lognormal(x)
    alpha, xpar, ls_loglik = fisher_logseries(x)
    rows = [("broken_stick", "", _poisson_loglik(x, stick), 0),
            ("geometric", f"alpha={geo_alpha:.10g}", _poisson_loglik(x, geo), 1),
            ("lognormal", f"log_mu={mu:.10g};sigma={sigma:.10g}", _poisson_loglik(x, lnorm), 2),
            ("log_series", f"fisher_alpha={alpha:.10g};x={xpar:.10g}", ls_loglik, 1)]
    fits = pd.DataFrame(rows, columns=["model", "parameters", "log_likelihood", "k"])
    fits["aic"] = 2 * fits["k"] - 2 * fits["log_likelihood"]
    fits["likelihood"] = ["poisson_rank_abundance"] * 3 + ["logseries_distribution"]
    write_table(fits.set_index("model"), single_path(outputs, "fits", output=True),
                index_label="model")
    rad = fits.iloc[:3]
    best = str(rad.loc[rad["aic"].idxmin(), "model"])
    context.log.info("best rank-abundance model by AIC: %s; Fisher's alpha %.3f", best, alpha)
    return completed({"species": len(x), "individuals": float(x.sum()), "best_model": best,
                      "fisher_alpha": alpha,
                      **{f"aic_{m}": float(a) for m, a in zip(fits["model"], fits["aic"],
                                                             strict=True)}})
