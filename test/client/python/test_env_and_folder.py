"""_env and _run_folder: the run named by the environment, yes/no settings, and where a run's folder is."""

import json
import os

from outpost_logger import _contract, _warn
from outpost_logger._env import RunTarget, env_flag, target_from_env
from outpost_logger._run_folder import find_project_dir, iso_now, run_dir_of, write_json_atomic


def test_the_environment_names_the_run_its_spool_and_its_outputs():
    assert target_from_env({}) is None
    assert target_from_env({_contract.ENV_METRICS_FILE: ""}) is None
    env = {_contract.ENV_METRICS_FILE: "/p/.outpost/runs/r7/metrics.jsonl"}
    assert target_from_env(env) == RunTarget("/p/.outpost/runs/r7/metrics.jsonl", "outputs", "r7")
    env.update({_contract.ENV_RUN_ID: "run-1", _contract.ENV_OUTPUTS_DIR: "/o"})
    assert target_from_env(env) == RunTarget("/p/.outpost/runs/r7/metrics.jsonl", "/o", "run-1")


def test_a_yes_no_variable_takes_the_usual_words_and_keeps_the_default_on_anything_else(capsys):
    name = _contract.ENV_STRICT_WAIT
    assert env_flag(name, False, {}) is False
    assert env_flag(name, True, {}) is True
    assert [env_flag(name, False, {name: v}) for v in ["1", "true", " YES ", "on"]] == [True] * 4
    assert [env_flag(name, True, {name: v}) for v in ["", "0", "false", "No", "off"]] == [False] * 5
    _warn._warned.clear()
    assert env_flag(name, False, {name: "ture"}) is False
    assert env_flag(name, False, {name: "ture"}) is False
    assert capsys.readouterr().err == ('outpost: OUTPOST_STRICT_WAIT="ture" is not one of 1, true, yes, on, 0, false, '
                                       'no, off; wait() stays not strict\n')


def test_the_project_folder_is_the_nearest_one_above_holding_outpost(tmp_path):
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_dir(str(deep)) == str(deep)
    (tmp_path / _contract.OUTPOST_DIR).mkdir()
    assert find_project_dir(str(deep)) == str(tmp_path)
    assert run_dir_of(str(tmp_path), "r1") == os.path.join(str(tmp_path), ".outpost", "runs", "r1")


def test_times_are_iso_8601_utc_with_milliseconds_as_javascript_writes_them():
    import re
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_now())


def test_json_files_are_replaced_whole(tmp_path):
    path = str(tmp_path / "run.json")
    write_json_atomic(path, {"a": 1}, indent=2)
    write_json_atomic(path, {"b": [1, 2]})
    with open(path) as f:
        assert json.load(f) == {"b": [1, 2]}
    assert os.listdir(str(tmp_path)) == ["run.json"]
