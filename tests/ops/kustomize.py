"""A tiny, strict subset of ``kustomize build`` for validating our manifests offline.

Supported kustomization fields: resources (files or directories), nameSuffix, images (newTag /
newName) and patches (strategic-merge files, target taken from the patch's kind and name).  Any
other field fails loudly, so the manifests cannot silently rely on something this renderer ignores.
Strategic merge follows Kubernetes' rules for the lists we use: lists of objects with a ``name``
key (containers, env, volumes, ports) merge by name; other lists and scalars are replaced.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "nameSuffix", "images", "patches"}


def load_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def strategic_merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        by_name = {item["name"]: item for item in base}
        result = [dict(item) for item in base]
        for item in patch:
            if item["name"] in by_name:
                index = next(i for i, old in enumerate(result) if old["name"] == item["name"])
                result[index] = strategic_merge(result[index], item)
            else:
                result.append(copy.deepcopy(item))
        return result
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _containers(doc: Manifest) -> list[Manifest]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("containers", []), *spec.get("initContainers", [])]


def _set_image(container: Manifest, rule: Manifest) -> None:
    image = str(container["image"])
    name, _, _tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    if name != rule["name"]:
        return
    container["image"] = f"{rule.get('newName', name)}:{rule.get('newTag', _tag)}"


def build(directory: Path) -> list[Manifest]:
    """Render the kustomization in ``directory`` into a list of manifests."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    docs: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        docs.extend(build(target) if target.is_dir() else load_documents(target))
    for patch_entry in kustomization.get("patches", []):
        for patch in load_documents(directory / patch_entry["path"]):
            matches = [
                i
                for i, doc in enumerate(docs)
                if doc["kind"] == patch["kind"]
                and doc["metadata"]["name"] == patch["metadata"]["name"]
            ]
            if len(matches) != 1:
                raise ValueError(f"{directory}: patch {patch_entry['path']} matches {len(matches)}")
            docs[matches[0]] = strategic_merge(docs[matches[0]], patch)
    suffix = kustomization.get("nameSuffix", "")
    for doc in docs:
        doc["metadata"]["name"] += suffix
        for container in _containers(doc):
            for rule in kustomization.get("images", []):
                _set_image(container, rule)
    return docs
