#!/usr/bin/env python3
"""Builds PEFT (LoRA and variants) adapters over the tiny base checkpoints and writes golden values for the Java tests.

Run with a Python that has torch (tested with torch 1.13), e.g. Debian's /usr/bin/python3, AFTER make_fixtures.py
(the base checkpoints and their inputs are read from model-zoo/src/test/resources/fixtures/<base>/):

    /usr/bin/python3 model-zoo/src/test/python/make_peft_fixtures.py

Neither `peft`, `transformers` nor `safetensors` is needed. The LoRA maths below is an independent re-statement of
huggingface/peft v0.20.0 (the last release when this was written; the LoRA code paths used here are unchanged on the
main branch after it, except the `bias="lora_only"` save fix noted below). References are to files of that tag:

    layer.py     = src/peft/tuners/lora/layer.py       (LoraLayer.update_layer, reset_lora_parameters, pissa_init,
                                                         Linear.forward / merge / get_delta_weight)
    dora.py      = src/peft/tuners/lora/dora.py        (DoraLinearLayer.get_weight_norm / forward)
    variants.py  = src/peft/tuners/lora/variants.py    (DoraLinearVariant.init / merge_unsafe / forward)
    config.py    = src/peft/tuners/lora/config.py      (LoraConfig fields and __post_init__)
    model.py     = src/peft/tuners/lora/model.py       (_create_and_replace: rank/alpha patterns, dispatch)
    tuners_utils = src/peft/tuners/tuners_utils.py     (check_target_module_exists, _maybe_include_all_linear_layers,
                                                         _mark_only_adapters_as_trainable, _unload_and_optionally_merge)
    other.py     = src/peft/utils/other.py             (get_pattern_key, match_target_against_key, transpose,
                                                         ModulesToSaveWrapper)
    save_and_load.py = src/peft/utils/save_and_load.py (get_peft_model_state_dict)
    peft_model.py    = src/peft/peft_model.py          (PeftModel.save_pretrained)

The base models (Llama family, GPT-2) and the safetensors reader/writer come from make_fixtures.py, imported as a
module; the LoRA layers are spliced into its forward functions by swapping its `_lin` / `_conv1d` helpers.
All maths runs in float64 on the float32 stored values; results are stored as float32. See README.md next to this
file and fixtures/peft/MANIFEST.md for the conventions.
"""

import json
import math
import re
import sys
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_fixtures as mf  # noqa: E402  (base models, loss, safetensors I/O)

FIX_ROOT = mf.OUT_ROOT
OUT_ROOT = FIX_ROOT / "peft"
PEFT_VERSION = "0.20.0"
PREFIX = "base_model.model."  # PeftModel.base_model (LoraModel) .model (the HF model): state_dict key prefix
F64 = torch.float64

# ----------------------------------------------------------------------------------------------
# LoraConfig as PeftModel.save_pretrained writes it (config.py, ../../config.py)
# ----------------------------------------------------------------------------------------------


def adapter_config(base_dir, overrides):
    """The full field set of LoraConfig v0.20.0 after `asdict` (PeftConfigMixin + PeftConfig + LoraConfig fields).

    - LoraConfig.to_dict pops `runtime_config` (config.py, LoraConfig.to_dict).
    - PeftModel.save_pretrained sets `inference_mode` True while writing and fills `base_model_name_or_path`
      (peft_model.py, save_pretrained "save the config and change the inference mode to `True`").
    - PeftConfigMixin.save_pretrained turns sets into lists and writes json.dumps(indent=2, sort_keys=True), no
      trailing newline (../../config.py). LoraConfig.__post_init__ turns a list `target_modules` into a set, so its
      order in a real file is arbitrary; here it is sorted (readers must treat it as a set).
    - peft_version is "<version>" for a release (PeftConfigMixin._get_peft_version).
    """
    d = {
        # PeftConfigMixin / PeftConfig
        "task_type": "CAUSAL_LM",
        "peft_type": "LORA",
        "auto_mapping": None,  # only set when task_type is None
        "peft_version": PEFT_VERSION,
        "base_model_name_or_path": base_dir,
        "revision": None,
        "inference_mode": True,
        # LoraConfig (declaration order of config.py; defaults)
        "r": 8,
        "target_modules": None,
        "exclude_modules": None,
        "lora_alpha": 8,
        "lora_dropout": 0.0,
        "fan_in_fan_out": False,
        "bias": "none",
        "use_rslora": False,
        "modules_to_save": None,
        "init_lora_weights": True,
        "layers_to_transform": None,
        "layers_pattern": None,
        "rank_pattern": {},
        "alpha_pattern": {},
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "trainable_token_indices": None,
        "loftq_config": {},
        "eva_config": None,
        "corda_config": None,
        "lora_ga_config": None,
        "use_dora": False,
        "velora_config": None,
        "alora_invocation_tokens": None,
        "use_qalora": False,
        "qalora_group_size": 16,
        "monteclora_config": None,
        "layer_replication": None,
        "lora_bias": False,
        "target_parameters": None,
        "use_bdlora": None,
        "arrow_config": None,
        "ensure_weight_tying": False,
    }
    for k in overrides:
        assert k in d, f"not a LoraConfig field: {k}"
    d.update(overrides)
    return d


# ----------------------------------------------------------------------------------------------
# module trees (names as HF's named_modules() yields them) and PEFT's target matching
# ----------------------------------------------------------------------------------------------


