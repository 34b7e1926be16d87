"""Reference DiT (Peebles & Xie, arXiv 2212.09748) in plain PyTorch, CPU float32.

This is an independent re-implementation used to produce test fixtures and to
check the Swift engine.  It is written to reproduce the numerics of the public
facebookresearch/DiT code (models.py + diffusion/*), including its quirks:

* LayerNorm eps 1e-6 without affine parameters, tanh-approximated GELU.
* Timestep embedding: 256 frequencies exp(-ln(10000) * i / 128) in float32,
  laid out as [cos | sin].
* Label table with num_classes + 1 rows; the last row (index num_classes) is
  the "null" class used for classifier-free guidance.
* Fixed 2-D sin-cos positional embedding computed in float64 and cast to
  float32.  The first half of the channels encodes the *column* index and the
  second half the *row* index (upstream builds its grid with meshgrid(w, h)).
* forward_with_cfg guidance='upstream' guides only output channels [:, :3];
  guidance='all-channels' guides [:, :in_channels].
* Diffusion: 1000 linear betas 1e-4..0.02 (float64), timestep respacing
  ("N", "ddimN", "a,b,c" sections with Python round()), learned-range
  variance when learn_sigma else fixed-large variance, epsilon prediction,
  float64 tables converted to float32 at lookup time, clip_denoised=False.

The module keeps the upstream state_dict key names so checkpoints interchange.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

GUIDANCE_MODES = ("upstream", "all-channels")


# --------------------------------------------------------------------------
# Embedding helpers
# --------------------------------------------------------------------------

def sincos_pos_embed_2d(dim: int, grid_size: int) -> np.ndarray:
    """(grid_size**2, dim) float64 table.  Token k = row * grid_size + col.

    Channels [0, dim/2) encode the column, [dim/2, dim) the row; each half is
    [sin(pos * w) | cos(pos * w)] with w_i = 1 / 10000 ** (i / (dim / 4)).
    """
    if dim % 4 != 0:
        raise ValueError(f"hidden size {dim} must be divisible by 4 for the 2-D sincos embedding")
    quarter = dim // 4
    w = np.arange(quarter, dtype=np.float64)
    w /= dim / 4.0
    w = 1.0 / 10000 ** w
    coords = np.arange(grid_size, dtype=np.float32)
    cols = np.tile(coords, grid_size)          # column index of each token
    rows = np.repeat(coords, grid_size)        # row index of each token

    def one_axis(pos):
        ang = np.einsum("m,d->md", pos, w)
        return np.concatenate([np.sin(ang), np.cos(ang)], axis=1)

    return np.concatenate([one_axis(cols), one_axis(rows)], axis=1)


def timestep_frequencies(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """[cos(t * f) | sin(t * f)], f_i = exp(-ln(max_period) * i / (dim/2)), float32."""
    half = dim // 2
    f = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    ang = t[:, None].float() * f[None]
    emb = torch.cat([torch.cos(ang), torch.sin(ang)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def _modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


# --------------------------------------------------------------------------
# Modules (attribute names chosen so state_dict keys equal upstream's)
# --------------------------------------------------------------------------

class _PatchEmbed(nn.Module):
    def __init__(self, patch: int, cin: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, kernel_size=patch, stride=patch, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, T, D)


class _TimeEmbed(nn.Module):
    def __init__(self, dim: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t):
        return self.mlp(timestep_frequencies(t, self.freq_dim))


class _LabelEmbed(nn.Module):
    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        self.num_classes = num_classes
        self.embedding_table = nn.Embedding(num_classes + 1, dim)

    def forward(self, y):
        return self.embedding_table(y)


class _SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError("hidden size must be divisible by num_heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x):
        n, T, d = x.shape
        hd = d // self.heads
        qkv = self.qkv(x).reshape(n, T, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                 # (N, H, T, hd)
        logits = (q * hd ** -0.5) @ k.transpose(-2, -1)  # (N, H, T, T)
        out = logits.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n, T, d))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=True)
        self.fc2 = nn.Linear(hidden, dim, bias=True)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        self.attn = _SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        self.mlp = _FeedForward(dim, mlp_hidden)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim, bias=True))

    def forward(self, x, c):
        sh1, sc1, g1, sh2, sc2, g2 = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + g1.unsqueeze(1) * self.attn(_modulate(self.norm1(x), sh1, sc1))
        x = x + g2.unsqueeze(1) * self.mlp(_modulate(self.norm2(x), sh2, sc2))
        return x


class _Final(nn.Module):
    def __init__(self, dim: int, patch: int, cout: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        self.linear = nn.Linear(dim, patch * patch * cout, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim, bias=True))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(_modulate(self.norm_final(x), shift, scale))


@dataclass
class DiTConfig:
    input_size: int = 32
    patch_size: int = 2
    in_channels: int = 4
    hidden_size: int = 1152
    depth: int = 28
    num_heads: int = 16
    mlp_ratio: float = 4.0
    num_classes: int = 1000
    learn_sigma: bool = True

    @property
    def out_channels(self) -> int:
        return self.in_channels * 2 if self.learn_sigma else self.in_channels

    @property
    def mlp_hidden(self) -> int:
        return int(self.hidden_size * self.mlp_ratio)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class DiT(nn.Module):
    def __init__(self, cfg: DiTConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.input_size % cfg.patch_size:
            raise ValueError("input_size must be a multiple of patch_size")
        self.grid = cfg.input_size // cfg.patch_size
        D = cfg.hidden_size
        self.x_embedder = _PatchEmbed(cfg.patch_size, cfg.in_channels, D)
        self.t_embedder = _TimeEmbed(D)
        self.y_embedder = _LabelEmbed(cfg.num_classes, D)
        pe = torch.from_numpy(sincos_pos_embed_2d(D, self.grid)).float().unsqueeze(0)
        self.pos_embed = nn.Parameter(pe, requires_grad=False)
        self.blocks = nn.ModuleList(
            [_Block(D, cfg.num_heads, cfg.mlp_hidden) for _ in range(cfg.depth)])
        self.final_layer = _Final(D, cfg.patch_size, cfg.out_channels)

    # ---- core -----------------------------------------------------------
    def _unpatchify(self, x):
        n, T, _ = x.shape
        p, c, g = self.cfg.patch_size, self.cfg.out_channels, self.grid
        x = x.reshape(n, g, g, p, p, c)
        x = x.permute(0, 5, 1, 3, 2, 4)               # n c h p w q
        return x.reshape(n, c, g * p, g * p)

    def forward(self, x, t, y):
        h = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y)
        for blk in self.blocks:
            h = blk(h, c)
        return self._unpatchify(self.final_layer(h, c))

    def forward_with_cfg(self, x, t, y, cfg_scale, guidance: str = "upstream"):
        """Batch is [cond; uncond]; only the first half of x is used (as upstream)."""
        if guidance == "upstream":
            k = 3
        elif guidance == "all-channels":
            k = self.cfg.in_channels
        else:
            raise ValueError(f"unknown guidance {guidance!r}")
        half = x[: len(x) // 2]
        out = self.forward(torch.cat([half, half], dim=0), t, y)
        eps, rest = out[:, :k], out[:, k:]
        cond, uncond = torch.split(eps, len(eps) // 2, dim=0)
        guided = uncond + cfg_scale * (cond - uncond)
        return torch.cat([torch.cat([guided, guided], dim=0), rest], dim=1)


# --------------------------------------------------------------------------
# Weights: random non-trivial init, safetensors I/O
# --------------------------------------------------------------------------

def randomize_weights(model: DiT, seed: int, gate_gain: float = 1.0) -> None:
    """Deterministic, non-zero random weights giving O(1) activations.

    Unlike upstream's adaLN-Zero init, every block and the final layer are live,
    so a wrong kernel anywhere shows up in the output.
    """
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    D = cfg.hidden_size

    def nrm(p, std):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).float() * std)

    pe = model.x_embedder.proj
    nrm(pe.weight, 1.0 / math.sqrt(cfg.in_channels * cfg.patch_size ** 2))
    nrm(pe.bias, 0.1)
    nrm(model.t_embedder.mlp[0].weight, 1.5 / math.sqrt(256))
    nrm(model.t_embedder.mlp[0].bias, 0.1)
    nrm(model.t_embedder.mlp[2].weight, 1.0 / math.sqrt(D))
    nrm(model.t_embedder.mlp[2].bias, 0.1)
    nrm(model.y_embedder.embedding_table.weight, 0.7)
    for blk in model.blocks:
        nrm(blk.attn.qkv.weight, 1.0 / math.sqrt(D))
        nrm(blk.attn.qkv.bias, 0.1)
        nrm(blk.attn.proj.weight, 1.0 / math.sqrt(D))
        nrm(blk.attn.proj.bias, 0.1)
        nrm(blk.mlp.fc1.weight, 1.0 / math.sqrt(D))
        nrm(blk.mlp.fc1.bias, 0.1)
        nrm(blk.mlp.fc2.weight, 1.0 / math.sqrt(cfg.mlp_hidden))
        nrm(blk.mlp.fc2.bias, 0.1)
        nrm(blk.adaLN_modulation[1].weight, 0.6 * gate_gain / math.sqrt(D))
        nrm(blk.adaLN_modulation[1].bias, 0.2)
    nrm(model.final_layer.adaLN_modulation[1].weight, 0.6 / math.sqrt(D))
    nrm(model.final_layer.adaLN_modulation[1].bias, 0.2)
    nrm(model.final_layer.linear.weight, 1.0 / math.sqrt(D))
    nrm(model.final_layer.linear.bias, 0.1)


def upstream_state_dict(model: DiT, include_pos_embed: bool = True) -> Dict[str, torch.Tensor]:
    sd = {k: v.detach().contiguous().float().clone() for k, v in model.state_dict().items()}
    if not include_pos_embed:
        sd.pop("pos_embed")
    return sd


def save_checkpoint(model: DiT, path: str, include_pos_embed: bool = True,
                    extra_metadata: Optional[Dict[str, str]] = None) -> None:
    from safetensors.torch import save_file
    md = {"num_heads": str(model.cfg.num_heads)}
    if extra_metadata:
        md.update(extra_metadata)
    save_file(upstream_state_dict(model, include_pos_embed), path, metadata=md)


def config_from_state_dict(sd: Dict[str, torch.Tensor], num_heads: int,
                           input_size: Optional[int] = None) -> DiTConfig:
    w = sd["x_embedder.proj.weight"]              # (D, C, p, p)
    D, C, p, _ = w.shape
    depth = 0
    while f"blocks.{depth}.attn.qkv.weight" in sd:
        depth += 1
    cout = sd["final_layer.linear.weight"].shape[0] // (p * p)
    if cout not in (C, 2 * C):
        raise ValueError(f"final layer gives {cout} channels for in_channels {C}")
    mlp_hidden = sd["blocks.0.mlp.fc1.weight"].shape[0] if depth else 4 * D
    if "pos_embed" in sd:
        T = sd["pos_embed"].shape[1]
        g = int(round(math.sqrt(T)))
        if g * g != T:
            raise ValueError("pos_embed token count is not a square")
        if input_size is not None and input_size != g * p:
            raise ValueError("input_size disagrees with pos_embed")
        input_size = g * p
    if input_size is None:
        raise ValueError("checkpoint has no pos_embed: input_size must be given")
    return DiTConfig(input_size=int(input_size), patch_size=int(p), in_channels=int(C),
                     hidden_size=int(D), depth=depth, num_heads=int(num_heads),
                     mlp_ratio=mlp_hidden / D, num_classes=sd["y_embedder.embedding_table.weight"].shape[0] - 1,
                     learn_sigma=(cout == 2 * C))


def load_checkpoint(path: str, input_size: Optional[int] = None) -> DiT:
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        md = f.metadata() or {}
        sd = {k: f.get_tensor(k) for k in f.keys()}
    cfg = config_from_state_dict(sd, int(md["num_heads"]), input_size)
    model = DiT(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected or [m for m in missing if m != "pos_embed"]:
        raise ValueError(f"checkpoint mismatch: missing={missing} unexpected={unexpected}")
    model.eval()
    return model


# --------------------------------------------------------------------------
# Diffusion
# --------------------------------------------------------------------------

def linear_betas(num_steps: int = 1000) -> np.ndarray:
    scale = 1000 / num_steps
    return np.linspace(scale * 0.0001, scale * 0.02, num_steps, dtype=np.float64)


def space_timesteps(num_timesteps: int, spec) -> List[int]:
    """Sorted list of kept timesteps ('N', 'ddimN', 'a,b,...' or list of ints)."""
    if isinstance(spec, str):
        if spec.startswith("ddim"):
            want = int(spec[4:])
            for stride in range(1, num_timesteps):
                if len(range(0, num_timesteps, stride)) == want:
                    return list(range(0, num_timesteps, stride))
            raise ValueError(f"cannot create exactly {want} steps with an integer stride")
        spec = [int(s) for s in spec.split(",")]
    counts = list(spec)
    base, extra = divmod(num_timesteps, len(counts))
    kept, start = set(), 0
    for i, count in enumerate(counts):
        size = base + (1 if i < extra else 0)
        if size < count:
            raise ValueError(f"cannot divide section of {size} steps into {count}")
        stride = 1 if count <= 1 else (size - 1) / (count - 1)
        pos = 0.0
        for _ in range(count):
            kept.add(start + round(pos))
            pos += stride
        start += size
    return sorted(kept)


def _lookup(table: np.ndarray, t: torch.Tensor, shape) -> torch.Tensor:
    """float64 table[t] -> float32, broadcast to `shape` (like upstream)."""
    v = torch.from_numpy(table)[t].float()
    while v.dim() < len(shape):
        v = v[..., None]
    return v + torch.zeros(shape)


def _approx_std_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def _gauss_kl(m1, lv1, m2, lv2):
    return 0.5 * (-1.0 + lv2 - lv1 + torch.exp(lv1 - lv2) + (m1 - m2) ** 2 * torch.exp(-lv2))


def _discretized_gauss_loglik(x, means, log_scales):
    cx = x - means
    inv = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv * (cx + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv * (cx - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_1m_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_1m_cdf_min, delta))


class Diffusion:
    """Respaced Gaussian diffusion, epsilon prediction (DiT's create_diffusion)."""

    def __init__(self, timesteps: Sequence[int], learn_sigma: bool, base_steps: int = 1000):
        base = linear_betas(base_steps)
        base_ac = np.cumprod(1.0 - base, axis=0)
        keep = set(int(t) for t in timesteps)
        self.timestep_map: List[int] = []
        betas, last = [], 1.0
        for i, ac in enumerate(base_ac):
            if i in keep:
                betas.append(1 - ac / last)
                last = ac
                self.timestep_map.append(i)
        self.learn_sigma = learn_sigma
        self._tables(np.array(betas, dtype=np.float64))

    def _tables(self, betas):
        self.betas = betas
        self.num_timesteps = len(betas)
        ac = np.cumprod(1.0 - betas, axis=0)
        ac_prev = np.append(1.0, ac[:-1])
        self.alphas_cumprod, self.alphas_cumprod_prev = ac, ac_prev
        self.sqrt_alphas_cumprod = np.sqrt(ac)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - ac)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / ac)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / ac - 1)
        pv = betas * (1.0 - ac_prev) / (1.0 - ac)
        self.posterior_variance = pv
        self.posterior_log_variance_clipped = (
            np.log(np.append(pv[1], pv[1:])) if len(pv) > 1 else np.array([]))
        self.posterior_mean_coef1 = betas * np.sqrt(ac_prev) / (1.0 - ac)
        self.posterior_mean_coef2 = (1.0 - ac_prev) * np.sqrt(1.0 - betas) / (1.0 - ac)
        self.log_betas = np.log(betas)
        fixed_large = np.append(pv[1], betas[1:]) if len(pv) > 1 else betas.copy()
        self.fixed_large_var = fixed_large
        self.fixed_large_log_var = np.log(fixed_large)

    # ---- pieces ----------------------------------------------------------
    def q_sample(self, x0, t, noise):
        return (_lookup(self.sqrt_alphas_cumprod, t, x0.shape) * x0
                + _lookup(self.sqrt_one_minus_alphas_cumprod, t, x0.shape) * noise)

    def q_posterior(self, x0, xt, t):
        mean = (_lookup(self.posterior_mean_coef1, t, xt.shape) * x0
                + _lookup(self.posterior_mean_coef2, t, xt.shape) * xt)
        return mean, _lookup(self.posterior_log_variance_clipped, t, xt.shape)

    def _split_output(self, out, x, t):
        """-> (eps, log_variance) following the variance type."""
        C = x.shape[1]
        if self.learn_sigma:
            if out.shape[1] != 2 * C:
                raise ValueError("learn_sigma model must output 2*C channels")
            eps, v = torch.split(out, C, dim=1)
            lo = _lookup(self.posterior_log_variance_clipped, t, x.shape)
            hi = _lookup(self.log_betas, t, x.shape)
            frac = (v + 1) / 2
            return eps, frac * hi + (1 - frac) * lo
        return out, _lookup(self.fixed_large_log_var, t, x.shape)

    def predict_x0(self, x, t, eps):
        return (_lookup(self.sqrt_recip_alphas_cumprod, t, x.shape) * x
                - _lookup(self.sqrt_recipm1_alphas_cumprod, t, x.shape) * eps)

    def p_mean_variance(self, model_fn, x, t):
        """model_fn receives the ORIGINAL-scale timesteps (timestep_map[t])."""
        tm = torch.tensor(self.timestep_map, dtype=t.dtype)[t]
        out = model_fn(x, tm)
        eps, log_var = self._split_output(out, x, t)
        x0 = self.predict_x0(x, t, eps)
        mean, _ = self.q_posterior(x0, x, t)
        return mean, log_var, x0

    # ---- samplers --------------------------------------------------------
    def p_sample_loop(self, model_fn, z, noise: Sequence[torch.Tensor]):
        x = z
        for k, i in enumerate(range(self.num_timesteps - 1, -1, -1)):
            t = torch.full((x.shape[0],), i, dtype=torch.int64)
            mean, log_var, _ = self.p_mean_variance(model_fn, x, t)
            mask = (t != 0).float().view(-1, *([1] * (x.dim() - 1)))
            x = mean + mask * torch.exp(0.5 * log_var) * noise[k]
        return x

    def ddim_sample_loop(self, model_fn, z, noise: Sequence[torch.Tensor], eta: float = 0.0):
        x = z
        for k, i in enumerate(range(self.num_timesteps - 1, -1, -1)):
            t = torch.full((x.shape[0],), i, dtype=torch.int64)
            _, _, x0 = self.p_mean_variance(model_fn, x, t)
            eps = ((_lookup(self.sqrt_recip_alphas_cumprod, t, x.shape) * x - x0)
                   / _lookup(self.sqrt_recipm1_alphas_cumprod, t, x.shape))
            ab = _lookup(self.alphas_cumprod, t, x.shape)
            ab_prev = _lookup(self.alphas_cumprod_prev, t, x.shape)
            sigma = eta * torch.sqrt((1 - ab_prev) / (1 - ab)) * torch.sqrt(1 - ab / ab_prev)
            mean = x0 * torch.sqrt(ab_prev) + torch.sqrt(1 - ab_prev - sigma ** 2) * eps
            mask = (t != 0).float().view(-1, *([1] * (x.dim() - 1)))
            x = mean + mask * sigma * noise[k]
        return x

    # ---- training (IDDPM hybrid loss, as DiT's train.py) --------------------
    def training_losses(self, model_fn, x0, t, noise):
        xt = self.q_sample(x0, t, noise)
        out = model_fn(xt, t)
        C = x0.shape[1]
        terms = {}
        if self.learn_sigma:
            eps, v = torch.split(out, C, dim=1)
            frozen = torch.cat([eps.detach(), v], dim=1)
            e2, log_var = self._split_output(frozen, xt, t)
            mean, _ = self.q_posterior(self.predict_x0(xt, t, e2), xt, t)
            true_mean, true_lv = self.q_posterior(x0, xt, t)
            kl = _gauss_kl(true_mean, true_lv, mean, log_var).mean(dim=(1, 2, 3)) / np.log(2.0)
            nll = -_discretized_gauss_loglik(x0, mean, 0.5 * log_var).mean(dim=(1, 2, 3)) / np.log(2.0)
            terms["vb"] = torch.where(t == 0, nll, kl)
        else:
            eps = out
        terms["mse"] = ((noise - eps) ** 2).mean(dim=(1, 2, 3))
        terms["loss"] = terms["mse"] + terms.get("vb", 0.0)
        return terms


