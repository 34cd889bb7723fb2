"""Locating optional system tools (Debian packages) the operations tests drive."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, env_flag: str) -> str:
    """Path of ``name``; skip when absent unless ``env_flag`` is set (then fail: CI must have it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get(env_flag):
            pytest.fail(f"{name} is required ({env_flag} is set) but not installed")
        pytest.skip(f"{name} not installed")
    return path