def named_modules(kind, cfg):
    """(name, type) for every module of LlamaForCausalLM / GPT2LMHeadModel, in named_modules() order."""
    out = [("", "root")]
    if kind == "llama":
        out += [("model", "Model"), ("model.embed_tokens", "Embedding"), ("model.layers", "ModuleList")]
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}"
            out += [(p, "DecoderLayer"), (p + ".self_attn", "Attention")]
            out += [(f"{p}.self_attn.{n}_proj", "Linear") for n in "qkvo"]
            out += [(p + ".mlp", "MLP")] + [(f"{p}.mlp.{n}_proj", "Linear") for n in ("gate", "up", "down")]
            out += [(p + ".mlp.act_fn", "SiLU"), (p + ".input_layernorm", "RMSNorm"),
                    (p + ".post_attention_layernorm", "RMSNorm")]
        out += [("model.norm", "RMSNorm"), ("model.rotary_emb", "RotaryEmbedding"), ("lm_head", "Linear")]
    else:
        out += [("transformer", "Model"), ("transformer.wte", "Embedding"), ("transformer.wpe", "Embedding"),
                ("transformer.drop", "Dropout"), ("transformer.h", "ModuleList")]
        for i in range(cfg["n_layer"]):
            p = f"transformer.h.{i}"
            out += [(p, "Block"), (p + ".ln_1", "LayerNorm"), (p + ".attn", "Attention"),
                    (p + ".attn.c_attn", "Conv1D"), (p + ".attn.c_proj", "Conv1D"),
                    (p + ".attn.attn_dropout", "Dropout"), (p + ".attn.resid_dropout", "Dropout"),
                    (p + ".ln_2", "LayerNorm"), (p + ".mlp", "MLP"), (p + ".mlp.c_fc", "Conv1D"),
                    (p + ".mlp.c_proj", "Conv1D"), (p + ".mlp.act", "NewGELU"), (p + ".mlp.dropout", "Dropout")]
        out += [("transformer.ln_f", "LayerNorm"), ("lm_head", "Linear")]
    return out


LINEAR_TYPES = ("Linear", "Conv1D")
# utils/constants.py TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (used when target_modules is None)
DEFAULT_TARGETS = {"llama": ["q_proj", "v_proj"], "gpt2": ["c_attn"]}


def expand_all_linear(modules):
    """tuners_utils._maybe_include_all_linear_layers: every nn.Linear / Conv1D by FULL module name (since PEFT 0.14,
    #2267; earlier versions collected the last name component), minus the output embedding (`lm_head`, found via
    get_output_embeddings()). Returned as a set, which is what gets saved."""
    return {n for n, t in modules if t in LINEAR_TYPES and n != "lm_head"}


def is_targeted(conf, key):
    """tuners_utils.check_target_module_exists (no exclude_modules, no layers_to_transform in these cases)."""
    mts = conf["modules_to_save"]
    if mts and any(re.match(rf"(^|.*\.){m}($|\..*)", key) for m in mts):
        return False  # adapters never target a modules_to_save module
    tm = conf["target_modules"]
    if isinstance(tm, str):
        return re.fullmatch(tm, key) is not None  # other.match_target_against_key: full regex match
    return key in tm or any(key.endswith("." + t) for t in tm)  # list: exact name or suffix at a "." boundary


def pattern_key(pattern_keys, key):
    """other.get_pattern_key: the first pattern (dict order) P with re.match(rf"(.*\\.)?({P})$", key)."""
    for p in pattern_keys:
        if re.match(rf"(.*\.)?({p})$", key):
            return p
    return key


# ----------------------------------------------------------------------------------------------
# LoRA layer maths
# ----------------------------------------------------------------------------------------------


def transpose(w, fan_in_fan_out):
    return w.transpose(0, 1) if fan_in_fan_out else w  # other.transpose


def row_norm(w):
    return torch.linalg.norm(w, dim=1)  # dora.py get_weight_norm: L2 norm per output row of the [out, in] weight


class LoraLayer:
    """One targeted module. A [r, in] and B [out, r] in nn.Linear layout for Linear AND Conv1D (layer.py
    update_layer: nn.Linear(in_features, r), nn.Linear(r, out_features); for Conv1D in/out come from its [in, out]
    weight, tuners_utils._get_in_out_features)."""

    def __init__(self, name, r, alpha, use_rslora, fan_in_fan_out, use_dora):
        self.name = name
        self.r, self.alpha = r, alpha
        # layer.py update_layer: scaling = lora_alpha / sqrt(r) with use_rslora, else lora_alpha / r
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        self.fifo = fan_in_fan_out
        self.dora = use_dora
        self.A = self.B = self.magnitude = None  # float64 leaves

    def delta_weight(self):
        # layer.py Linear.get_delta_weight: transpose(B @ A, fan_in_fan_out) * scaling  (base weight layout)
        return transpose(self.B @ self.A, self.fifo) * self.scaling

    def dora_norm(self, W):
        # dora.py get_weight_norm(weight, lora_weight=(B@A).detach(), scaling): ||transpose(W) + s * B@A||_row
        return row_norm(transpose(W, self.fifo) + self.scaling * (self.B @ self.A).detach())

    def merged(self, W):
        """layer.py Linear.merge -> W + delta (vanilla) / variants.py DoraLinearVariant.merge_unsafe (DoRA)."""
        delta = self.delta_weight()
        if not self.dora:
            return W + delta
        # weight_norm = get_weight_norm(orig_weight, transpose(delta, fifo), scaling=1), detached
        norm = row_norm(transpose(W, self.fifo) + transpose(delta, self.fifo)).detach()
        factor = transpose((self.magnitude / norm).view(-1, 1), self.fifo)  # dora_factor per output row
        return factor * (W + delta)  # the bias is NOT rescaled


