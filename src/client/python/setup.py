"""Builds out of tree: pip builds a local folder in place, and setuptools would write build/ and
outpost_logger.egg-info/ into it. In an outpost installed read-only (npm install -g as root) that
fails with "Permission denied"; in a writable one it leaves stale copies beside the sources. The
project itself is described in pyproject.toml."""
import atexit
import os
import shutil
import tempfile

from setuptools import setup

scratch = tempfile.mkdtemp(prefix="outpost-logger-build-")
atexit.register(shutil.rmtree, scratch, True)
setup(options={"egg_info": {"egg_base": scratch}, "build": {"build_base": os.path.join(scratch, "build")}})
