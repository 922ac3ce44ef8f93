"""_upload: the artifact path rules (those of src/protocol/artifact-path.ts), and the atomic write into outputs/."""

import os

import pytest

from outpost_logger import _contract
from outpost_logger._upload import artifact_path_problem, write_output


@pytest.mark.parametrize("path", ["model.json", "a/b/c.txt", "x" * _contract.MAX_PATH_CHARS, "été/😀.txt", "ab:c", "1:x",
                                  "é:x"])
def test_relative_paths_inside_outputs_are_accepted(path):
    assert artifact_path_problem(path) is None


@pytest.mark.parametrize("path, problem", [
    ("", "path is empty"),
    (None, "path is empty"),
    ("x" * (_contract.MAX_PATH_CHARS + 1), "path is longer than 1024 characters"),
    ("😀" * (_contract.MAX_PATH_CHARS // 2 + 1), "path is longer than 1024 characters"),  # UTF-16 units, as the service
    ("a\0b", "path contains a NUL character"),
    ("a\\b", "path contains a backslash"),
    ("/etc/passwd", "path is absolute"),
    ("C:x", "path starts with a drive letter"),
    ("z:/x", "path starts with a drive letter"),
    ("tab\there", "path contains a control character"),
    ("a\x7fb", "path contains a control character"),
    ("../escape.txt", 'path escapes the run ("..")'),
    ("a/../../escape.txt", 'path escapes the run ("..")'),
    ("a//b", 'path has an empty or "." segment'),
    ("./a", 'path has an empty or "." segment'),
    ("a/", 'path has an empty or "." segment'),
])
def test_paths_leaving_outputs_or_odd_are_refused_with_the_protocols_reason(path, problem):
    assert artifact_path_problem(path) == problem


def test_write_output_writes_exact_content_through_a_temp_file_and_returns_the_file(tmp_path):
    outputs = str(tmp_path / "outputs")
    dest = write_output(outputs, "artifact/path", "This should be the contents of artifact/path in the service")
    assert dest == os.path.join(outputs, "artifact", "path")
    with open(dest) as f:
        assert f.read() == "This should be the contents of artifact/path in the service"
    write_output(outputs, "bin/raw.bin", bytes([0, 1, 255]))
    write_output(outputs, "bin/raw.bin", bytearray(b"\x02"))  # replaced whole
    with open(os.path.join(outputs, "bin", "raw.bin"), "rb") as f:
        assert f.read() == b"\x02"
    # No temp file left behind (the agent would skip one, but it is litter).
    assert sorted(os.listdir(os.path.join(outputs, "bin"))) == ["raw.bin"]


def test_write_output_refuses_bad_paths_other_content_and_content_over_the_cap(tmp_path, monkeypatch):
    outputs = str(tmp_path)
    with pytest.raises(ValueError) as err:
        write_output(outputs, "../escape.txt", "x")
    assert str(err.value) == "cannot upload '../escape.txt': path escapes the run (\"..\"); give a relative path inside outputs/"
    with pytest.raises(TypeError) as type_err:
        write_output(outputs, "n.txt", 5)
    assert str(type_err.value) == "cannot upload 'n.txt': content must be str or bytes, got int"
    monkeypatch.setattr(_contract, "MAX_FILE_BYTES", 10)
    with pytest.raises(ValueError) as err:
        write_output(outputs, "big.txt", "01234567890")
    assert str(err.value) == "cannot upload 'big.txt': 11 bytes is over the 10-byte cap of one artifact"
    assert os.listdir(outputs) == []
