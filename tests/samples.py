"""Where the shared test inputs are: ``../shared`` beside the repository (read by path)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
SAMPLES = SHARED / "specs" / "espi" / "samples"
XSD = SHARED / "specs" / "espi" / "xsd"
