"""Where the shared test inputs are: ``../shared`` beside the repository (read by path)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
SAMPLES = SHARED / "specs" / "espi" / "samples"
XSD = SHARED / "specs" / "espi" / "xsd"

if not SAMPLES.is_dir():
    # A missing folder would silently turn the per-sample tests into an empty (skipped) list.
    msg = f"shared test inputs not found at {SAMPLES}: clone the project beside ../shared"
    raise RuntimeError(msg)
