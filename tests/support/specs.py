"""Published specification schemas the suite validates generated documents against,
fetched from the npm registry once and kept in the cache beside the other tools."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

ASYNCAPI_SPECS = "@asyncapi/specs@6.11.1"
"""The AsyncAPI Initiative's JSON Schemas of every AsyncAPI version (Apache-2.0)."""


def _cache() -> Path:
    base = Path(os.environ.get("PRINTCLOUD_CACHE_DIR", Path.home() / ".cache" / "printcloud"))
    return base / "specs"


def asyncapi_schema(version: str = "3.0.0") -> dict[str, Any]:
    """The bundled JSON Schema of AsyncAPI ``version`` (npm pack checks its integrity)."""
    target = _cache() / ASYNCAPI_SPECS.replace("/", "_") / f"{version}.json"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to fetch the AsyncAPI schemas (install Node.js)")
        work = target.parent / "download"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        proc = subprocess.run(
            [npm, "pack", ASYNCAPI_SPECS, "--silent"], cwd=work, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"npm pack {ASYNCAPI_SPECS} failed: {proc.stderr[-2000:]}")
        (archive,) = work.glob("*.tgz")
        with tarfile.open(archive) as tar:
            member = tar.getmember(f"package/schemas/{version}.json")
            extracted = tar.extractfile(member)
            assert extracted is not None
            data = extracted.read()
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        shutil.rmtree(work, ignore_errors=True)
    schema: dict[str, Any] = json.loads(target.read_text())
    return schema