class Engine:
    """Swaps make_fixtures' `_lin` / `_conv1d` for versions that add the LoRA layers of `layers`."""

    def __init__(self, layers):
        self.layers = layers  # HF module name -> LoraLayer
        self.frozen_norms = None  # name -> norm tensor: hold DoRA norms fixed (for finite differences)
        self.dora_detach = True  # False only to show that the detach is observable

    def _apply(self, x, p, name, conv1d):
        W = p[name + ".weight"]
        b = p.get(name + ".bias")
        y = x @ W if conv1d else x @ W.transpose(0, 1)  # base_layer(x), exactly as make_fixtures computes it
        if b is not None:
            y = y + b
        L = self.layers.get(name)
        if L is None:
            return y
        # lora_B(lora_A(dropout(x))); lora_dropout is 0.0 -> nn.Identity (layer.py update_layer)
        lora = (x @ L.A.transpose(0, 1)) @ L.B.transpose(0, 1)
        if not L.dora:
            return y + lora * L.scaling  # layer.py Linear.forward, vanilla branch
        # variants.py DoraLinearVariant.forward (dropout Identity -> base_result = result) calling
        # dora.py DoraLinearLayer.forward:
        if self.frozen_norms is not None:
            norm = self.frozen_norms[name]
        elif self.dora_detach:
            norm = L.dora_norm(W).detach()  # "weight_norm = weight_norm.detach()" (DoRA paper sec. 4.3)
        else:
            norm = row_norm(transpose(W, L.fifo) + L.scaling * (L.B @ L.A))  # NOT PEFT: gradient through the norm
        mag_norm_scale = (L.magnitude / norm).view(1, -1)
        base_result = y - b if b is not None else y  # the bias is subtracted: only x W^T is rescaled
        return y + (mag_norm_scale - 1) * base_result + mag_norm_scale * lora * L.scaling

    @contextmanager
    def active(self):
        orig = mf._lin, mf._conv1d
        mf._lin = lambda x, p, name: self._apply(x, p, name, False)
        mf._conv1d = lambda x, p, name: self._apply(x, p, name, True)
        try:
            yield
        finally:
            mf._lin, mf._conv1d = orig


def run(kind, cfg, p, ids, mask, engine=None):
    fwd = mf.gpt2_forward if kind == "gpt2" else mf.llama_forward
    if engine is None:
        return fwd(cfg, p, ids, mask)
    with engine.active():
        return fwd(cfg, p, ids, mask)


# ----------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------

ATTN_MLP = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

CASES = [
    dict(name="lora", base="llama", seed=3001,
         conf=dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
         note="vanilla LoRA on q_proj, v_proj; scaling alpha/r = 2"),
    dict(name="rslora", base="llama", seed=3002,
         conf=dict(r=4, lora_alpha=8, use_rslora=True, target_modules="all-linear"),
         note="use_rslora: scaling alpha/sqrt(r) = 4; target_modules 'all-linear' expanded to the 14 full module "
              "names (lm_head excluded), which is what adapter_config.json then holds"),
    dict(name="dora", base="llama", seed=3003,
         conf=dict(r=4, lora_alpha=8, use_dora=True, target_modules=ATTN_MLP),
         note="DoRA on q,k,v,o,gate,up,down; magnitude = row norms of W (PEFT init) x (1 + 0.1 N(0,1)); "
              "norm ||W + s B A||_row detached"),
    dict(name="dora_bias", base="llama_bias", seed=3004,
         conf=dict(r=4, lora_alpha=8, use_dora=True, target_modules=["q_proj", "o_proj", "down_proj"]),
         note="DoRA over layers WITH bias: the bias is subtracted before the magnitude rescale, so "
              "y = m/||W+sBA|| * (x W^T + s x A^T B^T) + b; merged bias unchanged"),
    dict(name="pissa", base="llama", seed=3005,
         conf=dict(r=4, lora_alpha=8, init_lora_weights="pissa", target_modules=["q_proj", "v_proj"]),
         note="init_lora_weights 'pissa' (full SVD): A = sqrt(S_r/s) Vh_r, B = U_r sqrt(S_r/s), base replaced by "
              "the residual W - s B A; adapter = the init (untrained), so logits ~= base logits"),
    dict(name="modules_to_save", base="llama", seed=3006,
         conf=dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], modules_to_save=["lm_head"]),
         note="LoRA on q_proj, v_proj + trainable full copy of lm_head (copy = base + 0.05 N(0,1))"),
    dict(name="patterns", base="llama", seed=3007,
         conf=dict(r=4, lora_alpha=8, target_modules=r".*\.(q_proj|o_proj)",
                   rank_pattern={"o_proj": 2},
                   alpha_pattern={"o_proj": 16, r"layers\.1\.self_attn\.q_proj": 12}),
         note="regex target_modules (re.fullmatch on the full module name); rank_pattern/alpha_pattern keys matched "
              "as re.match(r'(.*\\.)?(KEY)$', name): o_proj r 2 alpha 16 (s 8); layer-1 q_proj alpha 12 (s 3); "
              "layer-0 q_proj defaults r 4 alpha 8 (s 2)"),
    dict(name="bias_all", base="llama_bias", seed=3008,
         conf=dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], bias="all"),
         note="bias 'all': EVERY bias of the model trainable and saved (base + 0.05 N(0,1)); targeted modules' "
              "biases keyed `<module>.base_layer.bias`, the others `<module>.bias`"),
    dict(name="bias_lora_only", base="llama_bias", seed=3009,
         conf=dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], bias="lora_only"),
         note="bias 'lora_only': only the targeted modules' biases trainable and saved as `<module>.base_layer.bias` "
              "(PEFT <= 0.20.0 forgot to save them, fixed by #3490 / issue #3457; this file has them)"),
    dict(name="gpt2", base="gpt2", seed=3010,
         conf=dict(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True),
         note="GPT-2 Conv1D ([in,out] weights), fan_in_fan_out; 'c_proj' suffix-matches attn.c_proj AND mlp.c_proj; "
              "A/B keep the nn.Linear layout, the delta is transposed (B A)^T"),
    dict(name="zero_b", base="llama", seed=3011, conf=dict(), peft_default_init=True,
         note="LoraConfig() defaults: r 8, alpha 8, targets from PEFT's model-type mapping (llama: q_proj, v_proj); "
              "PEFT's default init: A kaiming-uniform, B = 0 -> logits == base logits"),
]


def load_base(base):
    d = FIX_ROOT / base
    cfg = json.loads((d / "config.json").read_text())
    w32, _ = mf.read_safetensors(d / "model.safetensors")
    g, gmeta = mf.read_safetensors(d / "golden.safetensors")
    kind = "gpt2" if cfg["model_type"] == "gpt2" else "llama"
    return kind, cfg, w32, g, gmeta