def default_respacing(sampler: str, steps: int, diffusion_steps: int = 1000) -> str:
    """`dit sample`'s respacing for --sampler/--steps: ddimN for ddim when 1000 splits into N
    steps of an integer stride (the IDDPM/ADM --use_ddim convention), else str(steps)."""
    if sampler == "ddim":
        try:
            space_timesteps(diffusion_steps, f"ddim{steps}")
            return f"ddim{steps}"
        except ValueError:
            pass
    return str(steps)


def create_diffusion(respacing, learn_sigma: bool = True, diffusion_steps: int = 1000) -> Diffusion:
    if respacing is None or respacing == "":
        respacing = [diffusion_steps]
    return Diffusion(space_timesteps(diffusion_steps, respacing), learn_sigma, diffusion_steps)


# --------------------------------------------------------------------------
# High-level sampling as in DiT's sample.py (injected noise)
# --------------------------------------------------------------------------

def add_sampling_args(ap) -> None:
    """The sampler options the reference scripts share (torch_dump.py, sample_reference.py)."""
    ap.add_argument("--sampler", default="ddpm", choices=["ddpm", "ddim"])
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--cfg-scale", type=float, default=4.0)
    ap.add_argument("--eta", type=float, default=0.0)
    ap.add_argument("--guidance", default="upstream", choices=GUIDANCE_MODES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", help="safetensors with z and noise (steps,N,C,H,W)")
    ap.add_argument("--threads", type=int, default=1)


def injected_noise(args, shape):
    """z (shape) and the per-step noise list: from --noise, else drawn from torch.manual_seed(--seed)
    in sample.py's order (z, then one randn per step)."""
    if args.noise:
        from safetensors.torch import load_file
        d = load_file(args.noise)
        return d["z"], list(d["noise"])
    g = torch.Generator().manual_seed(args.seed)
    z = torch.randn(shape, generator=g)
    return z, [torch.randn(shape, generator=g) for _ in range(args.steps)]


def sample(model: DiT, diffusion: Diffusion, y: torch.Tensor, z: torch.Tensor,
           noise: Sequence[torch.Tensor], sampler: str = "ddpm", cfg_scale: float = 1.0,
           eta: float = 0.0, guidance: str = "upstream") -> torch.Tensor:
    """z: (N,C,H,W); noise[k]: (N,C,H,W) for loop step k (k=0: highest t).

    cfg_scale != 1: batch [z; z], labels [y; null], step noise [noise[k]; noise[k]],
    model = forward_with_cfg; the first N rows are returned.
    """
    n = z.shape[0]
    with torch.no_grad():
        if cfg_scale == 1.0:
            fn = lambda x, t: model(x, t, y)
            x0, nz = z, list(noise)
        else:
            null = torch.full_like(y, model.cfg.num_classes)
            yy = torch.cat([y, null])
            fn = lambda x, t: model.forward_with_cfg(x, t, yy, cfg_scale, guidance)
            x0 = torch.cat([z, z])
            nz = [torch.cat([e, e]) for e in noise]
        if sampler == "ddpm":
            out = diffusion.p_sample_loop(fn, x0, nz)
        elif sampler == "ddim":
            out = diffusion.ddim_sample_loop(fn, x0, nz, eta=eta)
        else:
            raise ValueError(f"unknown sampler {sampler!r}")
    return out[:n]
