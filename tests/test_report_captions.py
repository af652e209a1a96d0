"""Every caption of ``snakemake --report`` (workflow/report/*.rst) renders without reStructuredText errors."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.harness import REPO

CAPTIONS = sorted((REPO / "workflow" / "report").glob("*.rst"))


class Names:
    """Wildcards/params stand-in: every name is a plain word, as a real wildcard value is."""

    def __getattr__(self, name: str) -> str:
        return f"{name}_value"

    __getitem__ = __getattr__


def render(path: Path) -> str:
    """The caption through Jinja (as Snakemake does) and docutils; returns docutils' warning stream."""
    import jinja2
    from docutils.core import publish_parts

    text = jinja2.Template(path.read_text()).render(
        snakemake=SimpleNamespace(config={"pipelines": ["batchie"]}, wildcards=Names(), params=Names())
    )
    warnings = io.StringIO()
    publish_parts(text, writer="html", settings_overrides={"warning_stream": warnings, "report_level": 2})
    return warnings.getvalue()


def test_there_are_captions_for_every_pipeline() -> None:
    names = {p.stem.split("_")[0] for p in CAPTIONS}
    assert {"batchie", "tabular", "scmedal", "imnn", "segment"} <= names


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_cleanly(path: Path) -> None:
    assert render(path) == ""


def test_a_broken_caption_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rst"
    broken.write_text("the determinant |F| of the Fisher matrix\n")
    assert "Undefined substitution" in render(broken)