def kaiming_uniform_bound(fan_in, a=math.sqrt(5)):
    # torch.nn.init.kaiming_uniform_(mode="fan_in", nonlinearity="leaky_relu"): gain = sqrt(2 / (1 + a^2)),
    # std = gain / sqrt(fan_in), bound = sqrt(3) * std  ->  with a = sqrt(5): bound = 1 / sqrt(fan_in)
    gain = math.sqrt(2.0 / (1 + a * a))
    return math.sqrt(3.0) * gain / math.sqrt(fan_in)


def build_case(c):
    name = c["name"]
    kind, cfg, w32, g_base, _ = load_base(c["base"])
    gen = torch.Generator().manual_seed(c["seed"])
    ids, mask, labels = g_base["input_ids"], g_base["attention_mask"], g_base["labels"]

    conf = adapter_config(f"../../{c['base']}", c["conf"])
    modules = named_modules(kind, cfg)
    mtypes = dict(modules)
    weight_names = list(w32)
    for n, t in modules:
        if t in LINEAR_TYPES and n != "lm_head":
            assert n + ".weight" in w32, n

    # target resolution (tuners_utils.inject_adapter): default mapping, all-linear expansion, then matching
    if conf["target_modules"] is None:
        conf["target_modules"] = sorted(DEFAULT_TARGETS[kind])  # LoraModel._prepare_adapter_config (a set)
    if conf["target_modules"] == "all-linear":
        conf["target_modules"] = sorted(expand_all_linear(modules))
    elif isinstance(conf["target_modules"], list):
        conf["target_modules"] = sorted(set(conf["target_modules"]))  # __post_init__: list -> set
    targeted = [n for n, _ in modules if n and is_targeted(conf, n)]
    assert targeted, name
    for n in targeted:  # PEFT raises for an unsupported module type; these cases only hit linears
        assert mtypes[n] in LINEAR_TYPES, (name, n)
    if kind == "gpt2":
        assert conf["fan_in_fan_out"], "Conv1D: PEFT forces fan_in_fan_out=True (layer.py dispatch_default)"

    # layers with per-module r / alpha (model.py _create_and_replace with get_pattern_key)
    layers = OrderedDict()
    for n in targeted:
        r = conf["rank_pattern"].get(pattern_key(list(conf["rank_pattern"]), n), conf["r"])
        alpha = conf["alpha_pattern"].get(pattern_key(list(conf["alpha_pattern"]), n), conf["lora_alpha"])
        layers[n] = LoraLayer(n, r, alpha, conf["use_rslora"], conf["fan_in_fan_out"], conf["use_dora"])

    # ---- adapter values (float32, then upcast) and the (possibly modified) base ----
    base32 = OrderedDict((k, v.clone()) for k, v in w32.items())  # the base the adapter runs over
    stored = OrderedDict()  # PEFT key -> float32 tensor, as in adapter_model.safetensors
    extra_golden = OrderedDict()
    checks = []
    for n, L in layers.items():
        W32 = w32[n + ".weight"]
        W_lin = transpose(W32, L.fifo)  # [out, in]
        out_f, in_f = W_lin.shape
        if conf["init_lora_weights"] == "pissa":
            A32, B32, R32, chk = pissa(W32.to(F64), L)
            base32[n + ".weight"] = R32
            extra_golden["residual." + n + ".weight"] = R32
            checks.append(chk)
        else:
            # A: PEFT's default kaiming_uniform_(a=sqrt(5)) on the [r, in] weight = U(-1/sqrt(in), 1/sqrt(in))
            bound = kaiming_uniform_bound(in_f)
            A32 = (torch.rand(L.r, in_f, generator=gen) * 2 - 1) * bound
            if c.get("peft_default_init"):
                B32 = torch.zeros(out_f, L.r)  # layer.py reset_lora_parameters: nn.init.zeros_(lora_B)
            else:
                B32 = 0.1 * torch.randn(out_f, L.r, generator=gen)  # NOT PEFT's init (B=0): a "trained" adapter
        L.A = A32.to(F64).requires_grad_(True)
        L.B = B32.to(F64).requires_grad_(True)
        stored[f"{PREFIX}{n}.lora_A.weight"] = A32.contiguous()
        stored[f"{PREFIX}{n}.lora_B.weight"] = B32.contiguous()
        if L.dora:
            # variants.py DoraLinearVariant.init -> DoraLinearLayer.update_layer: magnitude = ||W + s B A||_row at
            # creation, i.e. ||W||_row since B = 0 then; perturbed here to stand for a trained magnitude
            m0 = row_norm(W_lin.to(F64)).to(torch.float32)
            M32 = m0 * (1 + 0.1 * torch.randn(out_f, generator=gen))
            L.magnitude = M32.to(F64).requires_grad_(True)
            # save_and_load / model.py _get_adapter_state_dict: "lora_magnitude_vector.default.weight" loses
            # ".weight" and the adapter name -> "<module>.lora_magnitude_vector"
            stored[f"{PREFIX}{n}.lora_magnitude_vector"] = M32.contiguous()

    # params (float64); trainable extras replace their base entries
    p = OrderedDict((k, v.to(F64)) for k, v in base32.items())
    trainable = OrderedDict()  # PEFT key -> float64 leaf
    for n, L in layers.items():
        trainable[f"{PREFIX}{n}.lora_A.weight"] = L.A
        trainable[f"{PREFIX}{n}.lora_B.weight"] = L.B
        if L.dora:
            trainable[f"{PREFIX}{n}.lora_magnitude_vector"] = L.magnitude
    hf_of_key = {}  # PEFT key of a trainable base tensor -> HF name
    if conf["bias"] != "none":
        # tuners_utils._mark_only_adapters_as_trainable: "all" -> every parameter named *.bias; "lora_only" -> the
        # bias of each targeted (tuner) layer. Saved (tuners_utils._get_learnable_bias_state_dict) under the model
        # state_dict key: a targeted layer's bias lives on its base_layer -> "<module>.base_layer.bias".
        for k in weight_names:
            if not k.endswith(".bias"):
                continue
            mod = k[: -len(".bias")]
            if conf["bias"] == "lora_only" and mod not in layers:
                continue
            key = PREFIX + (mod + ".base_layer.bias" if mod in layers else k)
            t32 = w32[k] + 0.05 * torch.randn(w32[k].shape, generator=gen)  # a "trained" bias
            stored[key] = t32
            p[k] = t32.to(F64).requires_grad_(True)
            trainable[key] = p[k]
            hf_of_key[key] = k
    for m in conf["modules_to_save"] or []:
        # other.ModulesToSaveWrapper: a trainable deepcopy of the module; adapter_state_dict keys are the wrapped
        # module's own keys under the wrapper name -> "base_model.model.lm_head.weight"
        assert m == "lm_head" and "lm_head.weight" in w32
        t32 = w32["lm_head.weight"] + 0.05 * torch.randn(w32["lm_head.weight"].shape, generator=gen)
        key = PREFIX + "lm_head.weight"
        stored[key] = t32
        p["lm_head.weight"] = t32.to(F64).requires_grad_(True)
        trainable[key] = p["lm_head.weight"]
        hf_of_key[key] = "lm_head.weight"
    stored = OrderedDict(sorted(stored.items()))

    # ---- base sanity: this reproduces the base fixture's golden ----
    with torch.no_grad():
        base_logits = run(kind, cfg, OrderedDict((k, v.to(F64)) for k, v in w32.items()), ids, mask)
    mf.check_close(f"{name}: base logits vs base golden", base_logits.float(), g_base["logits"], 0.0)

    # ---- adapter forward / backward ----
    eng = Engine(layers)
    logits = run(kind, cfg, p, ids, mask, eng)
    loss = mf.causal_lm_loss(logits, labels)
    grads = OrderedDict(zip(trainable, torch.autograd.grad(loss, list(trainable.values()))))
    logits = logits.detach()
    delta_base = float((logits - base_logits).abs().max())
    if c.get("peft_default_init"):
        assert delta_base == 0.0, f"{name}: B = 0 must leave the logits unchanged ({delta_base})"
        assert torch.equal(logits.float(), g_base["logits"]), name
        assert float(loss) == float(mf.causal_lm_loss(base_logits, labels))
    elif conf["init_lora_weights"] == "pissa":
        # residual + s B A == W up to the float32 rounding of A, B, residual
        assert delta_base < 1e-4, f"{name}: PiSSA init should reproduce the base ({delta_base})"
    else:
        assert delta_base > 1e-2, f"{name}: adapter has no visible effect ({delta_base})"
    checks.append(("max|logits-base|", delta_base))

    # ---- finite differences on a few entries of every kind of trainable tensor ----
    checks.append(("finite-diff rel", finite_differences(name, kind, cfg, p, ids, mask, labels, eng, trainable,
                                                         grads)))
    if conf["use_dora"]:
        checks.append(("dora detach effect", dora_detach_effect(kind, cfg, p, ids, mask, labels, eng, trainable,
                                                                grads)))
        with torch.no_grad():
            for n, L in layers.items():
                extra_golden["dora_norm." + n + ".weight"] = L.dora_norm(p[n + ".weight"]).float()

    # ---- merge_and_unload (tuners_utils._unload_and_optionally_merge): merged base weights, wrapper -> copy ----
    merged64 = OrderedDict((k, v.detach().clone()) for k, v in p.items())
    with torch.no_grad():
        for n, L in layers.items():
            merged64[n + ".weight"] = L.merged(p[n + ".weight"].detach())
        m_logits64 = run(kind, cfg, merged64, ids, mask)
    merge_err = float((m_logits64 - logits).abs().max())
    assert merge_err < 1e-10, f"{name}: merged vs unmerged logits differ by {merge_err}"
    checks.append(("merged==unmerged f64", merge_err))
    merged_names = [n + ".weight" for n in layers] + [hf_of_key[k] for k in trainable if k in hf_of_key]
    merged32 = OrderedDict((k, v.float()) for k, v in merged64.items())
    with torch.no_grad():
        merged_logits = run(kind, cfg, OrderedDict((k, v.to(F64)) for k, v in merged32.items()), ids, mask)
    checks.append(("merged f32 weights vs unmerged", float((merged_logits - logits).abs().max())))

    # ---- write ----
    d = OUT_ROOT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "adapter_config.json").write_text(json.dumps(conf, indent=2, sort_keys=True))
    mf.write_safetensors(d / "adapter_model.safetensors", stored)  # metadata {"format": "pt"} like PEFT's save
    golden = OrderedDict()
    golden["input_ids"], golden["attention_mask"], golden["labels"] = ids, mask, labels
    golden["logits"] = logits.float()
    golden["loss"] = loss.detach().float().reshape(())
    for k, gr in grads.items():
        golden["grad." + k] = gr.float()
    for k in merged_names:
        golden["merged." + k] = merged32[k]
    golden["merged_logits"] = merged_logits.float()
    golden.update(extra_golden)
    module_info = {n: {"r": L.r, "lora_alpha": L.alpha, "scaling": L.scaling, "use_dora": L.dora,
                       "fan_in_fan_out": L.fifo} for n, L in layers.items()}
    meta = {
        "case": name,
        "base": c["base"],
        "peft_version": PEFT_VERSION,
        "reference": "float64 forward/backward on the float32 stored values (base, adapter) upcast; stored as F32",
        "loss": "HF ForCausalLMLoss on the base fixture's input_ids/attention_mask/labels (copied here)",
        "loss_value_f64": repr(float(loss)),
        "grads": "d loss / d trainable tensor, base frozen; key grad.<adapter_model.safetensors key>",
        "merged": "merge_and_unload: merged.<HF name> for every targeted weight and every other trainable base "
                  "tensor (biases, modules_to_save copy); merged_logits from those weights rounded to F32",
        "modules": json.dumps(module_info, sort_keys=True),
        "seed": str(c["seed"]),
    }
    if conf["init_lora_weights"] == "pissa":
        meta["residual"] = "residual.<HF name>: the base weight after PiSSA init (W - s B A); logits/grads run over it"
    if conf["use_dora"]:
        meta["dora_norm"] = "dora_norm.<HF name>: ||W + s B A|| per output row (detached in the forward)"
    mf.write_safetensors(d / "golden.safetensors", golden, meta)

    for fname, tensors in (("adapter_model.safetensors", stored), ("golden.safetensors", golden)):
        back, _ = mf.read_safetensors(d / fname)
        assert list(back) == list(tensors)
        for k in tensors:
            assert torch.equal(back[k], tensors[k]), (name, fname, k)
    assert json.loads((d / "adapter_config.json").read_text()) == conf
    size = sum(f.stat().st_size for f in d.iterdir())
    assert size < 1_500_000, f"{name}: {size} bytes"
    return dict(name=name, base=c["base"], note=c["note"], conf=conf, layers=layers, stored=stored, golden=golden,
                loss=float(loss), checks=checks, size=size, logits_shape=list(logits.shape))


