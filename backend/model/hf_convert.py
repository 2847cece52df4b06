"""Convert a Hugging Face ``CLIPModel`` (e.g. StreetCLIP, ``geolocal/StreetCLIP``) to open_clip.

StreetCLIP is published in the Hugging Face ``transformers`` layout. This maps its config and
weights onto open_clip's ``CLIP`` (same maths: pre-LayerNorm ViT, QuickGELU, fused q/k/v
attention) and writes a ``pigeon-openclip/1`` checkpoint that carries the derived config, so
``load_backbone(name, "streetclip.pt")`` needs nothing else.

Usage::

    pigeon weights convert-hf-clip ~/hf/StreetCLIP --out weights/streetclip.pt
    # or from Python
    from backend.model.hf_convert import convert_hf_clip
    convert_hf_clip("~/hf/StreetCLIP", "weights/streetclip.pt")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from backend.cliutil import UserError
from backend.model.backbone import build_clip
from backend.model.weights import save_clip_checkpoint


def hf_config_to_openclip(hf_config: Any) -> dict[str, Any]:
    """An open_clip config dict equivalent to a ``transformers.CLIPConfig``.

    Raises:
        ValueError: activations or shapes open_clip's CLIP cannot express.
    """
    v, t = hf_config.vision_config, hf_config.text_config
    acts = {v.hidden_act, t.hidden_act}
    if not acts <= {"quick_gelu", "gelu"} or len(acts) != 1:
        raise ValueError(f"unsupported activations {acts}; open_clip CLIP takes quick_gelu or gelu")
    if v.hidden_size % v.num_attention_heads or t.hidden_size % t.num_attention_heads:
        raise ValueError("hidden size must be divisible by the number of attention heads")
    return {
        "embed_dim": int(hf_config.projection_dim),
        "quick_gelu": acts == {"quick_gelu"},
        "vision_cfg": {
            "image_size": int(v.image_size), "patch_size": int(v.patch_size),
            "width": int(v.hidden_size), "layers": int(v.num_hidden_layers),
            "head_width": int(v.hidden_size // v.num_attention_heads),
            "mlp_ratio": float(v.intermediate_size) / float(v.hidden_size),
        },
        "text_cfg": {
            "context_length": int(t.max_position_embeddings), "vocab_size": int(t.vocab_size),
            "width": int(t.hidden_size), "heads": int(t.num_attention_heads),
            "layers": int(t.num_hidden_layers),
            "mlp_ratio": float(t.intermediate_size) / float(t.hidden_size),
        },
    }


def _convert_layers(sd: dict[str, torch.Tensor], src: str, dst: str, n: int,
                    out: dict[str, torch.Tensor]) -> None:
    for i in range(n):
        s, d = f"{src}.encoder.layers.{i}", f"{dst}.resblocks.{i}"
        out[f"{d}.attn.in_proj_weight"] = torch.cat(
            [sd[f"{s}.self_attn.{p}_proj.weight"] for p in ("q", "k", "v")], dim=0)
        out[f"{d}.attn.in_proj_bias"] = torch.cat(
            [sd[f"{s}.self_attn.{p}_proj.bias"] for p in ("q", "k", "v")], dim=0)
        for a, b in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"),
                     ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
            out[f"{d}.{b}.weight"] = sd[f"{s}.{a}.weight"]
            out[f"{d}.{b}.bias"] = sd[f"{s}.{a}.bias"]


def convert_hf_state_dict(sd: dict[str, torch.Tensor], model_cfg: dict[str, Any]
                          ) -> dict[str, torch.Tensor]:
    """Rename/reshape a Hugging Face CLIP state dict into open_clip ``CLIP`` keys.

    Raises:
        KeyError: a tensor the mapping needs is absent (not a CLIP state dict).
    """
    out: dict[str, torch.Tensor] = {}
    vm, tm = "vision_model", "text_model"
    out["visual.class_embedding"] = sd[f"{vm}.embeddings.class_embedding"]
    out["visual.conv1.weight"] = sd[f"{vm}.embeddings.patch_embedding.weight"]
    out["visual.positional_embedding"] = sd[f"{vm}.embeddings.position_embedding.weight"]
    for a, b in ((f"{vm}.pre_layrnorm", "visual.ln_pre"), (f"{vm}.post_layernorm", "visual.ln_post"),
                 (f"{tm}.final_layer_norm", "ln_final")):
        out[f"{b}.weight"], out[f"{b}.bias"] = sd[f"{a}.weight"], sd[f"{a}.bias"]
    _convert_layers(sd, vm, "visual.transformer", model_cfg["vision_cfg"]["layers"], out)
    _convert_layers(sd, tm, "transformer", model_cfg["text_cfg"]["layers"], out)
    out["visual.proj"] = sd["visual_projection.weight"].t().contiguous()
    out["text_projection"] = sd["text_projection.weight"].t().contiguous()
    out["token_embedding.weight"] = sd[f"{tm}.embeddings.token_embedding.weight"]
    out["positional_embedding"] = sd[f"{tm}.embeddings.position_embedding.weight"]
    out["logit_scale"] = sd["logit_scale"].reshape(())
    return out


def convert_hf_clip(src: str | Path | Any, out: str | Path, *, name: str | None = None) -> Path:
    """Convert a Hugging Face CLIP (a local folder or a loaded ``CLIPModel``) to a pigeon
    open_clip checkpoint.

    Args:
        src: a folder saved by ``CLIPModel.save_pretrained`` (config.json + weights), or a
            ``transformers.CLIPModel`` instance. Nothing is downloaded.
        out: the ``.pt`` file to write.
        name: label stored as the config name (default: the folder's name).

    Returns:
        The written file.

    Raises:
        UserError: the folder is missing or not a CLIP model, or the conversion does not
            load cleanly into open_clip.
    """
    from transformers import CLIPModel

    if isinstance(src, (str, Path)):
        folder = Path(src).expanduser()
        if not (folder / "config.json").is_file():
            raise UserError(f"{folder} is not a Hugging Face model folder (no config.json); "
                            "download e.g. geolocal/StreetCLIP with `hf download geolocal/StreetCLIP "
                            "--local-dir DIR` (huggingface_hub) "
                            "on a machine with internet and pass that folder")
        try:
            hf = CLIPModel.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load a CLIPModel from {folder}: {str(exc)[:200]}") from exc
        label = name or folder.name
    else:
        hf, label = src, name or "hf-clip"
    try:
        cfg = hf_config_to_openclip(hf.config)
    except (ValueError, AttributeError) as exc:
        raise UserError(f"cannot convert this model: {exc}") from exc
    model = build_clip(cfg)
    try:
        sd = convert_hf_state_dict(hf.state_dict(), cfg)
    except KeyError as exc:
        raise UserError(f"not a CLIP state dict: missing {exc}") from exc
    result = model.load_state_dict(sd, strict=False)
    missing = [k for k in result.missing_keys if k != "attn_mask"]
    if missing or result.unexpected_keys:
        raise UserError(f"conversion incomplete: missing {missing[:5]}, unexpected "
                        f"{result.unexpected_keys[:5]}")
    source = {"converted_from": str(src) if isinstance(src, (str, Path)) else label,
              "layout": "huggingface transformers CLIPModel",
              "transformers_config": {"vision": hf.config.vision_config.to_dict().get("hidden_size"),
                                      "projection_dim": hf.config.projection_dim}}
    return save_clip_checkpoint(model, cfg, out, config_name=label, source=source)
