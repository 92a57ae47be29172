"""The storage pools', volumes', networks' and snapshots' procedures, answered with the core's API."""

from __future__ import annotations

__all__: list[str] = []