def pissa(W64, L):
    """layer.py pissa_init, init_lora_weights == "pissa" (full SVD, not "pissa_niter_k"):
        weight = transpose(W, fifo)  [out, in];  V, S, Uh = svd(weight, full_matrices=False)
        Sr = S[:r] / scaling;  A = diag(sqrt(Sr)) @ Uh[:r];  B = V[:, :r] @ diag(sqrt(Sr))
        base weight <- transpose(weight - scaling * B @ A, fifo)
    PEFT runs this in float32; here float64 on the float32 weight, then A, B and the residual are rounded to F32.
    Singular-vector signs are not unique: compare B @ A and the residual, not A and B themselves."""
    r, s = L.r, L.scaling
    w = transpose(W64, L.fifo)
    U, S, Vh = torch.linalg.svd(w, full_matrices=False)
    gaps = (S[: r] - S[1 : r + 1]) / S[0]
    assert float(gaps.min()) > 1e-3, f"{L.name}: near-degenerate singular values, B@A not unique"
    Sr = S[:r] / s
    A = torch.diag(torch.sqrt(Sr)) @ Vh[:r]
    B = U[:, :r] @ torch.diag(torch.sqrt(Sr))
    R = transpose(w - s * B @ A, L.fifo)
    # same thing in float32, as PEFT computes it: the product agrees to float32 precision
    U32, S32, Vh32 = torch.linalg.svd(transpose(W64.float(), L.fifo), full_matrices=False)
    Sr32 = S32[:r] / s
    BA32 = (U32[:, :r] @ torch.diag(torch.sqrt(Sr32))) @ (torch.diag(torch.sqrt(Sr32)) @ Vh32[:r])
    err32 = float((BA32.double() - B @ A).abs().max())
    assert err32 < 1e-5, err32
    return A.float(), B.float(), R.float(), (f"pissa f32-vs-f64 B@A {L.name}", err32)


