"""upload(): a file written into outputs/ atomically, for the agent to upload; and the artifact path rules."""

from __future__ import annotations

import os
import string
import uuid
from typing import Optional, Union

from . import _contract as contract
from ._encode import utf16_len

Content = Union[str, bytes, bytearray, memoryview]


def artifact_path_problem(path: object) -> Optional[str]:
    """What is wrong with an artifact path, or None: the rules of src/protocol/artifact-path.ts, word for word."""
    if not isinstance(path, str) or not path:
        return "path is empty"
    if utf16_len(path) > contract.MAX_PATH_CHARS:  # the service counts UTF-16 code units
        return "path is longer than %d characters" % contract.MAX_PATH_CHARS
    if "\0" in path:
        return "path contains a NUL character"
    if "\\" in path:
        return "path contains a backslash"
    if path.startswith("/"):
        return "path is absolute"
    if len(path) >= 2 and path[1] == ":" and path[0] in string.ascii_letters:
        return "path starts with a drive letter"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "path contains a control character"
    for segment in path.split("/"):
        if segment == "..":
            return "path escapes the run (\"..\")"
        if segment in ("", "."):
            return "path has an empty or \".\" segment"
    return None


def write_output(outputs_dir: str, path: str, content: Content) -> str:
    """Writes str (UTF-8) or bytes to outputs_dir/PATH: temp file, fsync, rename. Returns the file written."""
    problem = artifact_path_problem(path)
    if problem:
        raise ValueError("cannot upload %r: %s; give a relative path inside outputs/" % (path, problem))
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        raise TypeError("cannot upload %r: content must be str or bytes, got %s" % (path, type(content).__name__))
    if len(data) > contract.MAX_FILE_BYTES:
        raise ValueError("cannot upload %r: %d bytes is over the %d-byte cap of one artifact"
                         % (path, len(data), contract.MAX_FILE_BYTES))
    dest = os.path.join(outputs_dir, *path.split("/"))
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    # The agent never uploads a file with this prefix: it sees the file only once renamed.
    temp = os.path.join(folder, "%s%d-%s" % (contract.UPLOAD_TEMP_PREFIX, os.getpid(), uuid.uuid4().hex[:12]))
    try:
        with open(temp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, dest)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return dest
