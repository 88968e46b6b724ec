"""Two-stage fine-tuning (TSFT) of the base model to a new device.

A device head predicts standardised latency from the base encoder's penultimate features ``h``:
``z = w . head(h) + b + v . r(cell)``, where ``head`` is the encoder's last layer (a per-device
copy) and ``r`` are cell-structure features (op-type counts over all edges and over live edges,
(edge, op) indicators, a flag for cells whose output does not depend on their input) that let a device unlike every training device
still be fitted.

Stage 1 (the 50 labelled cells): labels are standardised by their own mean/std; ``(w, b)`` get a
Gaussian prior fitted to the training devices' embeddings and ``v`` a zero-mean prior per feature
group; the prior scales and the noise level are chosen by maximising the marginal likelihood
(evidence) of the labelled cells, which gives the MAP embedding in closed form. Then ``(w, b, v)``
and the head layer are fine-tuned by gradient steps on the same MAP objective, the head held near
the base weights (L2-SP).
Stage 2 (unlabelled cells): the stage-1 model labels a sample of unlabelled cells; fine-tuning
continues on labelled + pseudo-labelled cells (the pseudo-labelled term weighted by ``alpha``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch

from agents.latency.nb201 import N_EDGES, N_OPS, all_ops, as_ops, live_edges

#: Groups of residual features (one prior scale each): name -> columns of :func:`residual_features`.
RESIDUAL_GROUPS: tuple[tuple[str, slice], ...] = (
    ("op_counts", slice(0, 2 * (N_OPS - 1))),  # per op type: all edges, live edges only
    ("edge_ops", slice(2 * (N_OPS - 1), 2 * (N_OPS - 1) + N_EDGES * (N_OPS - 1))),
    (
        "disconnected",
        slice(2 * (N_OPS - 1) + N_EDGES * (N_OPS - 1), 2 * (N_OPS - 1) + N_EDGES * (N_OPS - 1) + 1),
    ),
)
N_RESIDUAL = 2 * (N_OPS - 1) + N_EDGES * (N_OPS - 1) + 1  # 4 + 4 + 24 + 1


@cache
def _residual_means() -> np.ndarray:
    return _raw_residual(all_ops()).mean(axis=0)


def _raw_residual(ops: np.ndarray) -> np.ndarray:
    n = ops.shape[0]
    live = live_edges(ops)
    counts = np.stack([(ops == o).sum(axis=1) for o in range(1, N_OPS)], axis=1)
    live_counts = np.stack([((ops == o) & live).sum(axis=1) for o in range(1, N_OPS)], axis=1)
    onehot = np.zeros((n, N_EDGES, N_OPS - 1))
    rows, edges = np.nonzero(ops > 0)
    onehot[rows, edges, ops[rows, edges] - 1] = 1.0
    disc = (~live.any(axis=1)).astype(np.float64)[:, None]
    return np.concatenate([counts, live_counts, onehot.reshape(n, -1), disc], axis=1).astype(
        np.float64
    )


def residual_features(ops: np.ndarray) -> np.ndarray:
    """[N, 33] structure features: op-type counts (all edges, live edges), (edge, op) indicators
    and a disconnected-cell flag, centred on their mean over the NB201 space."""
    return _raw_residual(as_ops(ops)) - _residual_means()


@dataclass
class DeviceHead:
    """Everything that makes the base network predict one device (ms)."""

    w: np.ndarray  # [feature_dim]
    b: float
    v: np.ndarray  # [N_RESIDUAL]
    head_weight: np.ndarray  # [feature_dim, head_hidden]
    head_bias: np.ndarray  # [feature_dim]
    mean_ms: float
    std_ms: float
    kind: str | None = None
    info: dict[str, float] = field(default_factory=dict)

    def predict_z(self, pen: np.ndarray, resid: np.ndarray) -> np.ndarray:
        feats = pen @ self.head_weight.T + self.head_bias
        return feats @ self.w + self.b + resid @ self.v

    def predict_ms(self, pen: np.ndarray, resid: np.ndarray) -> np.ndarray:
        """Latency (ms), floored at a thousandth of the device's mean (never zero or negative)."""
        ms = self.predict_z(pen, resid) * self.std_ms + self.mean_ms
        return np.maximum(ms, 1e-3 * abs(self.mean_ms))