def _loss(kind, cfg, p, ids, mask, labels, eng):
    return float(mf.causal_lm_loss(run(kind, cfg, p, ids, mask, eng), labels))


def finite_differences(name, kind, cfg, p, ids, mask, labels, eng, trainable, grads):
    """Central differences (h=1e-6, float64) on 2 entries (largest |grad| and a fixed one) of the first and last
    tensor of each kind. For DoRA the norms are held at their current value: that is what the detach means (the
    norm is a constant for the gradient), so autograd must match the differences of that function."""
    kinds = OrderedDict()
    for k in trainable:
        kinds.setdefault(k.rsplit(".", 2)[-2] if k.endswith(".weight") else k.rsplit(".", 1)[-1], []).append(k)
    picks = []
    for ks in kinds.values():
        picks += [ks[0]] + ([ks[-1]] if len(ks) > 1 else [])
    if eng.layers and any(L.dora for L in eng.layers.values()):
        with torch.no_grad():
            eng.frozen_norms = {n: L.dora_norm(p[n + ".weight"]) for n, L in eng.layers.items() if L.dora}
    worst = 0.0
    try:
        with torch.no_grad():
            for k in picks:
                t, flat_g = trainable[k], grads[k].reshape(-1)
                for idx in (int(flat_g.abs().argmax()), (7 * 31) % t.numel()):
                    h = 1e-6
                    orig = float(t.reshape(-1)[idx])
                    t.reshape(-1)[idx] = orig + h
                    lp = _loss(kind, cfg, p, ids, mask, labels, eng)
                    t.reshape(-1)[idx] = orig - h
                    lm = _loss(kind, cfg, p, ids, mask, labels, eng)
                    t.reshape(-1)[idx] = orig
                    fd, an = (lp - lm) / (2 * h), float(flat_g[idx])
                    err = abs(fd - an) / (abs(an) + 1e-4)
                    worst = max(worst, err)
                    if err > 1e-5:
                        raise AssertionError(f"{name}: finite difference {k}[{idx}]: fd {fd} vs autograd {an}")
    finally:
        eng.frozen_norms = None
    return worst


def dora_detach_effect(kind, cfg, p, ids, mask, labels, eng, trainable, grads):
    """Not detaching the DoRA norm gives a clearly different lora_A/lora_B gradient (so the goldens pin it)."""
    eng.dora_detach = False
    try:
        loss2 = mf.causal_lm_loss(run(kind, cfg, p, ids, mask, eng), labels)
        keys = [k for k in trainable if ".lora_A." in k or ".lora_B." in k]
        g2 = torch.autograd.grad(loss2, [trainable[k] for k in keys])
    finally:
        eng.dora_detach = True
    rel = max(float((a - grads[k]).abs().max() / grads[k].abs().max()) for k, a in zip(keys, g2))
    assert rel > 1e-2, f"DoRA detach not observable ({rel})"
    return rel


# ----------------------------------------------------------------------------------------------
# init.json: PEFT's initialisations, for statistical tests
# ----------------------------------------------------------------------------------------------


