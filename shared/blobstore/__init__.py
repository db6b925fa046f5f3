"""Content-addressed storage for documents: bytes in, sha256 out.

A :class:`BlobStore` takes a stream of bytes, hashes and counts it while it
flows, refuses it past a size limit or when it does not match the digest the
client announced, and keeps it under its sha256. Nothing is ever held whole in
memory. :class:`FilesystemBlobStore` is the default (a directory, one file per
blob); an S3-compatible store implements the same protocol.

Who references a blob is not the store's business: the owning service counts
references in its own tables and deletes a blob only when none is left.
"""

from shared.blobstore.digest import announced_sha256
from shared.blobstore.filesystem import FilesystemBlobStore
from shared.blobstore.store import (
    BlobMissing,
    BlobRef,
    BlobStore,
    BlobTooLarge,
    DigestMismatch,
    RangeNotSatisfiable,
    byte_range,
)

__all__ = [
    "BlobMissing",
    "BlobRef",
    "BlobStore",
    "BlobTooLarge",
    "DigestMismatch",
    "FilesystemBlobStore",
    "RangeNotSatisfiable",
    "announced_sha256",
    "byte_range",
]
