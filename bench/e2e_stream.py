"""Protected documents: encryption and decryption speed, and the memory they take.

Encrypts a document of ``--mib`` MiB (random bytes, written to a temporary file) to an
ephemeral key in the ``application/vnd.printcloud.e2e`` format, then decrypts it,
both streamed file to file as the CLI and the agent do; prints MiB/s each way, the
ciphertext's overhead and the process's peak resident memory (which stays far below
the document's size: one chunk at a time is in memory).

Example: ``python -m bench.e2e_stream --mib 1024``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path

from shared.crypto.e2e import EphemeralKey, decrypt, encrypt

PIECE = 1 << 20


def _document(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(PIECE)
    with path.open("wb") as out:
        for i in range(mib):
            piece = block[i % 251 :] + block[: i % 251]  # not one repeated block
            digest.update(piece)
            out.write(piece)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(PIECE):
            digest.update(piece)
    return digest.hexdigest()


def main() -> None:
    """Run the measurement and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="document size in MiB")
    args = parser.parse_args()
    key = EphemeralKey.generate()
    with tempfile.TemporaryDirectory(prefix="printcloud-e2e-bench-") as tmp:
        plain, sealed, opened = Path(tmp) / "plain", Path(tmp) / "sealed", Path(tmp) / "opened"
        want = _document(plain, args.mib)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with plain.open("rb") as src, sealed.open("wb") as out:
            encrypt(src.read, out.write, key.private.public_key(), key.key_id, key.key_id,
                    "application/pdf")  # fmt: skip
        sealing = time.perf_counter() - started
        started = time.perf_counter()
        with sealed.open("rb") as src, opened.open("wb") as out:
            decrypt(src.read, out.write, key.private, key.key_id)
        opening = time.perf_counter() - started
        assert _sha256(opened) == want, "the document did not come back byte for byte"
        overhead = sealed.stat().st_size - plain.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"document            {args.mib} MiB")
    print(f"encrypt             {args.mib / sealing:8.1f} MiB/s ({sealing:.2f} s)")
    print(f"decrypt             {args.mib / opening:8.1f} MiB/s ({opening:.2f} s)")
    print(f"ciphertext overhead {overhead} bytes ({overhead / (args.mib * PIECE):.5%})")
    print(
        f"peak RSS            {peak / 1024:.1f} MiB (before encrypting: {base_rss / 1024:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
