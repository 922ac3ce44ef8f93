"""The package reads what it shares with the TypeScript side from _contract (generated) and nowhere else."""

import ast
import os

import pytest

import outpost_logger
from outpost_logger import _contract
from outpost_logger._upload import write_output

PACKAGE_DIR = os.path.dirname(outpost_logger.__file__)
CONSTANTS = sorted(outpost_logger._SETTABLE)


def contract_values():
    return {name: value for name, value in vars(_contract).items() if name.isupper()}


def test_the_public_api_and_constants_are_there():
    assert outpost_logger.__all__ == ["get_logger", "get_azureml_logger", "Logger", "LogHandle", "AckTimeoutError"]
    for name in outpost_logger.__all__:
        assert getattr(outpost_logger, name) is not None
    assert outpost_logger.get_azureml_logger is outpost_logger.get_logger
    assert issubclass(outpost_logger.AckTimeoutError, TimeoutError)
    assert outpost_logger.__version__ == _contract.VERSION


@pytest.mark.parametrize("name", CONSTANTS)
def test_each_public_constant_is_the_contracts(name):
    assert getattr(outpost_logger, name) == getattr(_contract, name)


def test_the_contract_has_the_values_of_the_typescript_side_as_this_helper_has_always_used_them():
    # The test of the generated file holds these against config/ and src/run-folder; here, their types.
    values = contract_values()
    assert values["MAX_LINE_BYTES"] == 64 * 1024 and values["MAX_FILE_BYTES"] == 512 * 1024 * 1024
    assert type(values["FLUSH_INTERVAL_S"]) is float and type(values["WAIT_TIMEOUT_S"]) is float
    assert type(values["STRICT_WAIT"]) is bool
    assert all(type(values[n]) is str for n in values if n.startswith("ENV_"))


def test_setting_a_constant_on_the_package_changes_what_the_helper_does(tmp_path):
    before = outpost_logger.MAX_FILE_BYTES
    outpost_logger.MAX_FILE_BYTES = 10
    try:
        assert _contract.MAX_FILE_BYTES == 10
        with pytest.raises(ValueError, match="11 bytes is over the 10-byte cap"):
            write_output(str(tmp_path), "big.txt", "01234567890")
    finally:
        outpost_logger.MAX_FILE_BYTES = before
    assert _contract.MAX_FILE_BYTES == before
    outpost_logger.some_attribute = 1  # other attributes are plain ones
    assert not hasattr(_contract, "some_attribute")


def literals(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (str, int):
            yield node


def test_no_module_but_the_contract_writes_a_shared_name_or_limit_itself():
    shared = {v for v in contract_values().values() if type(v) is str or (type(v) is int and v >= 65536)}
    found = []
    for name in sorted(os.listdir(PACKAGE_DIR)):
        if not name.endswith(".py") or name == "_contract.py":
            continue
        with open(os.path.join(PACKAGE_DIR, name), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        found += ["%s:%d %r" % (name, node.lineno, node.value) for node in literals(tree) if node.value in shared]
    assert found == []


def test_the_package_version_is_the_contracts():
    with open(os.path.join(PACKAGE_DIR, os.pardir, "pyproject.toml"), encoding="utf-8") as f:
        assert 'version = { attr = "outpost_logger._contract.VERSION" }' in f.read()