def init_description(results):
    # the formula against torch itself (torch.nn.init.kaiming_uniform_, a = sqrt(5), on an [r, in] tensor)
    torch.manual_seed(1234)
    for r, fan_in in ((4, 32), (8, 64), (64, 4096)):
        w = torch.empty(r, fan_in)
        torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))
        b = kaiming_uniform_bound(fan_in)
        assert abs(b - 1 / math.sqrt(fan_in)) < 1e-15
        assert float(w.abs().max()) <= b * (1 + 1e-6), (float(w.abs().max()), b)
        if w.numel() > 10000:
            assert float(w.abs().max()) > 0.99 * b
            assert abs(float(w.double().var()) / (b * b / 3) - 1) < 0.02
    examples = {}
    for res in results.values():
        for n, L in res["layers"].items():
            in_f = int(res["stored"][f"{PREFIX}{n}.lora_A.weight"].shape[1])
            examples[f"in={in_f},r={L.r}"] = {
                "in_features": in_f, "r": L.r,
                "kaiming_uniform_bound": kaiming_uniform_bound(in_f),
                "gaussian_std": 1.0 / L.r,
                "nn_linear_default_B_bound": kaiming_uniform_bound(L.r),
            }
    return {
        "source": f"huggingface/peft v{PEFT_VERSION} src/peft/tuners/lora/layer.py LoraLayer.reset_lora_parameters "
                  "(called from update_layer when init_lora_weights is True or 'gaussian'); torch.nn.init",
        "lora_A_shape": "[r, in_features] (nn.Linear(in_features, r).weight)",
        "lora_B_shape": "[out_features, r] (nn.Linear(r, out_features).weight)",
        "scaling": {"default": "lora_alpha / r", "use_rslora": "lora_alpha / sqrt(r)",
                    "source": "layer.py update_layer"},
        "init_lora_weights": {
            "true": {
                "lora_A": {"distribution": "uniform", "low": "-1/sqrt(in_features)", "high": "1/sqrt(in_features)",
                           "mean": 0.0, "variance": "1/(3*in_features)",
                           "derivation": "nn.init.kaiming_uniform_(A, a=sqrt(5)): fan_in = in_features (dim 1 of "
                                         "[r, in]); gain = sqrt(2/(1+a^2)) = sqrt(1/3); std = gain/sqrt(fan_in); "
                                         "bound = sqrt(3)*std = 1/sqrt(in_features)"},
                "lora_B": {"distribution": "zeros"},
                "lora_B_bias (lora_bias=true)": {"distribution": "zeros"},
            },
            "gaussian": {
                "lora_A": {"distribution": "normal", "mean": 0.0, "std": "1/r",
                           "derivation": "nn.init.normal_(A, std=1 / r)"},
                "lora_B": {"distribution": "zeros"},
            },
            "false": {
                "lora_A": {"distribution": "uniform", "low": "-1/sqrt(in_features)", "high": "1/sqrt(in_features)",
                           "derivation": "no reset: nn.Linear's own reset_parameters (kaiming_uniform_ a=sqrt(5))"},
                "lora_B": {"distribution": "uniform", "low": "-1/sqrt(r)", "high": "1/sqrt(r)",
                           "derivation": "nn.Linear(r, out).reset_parameters: fan_in = r"},
            },
            "pissa": {
                "formula": "W' = transpose(W, fan_in_fan_out) [out,in] = U S Vh (torch.linalg.svd, "
                           "full_matrices=False); Sr = S[:r]/scaling; lora_A = diag(sqrt(Sr)) Vh[:r]; "
                           "lora_B = U[:, :r] diag(sqrt(Sr)); base weight <- transpose(W' - scaling * B A)",
                "source": "layer.py pissa_init ('pissa_niter_<k>' uses torch.svd_lowrank instead)",
                "note": "computed in float32 by PEFT; signs of singular vectors are arbitrary, B A is not",
            },
        },
        "dora_magnitude": {
            "init": "lora_magnitude_vector = ||transpose(W, fan_in_fan_out) + scaling * B A||_2 per output row "
                    "[out_features]; equals the row norms of W because B = 0 at creation",
            "source": "variants.py DoraLinearVariant.init -> dora.py DoraLinearLayer.update_layer / get_weight_norm",
        },
        "embedding_layers": {"lora_embedding_A": "zeros", "lora_embedding_B": "normal(0, 1)",
                             "source": "layer.py reset_lora_parameters (not used by these fixtures)"},
        "examples": dict(sorted(examples.items())),
        "checked": "bound formula == torch.nn.init.kaiming_uniform_(a=sqrt(5)): max |w| <= bound on [4,32], [8,64], "
                   "[64,4096]; on [64,4096] max |w| > 0.99 bound and var within 2% of bound^2/3",
    }


# ----------------------------------------------------------------------------------------------


def shape_str(t):
    return "[" + ",".join(str(s) for s in t.shape) + "]"