@dataclass(frozen=True)
class AdaptConfig:
    """Knobs of the two-stage fine-tuning (defaults are the ones reported)."""

    steps1: int = 50
    steps2: int = 50
    lr: float = 1e-3
    head_l2sp: float = 10.0  # pull of the head layer towards the base weights
    n_pseudo: int = 2000
    alpha: float = 1.0  # weight of the pseudo-labelled term in stage 2
    stage2: bool = True
    residual: bool = True
    sigma2_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3)
    tau2_grid: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1)
    prior_jitter: float = 1e-3


@dataclass
class PriorFit:
    sigma2: float
    tau2: dict[str, float]
    log_evidence: float


def embedding_prior(heads: list[DeviceHead], jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the training devices' ``(w, b)``."""
    emb = np.stack([np.r_[h.w, h.b] for h in heads])
    mean = emb.mean(axis=0)
    cov = np.cov(emb.T) if len(heads) > 1 else np.zeros((emb.shape[1],) * 2)
    return mean, cov + jitter * np.eye(emb.shape[1])


def _prior(mu: np.ndarray, cov: np.ndarray, tau2: dict[str, float], residual: bool):
    if not residual:
        return mu, cov
    m0 = np.r_[mu, np.zeros(N_RESIDUAL)]
    s0 = np.zeros((len(m0), len(m0)))
    k = len(mu)
    s0[:k, :k] = cov
    for name, cols in RESIDUAL_GROUPS:
        idx = np.arange(k + cols.start, k + cols.stop)
        s0[idx, idx] = tau2[name]
    return m0, s0


def _map(
    phi: np.ndarray, z: np.ndarray, m0: np.ndarray, s0: np.ndarray, sigma2: float
) -> np.ndarray:
    """Posterior mean, via the n x n system (works with singular prior covariances)."""
    k = phi @ s0 @ phi.T + sigma2 * np.eye(len(z))
    return m0 + s0 @ phi.T @ np.linalg.solve(k, z - phi @ m0)


def fit_prior(
    phi: np.ndarray, z: np.ndarray, mu: np.ndarray, cov: np.ndarray, cfg: AdaptConfig
) -> tuple[np.ndarray, PriorFit]:
    """Evidence-maximising prior scales and noise, and the MAP ``[w, b, v]`` under them.

    The marginal covariance of the labels is ``Phi_e C Phi_e' + sum_g tau2_g Phi_g Phi_g' +
    sigma2 I``; one eigendecomposition per prior-scale combination scores every noise level."""
    k = len(mu)
    names = [name for name, _ in RESIDUAL_GROUPS] if cfg.residual else []
    phi_e = phi[:, :k]
    emb_gram = phi_e @ cov @ phi_e.T
    grams = [
        phi[:, k + cols.start : k + cols.stop] @ phi[:, k + cols.start : k + cols.stop].T
        for _, cols in RESIDUAL_GROUPS[: len(names)]
    ]
    resid = z - phi_e @ mu  # the residual coefficients have prior mean 0
    sigma2s = np.asarray(cfg.sigma2_grid, dtype=np.float64)
    best: tuple[float, float, dict[str, float]] | None = None
    for taus in itertools.product(cfg.tau2_grid, repeat=len(names)):
        gram = emb_gram + sum(
            (t * g for t, g in zip(taus, grams, strict=True)), np.zeros_like(emb_gram)
        )
        # torch's eigh honours torch.set_num_threads; numpy's multithreaded OpenBLAS can be 30x
        # slower on a busy machine for matrices this small
        lam_t, vec_t = torch.linalg.eigh(torch.from_numpy(gram))
        lam, vec = np.maximum(lam_t.numpy(), 0.0), vec_t.numpy()
        proj2 = (vec.T @ resid) ** 2
        # log N(resid; 0, gram + sigma2 I) up to a constant, for every sigma2 at once
        denom = lam[None, :] + sigma2s[:, None]
        les = -0.5 * (proj2[None, :] / denom).sum(axis=1) - 0.5 * np.log(denom).sum(axis=1)
        i = int(np.argmax(les))
        if best is None or les[i] > best[0]:
            best = (float(les[i]), float(sigma2s[i]), dict(zip(names, taus, strict=True)))
    assert best is not None
    le, sigma2, tau2 = best
    m0, s0 = _prior(mu, cov, tau2, cfg.residual)
    return _map(phi, z, m0, s0, sigma2), PriorFit(sigma2=sigma2, tau2=tau2, log_evidence=le)


def two_stage_finetune(
    base: DeviceHead,
    mu: np.ndarray,
    cov: np.ndarray,
    pen_l: np.ndarray,
    resid_l: np.ndarray,
    y_ms: np.ndarray,
    pen_u: np.ndarray,
    resid_u: np.ndarray,
    cfg: AdaptConfig = AdaptConfig(),
    seed: int = 0,
) -> tuple[DeviceHead, DeviceHead]:
    """Adapt to a new device from labelled cells (``pen_l``, ``resid_l``, ``y_ms``) and unlabelled
    ones (``pen_u``, ``resid_u``); returns (stage-1 head, final head)."""
    t0 = time.perf_counter()
    y_ms = np.asarray(y_ms, dtype=np.float64)
    if len(y_ms) < 3:
        raise ValueError(f"need at least 3 labelled cells to adapt, got {len(y_ms)}")
    mean, std = float(y_ms.mean()), float(y_ms.std())
    if not np.isfinite(std) or std <= 0:
        raise ValueError("labelled latencies are all equal; cannot adapt")
    z = (y_ms - mean) / std
    feats_l = pen_l @ base.head_weight.T + base.head_bias
    phi = np.c_[feats_l, np.ones(len(z))]
    if cfg.residual:
        phi = np.c_[phi, resid_l]
    theta, prior = fit_prior(phi, z, mu, cov, cfg)
    k = len(mu) - 1
    closed = DeviceHead(
        w=theta[:k],
        b=float(theta[k]),
        v=theta[k + 1 :] if cfg.residual else np.zeros(N_RESIDUAL),
        head_weight=base.head_weight.copy(),
        head_bias=base.head_bias.copy(),
        mean_ms=mean,
        std_ms=std,
    )
    t_closed = time.perf_counter() - t0

    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    m0, s0 = _prior(mu, cov, prior.tau2, cfg.residual)
    fit = _Finetuner(closed, m0, s0, prior, cfg)
    fit.run(
        torch.as_tensor(pen_l, dtype=torch.float32),
        torch.as_tensor(resid_l, dtype=torch.float32),
        torch.as_tensor(z, dtype=torch.float32),
        cfg.steps1,
    )
    stage1 = fit.head()
    t1 = time.perf_counter() - t0
    final = stage1
    n_pseudo = 0
    if cfg.stage2 and cfg.steps2 > 0 and len(pen_u):
        pick = gen.choice(len(pen_u), size=min(cfg.n_pseudo, len(pen_u)), replace=False)
        pu = torch.as_tensor(pen_u[pick], dtype=torch.float32)
        ru = torch.as_tensor(resid_u[pick], dtype=torch.float32)
        with torch.no_grad():
            pseudo = fit.predict(pu, ru)
        fit.run(
            torch.as_tensor(pen_l, dtype=torch.float32),
            torch.as_tensor(resid_l, dtype=torch.float32),
            torch.as_tensor(z, dtype=torch.float32),
            cfg.steps2,
            pseudo=(pu, ru, pseudo),
        )
        final = fit.head()
        n_pseudo = len(pick)
    info = {
        "n_labelled": float(len(z)),
        "n_pseudo": float(n_pseudo),
        "sigma2": prior.sigma2,
        **{f"tau2_{name}": v for name, v in prior.tau2.items()},
        "log_evidence": prior.log_evidence,
        "closed_form_s": t_closed,
        "stage1_s": t1,
        "finetune_s": time.perf_counter() - t0,
    }
    stage1.info = dict(info, stage2=0.0)
    final.info = dict(info, stage2=float(final is not stage1))
    return stage1, final


class _Finetuner:
    """Gradient fine-tuning of ``(w, b, v)`` and the head layer on the MAP objective."""

    def __init__(
        self, start: DeviceHead, m0: np.ndarray, s0: np.ndarray, prior: PriorFit, cfg: AdaptConfig
    ):
        self.start = start
        self.cfg = cfg
        self.sigma2 = prior.sigma2
        k = len(start.w)
        # parameters with zero prior variance stay fixed at the prior mean (0 for unused groups)
        var = np.diag(s0)
        self.free = np.nonzero(var > 0)[0] if cfg.residual else np.arange(k + 1)
        sub = s0[np.ix_(self.free, self.free)]
        self.prec = torch.as_tensor(np.linalg.inv(sub), dtype=torch.float32)
        self.m0 = torch.as_tensor(m0[self.free], dtype=torch.float32)
        theta = np.r_[start.w, start.b, start.v] if cfg.residual else np.r_[start.w, start.b]
        self.theta_fixed = torch.as_tensor(theta, dtype=torch.float32)
        self.theta = torch.nn.Parameter(self.theta_fixed[self.free].clone())
        self.hw0 = torch.as_tensor(start.head_weight, dtype=torch.float32)
        self.hb0 = torch.as_tensor(start.head_bias, dtype=torch.float32)
        self.hw = torch.nn.Parameter(self.hw0.clone())
        self.hb = torch.nn.Parameter(self.hb0.clone())
        self.k = k
        self.opt = torch.optim.Adam([self.theta, self.hw, self.hb], lr=cfg.lr)

    def _full(self) -> torch.Tensor:
        full = self.theta_fixed.clone()
        full[torch.as_tensor(self.free)] = self.theta
        return full

    def predict(self, pen: torch.Tensor, resid: torch.Tensor) -> torch.Tensor:
        full = self._full()
        feats = pen @ self.hw.T + self.hb
        out = feats @ full[: self.k] + full[self.k]
        if self.cfg.residual:
            out = out + resid @ full[self.k + 1 :]
        return out

    def run(self, pen, resid, z, steps: int, pseudo=None) -> None:
        n = len(z)
        for _ in range(steps):
            err = ((self.predict(pen, resid) - z) ** 2).sum() / self.sigma2
            if pseudo is not None:
                pu, ru, yp = pseudo
                err = (
                    err
                    + self.cfg.alpha * n * ((self.predict(pu, ru) - yp) ** 2).mean() / self.sigma2
                )
            d = self.theta - self.m0
            reg = d @ self.prec @ d + self.cfg.head_l2sp * (
                ((self.hw - self.hw0) ** 2).sum() + ((self.hb - self.hb0) ** 2).sum()
            )
            loss = (err + reg) / n
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def head(self) -> DeviceHead:
        with torch.no_grad():
            full = self._full().double().numpy()
        k = self.k
        return DeviceHead(
            w=full[:k].copy(),
            b=float(full[k]),
            v=full[k + 1 :].copy() if self.cfg.residual else np.zeros(N_RESIDUAL),
            head_weight=self.hw.detach().double().numpy().copy(),
            head_bias=self.hb.detach().double().numpy().copy(),
            mean_ms=self.start.mean_ms,
            std_ms=self.start.std_ms,
        )