def write_manifest(results):
    lines = [
        "# PEFT fixtures manifest",
        "",
        "Generated by `model-zoo/src/test/python/make_peft_fixtures.py` (conventions: "
        "`model-zoo/src/test/python/README.md`). LoRA semantics mirror huggingface/peft "
        f"v{PEFT_VERSION}; file references below are to that tag (`layer.py`, `dora.py`, `variants.py`, `config.py`, "
        "`model.py` under `src/peft/tuners/lora/`; `tuners_utils.py` under `src/peft/tuners/`; `other.py`, "
        "`save_and_load.py` under `src/peft/utils/`).",
        "",
        "Each `<case>/` holds `adapter_config.json` (as `PeftModel.save_pretrained` writes it), "
        "`adapter_model.safetensors` (PEFT key names, F32) and `golden.safetensors` (`input_ids`, "
        "`attention_mask`, `labels` copied from the base fixture; `logits`, `loss`, `grad.<adapter key>`, "
        "`merged.<HF name>`, `merged_logits`; `residual.<HF name>` for PiSSA; `dora_norm.<HF name>` for DoRA). "
        "The base checkpoint is `fixtures/<base>/` (`base_model_name_or_path` is `../../<base>`, relative to the "
        "case directory). `init.json` describes PEFT's initialisations for statistical tests.",
        "",
        "Adapters are \"trained\": lora_A drawn like PEFT's default (kaiming-uniform, bound 1/sqrt(in)), lora_B "
        "N(0, 0.1^2) (PEFT's default init has B = 0, which `zero_b` covers), DoRA magnitudes, trainable biases and "
        "the lm_head copy perturbed from their init values, so that every saved tensor changes the output.",
        "",
        "| case | base | exercises | adapter tensors (shape) | scaling |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results.values():
        shapes = OrderedDict()
        for k, t in r["stored"].items():
            short = re.sub(r"(layers|h)\.\d+\.", r"\1.N.", k[len(PREFIX):])
            shapes.setdefault(short + " " + shape_str(t), 0)
            shapes[short + " " + shape_str(t)] += 1
        tens = "; ".join(f"{k} x{n}" for k, n in shapes.items())
        scal = sorted({f"{L.scaling:g}" for L in r["layers"].values()})
        lines.append(f"| `{r['name']}` | `{r['base']}` | {r['note']} | {tens} | {', '.join(scal)} |")
    lines += [
        "",
        "## Semantics decided (with sources)",
        "",
        "- **Keys** (`save_and_load.py` get_peft_model_state_dict + `tuners_utils.py` "
        "_remove_adapter_name_from_state_dict_key): `base_model.model.` + HF module name + `.lora_A.weight` / "
        "`.lora_B.weight`; the adapter name (`default`) is removed. DoRA: `<module>.lora_magnitude_vector` "
        "(the model's `lora_magnitude_vector.default.weight` loses `.weight` too, `model.py` "
        "_get_adapter_state_dict), shape [out]. modules_to_save: `base_model.model.lm_head.weight` "
        "(`other.py` ModulesToSaveWrapper.adapter_state_dict). Biases (bias all / lora_only): model state_dict key, "
        "i.e. `<module>.base_layer.bias` for a targeted module, `<module>.bias` otherwise.",
        "- **Shapes**: lora_A [r, in], lora_B [out, r] for nn.Linear and for GPT-2 Conv1D alike (in/out read from "
        "the Conv1D [in, out] weight); with fan_in_fan_out the delta is transpose(B A) * scaling ([in, out]) "
        "(`layer.py` get_delta_weight); the forward is `base(x) + B(A(x)) * scaling` with no transpose.",
        "- **Scaling**: alpha / r, or alpha / sqrt(r) with use_rslora (`layer.py` update_layer); per-module r and "
        "alpha from rank_pattern / alpha_pattern.",
        "- **target_modules**: list -> exact name or suffix after a `.` (`tuners_utils.py` check_target_module_exists); "
        "str -> `re.fullmatch` on the full module name (`other.py` match_target_against_key); `all-linear` -> every "
        "nn.Linear / Conv1D by full name minus the output embedding (`tuners_utils.py` "
        "_maybe_include_all_linear_layers), and that expanded list is what adapter_config.json holds; None -> the "
        "model-type default (llama: q_proj, v_proj). Modules in modules_to_save are never targeted.",
        "- **rank_pattern / alpha_pattern**: first key K (in dict order) with `re.match(rf\"(.*\\.)?({K})$\", name)` "
        "(`other.py` get_pattern_key, used in `model.py` _create_and_replace); otherwise r / lora_alpha.",
        "- **DoRA** (`dora.py` DoraLinearLayer.forward, `variants.py` DoraLinearVariant.forward): "
        "`y = base(x) + (m/n - 1) * (base(x) - b) + (m/n) * B(A(x)) * s`, n = ||W + s B A|| per output row "
        "computed with B A detached and then the whole norm detached (no gradient through n); the bias is "
        "subtracted, so the result is `(m/n) (x W^T + s x A^T B^T) + b`. Merge (`variants.py` merge_unsafe): "
        "`W <- (m/n) * (W + s B A)` row-wise, bias unchanged. Gradients of lora_A/lora_B with a non-detached norm "
        "differ by >1% (checked), so the goldens pin the detach.",
        "- **bias**: `all` makes every `*.bias` parameter trainable and saves all of them; `lora_only` only the biases "
        "of targeted layers (`tuners_utils.py` _mark_only_adapters_as_trainable / _get_learnable_bias_state_dict). "
        "PEFT <= 0.20.0 saved no bias at all for lora_only (it looked for `<module>.bias`; fixed in #3490, issue "
        "#3457); `bias_lora_only` follows the fix. Merging leaves biases as they are (trained values).",
        "- **modules_to_save**: a trainable full copy; merge_and_unload puts the copy in place of the original.",
        "- **PiSSA**: see `init.json`; goldens run the adapter over the residual (`residual.*`), and "
        "`merged.* = residual + s B A` (~= the original weight).",
        "- **adapter_config.json**: the full LoraConfig field set of v0.20.0 (json.dumps indent 2, sort_keys, no "
        "trailing newline; `runtime_config` dropped; sets written as lists - sorted here, arbitrary order in PEFT); "
        "`inference_mode` true (save_pretrained sets it), `peft_type` LORA, `task_type` CAUSAL_LM, "
        f"`peft_version` {PEFT_VERSION}.",
        "",
        "## Checks run by the script",
        "",
        "Base logits recomputed equal the base golden; merged vs unmerged logits < 1e-10 in float64; `zero_b` logits "
        "bit-equal to the base golden; PiSSA logits within 1e-4 of the base and its float32 SVD product within 1e-5 "
        "of the float64 one; other adapters move the logits by > 1e-2; autograd vs central differences (h 1e-6) on 2 "
        "entries of the first and last tensor of each kind (DoRA with the norm held constant), relative error < 1e-5; "
        "files read back bit-exact.",
        "",
    ]
    (OUT_ROOT / "MANIFEST.md").write_text("\n".join(lines))


def main():
    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}; writing to {OUT_ROOT}")
    results = OrderedDict()
    for c in CASES:
        r = build_case(c)
        results[r["name"]] = r
        chk = "; ".join(f"{k} {v:.2e}" for k, v in r["checks"] if not k.startswith("pissa"))
        print(f"  {r['name']:<15} base {r['base']:<10} loss {r['loss']:.6f} adapter tensors {len(r['stored']):>2} "
              f"size {r['size'] / 1024:.0f} KiB | {chk}")
    (OUT_ROOT / "init.json").write_text(json.dumps(init_description(results), indent=2) + "\n")
    write_manifest(results)
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
