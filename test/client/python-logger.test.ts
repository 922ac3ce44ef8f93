/** The Python helper (the outpost_logger package in src/client/python), driven through real python3 processes. */
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { parseMetricLine } from '../../src/protocol';
import { acknowledgeSpool, pythonDir, readLines, repoRoot, runPython, tempRun } from './client-helpers';

/** Some cases need numpy; machines without it skip them (it is not a dependency of the helper). */
const hasNumpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;

const referenceExample = `
from outpost_logger import get_logger
logger = get_logger()

logger.log("simple integer value", 7)                          # scalar metrics
logger.log("simple float value", 3.141592)
logger.log("simple string value", "this is a string metric")
logger.log("chart data points", [1, 3, 5, 10, 6, 4])           # a list: drawn as a chart
`;

/** Python: `attempt(call)` prints "accepted", or the ValueError's message. */
const ATTEMPT = `
def attempt(call):
    try:
        call()
        print("accepted")
    except ValueError as err:
        print(err)
`;

/** What a script printed, line by line, given attempt(); it must print nothing on stderr. */
function attempted(run: ReturnType<typeof tempRun>, code: string): string[] {
  const out = runPython(`${ATTEMPT}${code}`, { cwd: run.dir, env: run.env });
  expect(out.stderr).toBe('');
  return out.stdout.trim().split('\n');
}

describe('the Python helper', () => {
  test('the Workbench logging example (docs/logging.md) writes each value with its JSON type', () => {
    const run = tempRun();
    const out = runPython(`${referenceExample}\nlogger.log("flag", True)\nlogger.log_metrics({"loss": 0.25, "accuracy": 0.91}, step=10)\n`, { cwd: run.dir, env: run.env });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const lines = readLines(run.metricsFile);
    expect(lines.map(({ time, ...rest }) => (expect(typeof time).toBe('number'), rest))).toEqual([
      { name: 'simple integer value', value: 7 },
      { name: 'simple float value', value: 3.141592 },
      { name: 'simple string value', value: 'this is a string metric' },
      { name: 'chart data points', value: [1, 3, 5, 10, 6, 4] },
      { name: 'flag', value: true },
      { metrics: { loss: 0.25, accuracy: 0.91 }, step: 10 },
    ]);
    // 7 is written as an integer, not 7.0.
    expect(fs.readFileSync(run.metricsFile, 'utf8')).toContain('"value":7,');
  });

  test('invalid values raise ValueError naming the metric and the reason; nothing is written', () => {
    const run = tempRun();
    expect(
      attempted(
        run,
        `
from outpost_logger import get_logger
logger = get_logger()
for value in [float("nan"), float("inf"), -float("inf"), [[1, 2]], [1, "a"], [1, float("nan")], [True], None, {"a": 1}, object(), 10**400]:
    try:
        logger.log("bad metric", value)
        print("accepted", repr(value))
    except ValueError as err:
        print(err)
for call in [lambda: logger.log("m", 1, step=-1), lambda: logger.log("m", 1, step=1.5), lambda: logger.log("", 1),
             lambda: logger.log(3, 1), lambda: logger.log("big", "x" * 70000), lambda: logger.log_metrics({})]:
    attempt(call)
`,
      ),
    ).toEqual([
      "cannot log metric 'bad metric': nan is not a finite number",
      "cannot log metric 'bad metric': inf is not a finite number",
      "cannot log metric 'bad metric': -inf is not a finite number",
      "cannot log metric 'bad metric': item 0 is a list; nested lists are not allowed (lists hold numbers only)",
      "cannot log metric 'bad metric': item 1 ('a') must be a finite number (lists hold numbers only)",
      "cannot log metric 'bad metric': item 1 (nan) must be a finite number (lists hold numbers only)",
      "cannot log metric 'bad metric': item 0 (True) must be a finite number (lists hold numbers only)",
      "cannot log metric 'bad metric': the value is None",
      "cannot log metric 'bad metric': a value must be a number, string, boolean or list of numbers, got dict",
      "cannot log metric 'bad metric': a value must be a number, string, boolean or list of numbers, got object",
      "cannot log metric 'bad metric': the integer is too large for a JSON number",
      "cannot log metric 'm': step must be an integer >= 0, got -1",
      "cannot log metric 'm': step must be an integer >= 0, got 1.5",
      'metric name is empty',
      'metric name must be a string, got 3',
      expect.stringMatching(/^cannot log metric 'big': the line is 700\d\d bytes, over the 65536-byte limit of a metric line$/),
      'log_metrics() takes a non-empty dict of name -> value, got {}',
    ]);
    expect(fs.existsSync(run.metricsFile)).toBe(false);
  });

  test('a name or string value that is not valid Unicode (a lone surrogate) is refused, also for a name logged before', () => {
    const run = tempRun();
    expect(
      attempted(
        run,
        `
from outpost_logger import get_logger
logger = get_logger()
logger.log("cached", 1)               # the name is checked once, then cached
logger.log("emoji \\U0001F600", "ok \\u00e9\\U0001F600")
for call in [lambda: logger.log("bad \\ud800", 1), lambda: logger.log("cached", "x\\udc80y"), lambda: logger.log("a", "\\ud83d\\ude00"),
             lambda: logger.log_metrics({"ok": 1, "bad \\udfff": 2}), lambda: logger.log_metrics({"ok": "\\ud800"})]:
    attempt(call)
`,
      ),
    ).toEqual([
      "metric name 'bad \\ud800' contains a lone surrogate (U+D800), not valid Unicode",
      "cannot log metric 'cached': the string value contains a lone surrogate (U+DC80), not valid Unicode",
      // Two surrogate code points are not a pair in Python: a str holds code points, not UTF-16.
      "cannot log metric 'a': the string value contains a lone surrogate (U+D83D), not valid Unicode",
      "metric name 'bad \\udfff' contains a lone surrogate (U+DFFF), not valid Unicode",
      "cannot log metric 'ok': the string value contains a lone surrogate (U+D800), not valid Unicode",
    ]);
    // Only the valid lines reached the spool, and they are valid UTF-8 for the service.
    const lines = readLines(run.metricsFile);
    expect(lines.map(({ name, value }) => [name, value])).toEqual([['cached', 1], ['emoji \u{1F600}', 'ok \u00e9\u{1F600}']]);
    for (const text of fs.readFileSync(run.metricsFile, 'utf8').trim().split('\n')) expect(parseMetricLine(text).ok).toBe(true);
  });

  test('a name is limited to 256 characters as the service counts them (UTF-16 code units), so no accepted name is refused later', () => {
    const run = tempRun();
    expect(
      attempted(
        run,
        `
from outpost_logger import get_logger
logger = get_logger()
for name in ["\\U0001F600" * 128, "\\U0001F600" * 129, "x" * 257]:
    attempt(lambda: logger.log(name, 1))
`,
      ),
    ).toEqual([
      'accepted',
      expect.stringMatching(/^metric name '(\u{1F600}){40}'\.\.\. is longer than 256 characters \(counted as the service counts them, in UTF-16 code units: a character beyond U\+FFFF takes two\)$/u),
      `metric name '${'x'.repeat(40)}'... is longer than 256 characters`,
    ]);
    const [line] = fs.readFileSync(run.metricsFile, 'utf8').trim().split('\n');
    expect(parseMetricLine(line, 256)).toMatchObject({ ok: true });
  });

  test('log_metrics() takes at most 1,000 metrics, the service\'s limit of a line (limits.maxMetricsPerLine)', () => {
    const run = tempRun();
    const out = runPython(
      `
from outpost_logger import get_logger
logger = get_logger()
logger.log_metrics({"m%d" % i: i for i in range(1000)})
try:
    logger.log_metrics({"m%d" % i: i for i in range(1001)})
except ValueError as err:
    print(err)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('cannot log 1001 metrics in one line: the limit is 1000 (MAX_METRICS_PER_LINE); split them over several log_metrics() calls\n');
    const [line] = fs.readFileSync(run.metricsFile, 'utf8').trim().split('\n');
    expect(parseMetricLine(line, 256, 1000)).toMatchObject({ ok: true });
  });

  test('deep, recursive and hostile values are a ValueError naming the metric, never a RecursionError or a hang', () => {
    const run = tempRun();
    const out = runPython(
      `
import operator
from outpost_logger import get_logger
logger = get_logger()
deep = []
d = deep
for _ in range(100000):
    d.append([])
    d = d[0]
deep_dict = {}
d = deep_dict
for _ in range(100000):
    d["a"] = {}
    d = d["a"]
looped = []
looped.append(looped)
looped_dict = {}
looped_dict["self"] = looped_dict
class SelfIndex:
    def __index__(self): return self
class RecursiveIndex:
    def __index__(self): return operator.index(self)
class OddFloat:
    def __float__(self): return "1.5"
class SelfArray:                      # numpy-like, but tolist() gives itself
    ndim = 1
    def tolist(self): return self
class DeepArray:                      # numpy-like, tolist() nesting 100,000 deep
    ndim = 1
    def tolist(self): return deep
class BrokenGetattr:
    def __getattr__(self, name): return self.missing
class EndlessList(list):
    def __iter__(self):
        while True: yield 1
    def __repr__(self): return repr(self)
class EndlessTuple(tuple):
    def __iter__(self):
        while True: yield 1
class SelfStr(str):
    def __str__(self): return SelfStr(self + "x")
    def __repr__(self): return repr(self)
    def __len__(self): return 0
    def __hash__(self): return hash(self)
class SelfInt(int):
    def __index__(self): return self
class EndlessDict(dict):
    def items(self):
        while True: yield "x", 1
    def __iter__(self):
        while True: yield "x"
    def __len__(self): return 0
cases = [
    ("a list nested 100,000 deep", lambda: logger.log("m", deep)),
    ("a list holding itself", lambda: logger.log("m", looped)),
    ("a dict nested 100,000 deep, in a list", lambda: logger.log("m", [deep_dict])),
    ("a dict holding itself", lambda: logger.log("m", looped_dict)),
    ("log_metrics() of a deep list", lambda: logger.log_metrics(deep)),
    ("a deep list as step", lambda: logger.log("m", 1, step=deep)),
    ("__index__ returning self", lambda: logger.log("m", SelfIndex())),
    ("__index__ returning self, in a list", lambda: logger.log("m", [SelfIndex()])),
    ("__index__ returning self, as step", lambda: logger.log("m", 1, step=SelfIndex())),
    ("__index__ recursing", lambda: logger.log("m", RecursiveIndex())),
    ("__index__ recursing, in a list", lambda: logger.log("m", [1, RecursiveIndex()])),
    ("__float__ returning a str", lambda: logger.log("m", OddFloat())),
    ("tolist() returning self", lambda: logger.log("m", SelfArray())),
    ("tolist() nesting deep", lambda: logger.log("m", DeepArray())),
    ("__getattr__ recursing", lambda: logger.log("m", BrokenGetattr())),
    ("a list of 1,000,000 items", lambda: logger.log("m", [0] * 1000000)),
    ("a list subclass iterating for ever", lambda: logger.log("m", EndlessList([1, 2]))),
    ("a tuple subclass iterating for ever", lambda: logger.log("m", EndlessTuple((3, 4)))),
    ("a str subclass with recursive methods", lambda: logger.log("m", SelfStr("text"))),
    ("a str subclass as the name", lambda: logger.log(SelfStr("subclassed name"), 5)),
    ("an int subclass whose __index__ is itself", lambda: logger.log("m", SelfInt(6))),
    ("a dict subclass iterating for ever", lambda: logger.log_metrics(EndlessDict(loss=7))),
]
for what, call in cases:
    try:
        call()
        print(what, "-> accepted")
    except ValueError as err:
        print(what, "->", err)
    except BaseException as err:
        print(what, "-> NOT A ValueError:", type(err).__name__, err)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const m = "cannot log metric 'm': ";
    expect(out.stdout.trim().split('\n')).toEqual([
      `a list nested 100,000 deep -> ${m}item 0 is a list; nested lists are not allowed (lists hold numbers only)`,
      `a list holding itself -> ${m}item 0 is a list; nested lists are not allowed (lists hold numbers only)`,
      `a dict nested 100,000 deep, in a list -> ${m}item 0 (a dict of 1 item) must be a finite number (lists hold numbers only)`,
      `a dict holding itself -> ${m}a value must be a number, string, boolean or list of numbers, got dict`,
      'log_metrics() of a deep list -> log_metrics() takes a non-empty dict of name -> value, got a list of 1 item',
      `a deep list as step -> ${m}step must be an integer >= 0, got a list of 1 item`,
      `__index__ returning self -> ${m}a value must be a number, string, boolean or list of numbers, got SelfIndex`,
      `__index__ returning self, in a list -> ${m}item 0 (a value of type SelfIndex) must be a finite number (lists hold numbers only)`,
      `__index__ returning self, as step -> ${m}step must be an integer >= 0, got a value of type SelfIndex`,
      expect.stringMatching(/^__index__ recursing -> cannot log metric 'm': the value \(of type RecursiveIndex\) could not be read as a number: RecursionError: maximum recursion depth exceeded/),
      expect.stringMatching(/^__index__ recursing, in a list -> cannot log metric 'm': item 1 \(of type RecursiveIndex\) could not be read as a number: RecursionError: /),
      `__float__ returning a str -> ${m}a value must be a number, string, boolean or list of numbers, got OddFloat`,
      `tolist() returning self -> ${m}tolist() of the SelfArray value gave a value of type SelfArray, not a number or a list of numbers`,
      `tolist() nesting deep -> ${m}item 0 is a list; nested lists are not allowed (lists hold numbers only)`,
      expect.stringMatching(/^__getattr__ recursing -> cannot log metric 'm': the value \(of type BrokenGetattr\) could not be read as a number: RecursionError: /),
      `a list of 1,000,000 items -> ${m}the list has 1000000 items, more than a 65536-byte metric line holds`,
      'a list subclass iterating for ever -> accepted',
      'a tuple subclass iterating for ever -> accepted',
      'a str subclass with recursive methods -> accepted',
      'a str subclass as the name -> accepted',
      'an int subclass whose __index__ is itself -> accepted',
      'a dict subclass iterating for ever -> accepted',
    ]);
    // Subclasses are logged as the plain values they hold, not as their methods say.
    expect(readLines(run.metricsFile).map(({ name, value, metrics }) => [name, value ?? metrics])).toEqual([
      ['m', [1, 2]],
      ['m', [3, 4]],
      ['m', 'text'],
      ['subclassed name', 5],
      ['m', 6],
      [undefined, { loss: 7 }],
    ]);
  });

  (hasNumpy ? test : test.skip)('numpy: 1-d arrays and scalars are logged, deeper arrays and huge ones refused before tolist()', () => {
    const run = tempRun();
    const out = runPython(
      `
import numpy as np
from outpost_logger import get_logger
logger = get_logger()
for what, value in [("0-d", np.array(2.5)), ("float64", np.float64(1.5)), ("int64", np.int64(7)), ("bool_", np.bool_(True)),
                    ("1-d", np.arange(3)), ("items", [np.float32(0.5), np.int8(3)]), ("2-d", np.zeros((2, 2))),
                    ("32-d", np.zeros((1,) * 32)), ("ragged objects", np.array([[1], [2, 3]], dtype=object)),
                    ("1,000,000 items", np.zeros(1000000)), ("nan", np.array([np.nan]))]:
    try:
        logger.log(what, value, step=np.int64(1))
        print(what, "-> accepted")
    except ValueError as err:
        print(what, "->", err)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n')).toEqual([
      '0-d -> accepted',
      'float64 -> accepted',
      'int64 -> accepted',
      'bool_ -> accepted',
      '1-d -> accepted',
      'items -> accepted',
      "2-d -> cannot log metric '2-d': a 2-dimensional array; only 1-dimensional ones (lists of numbers) can be logged",
      "32-d -> cannot log metric '32-d': a 32-dimensional array; only 1-dimensional ones (lists of numbers) can be logged",
      "ragged objects -> cannot log metric 'ragged objects': item 0 is a list; nested lists are not allowed (lists hold numbers only)",
      "1,000,000 items -> cannot log metric '1,000,000 items': the array has 1000000 items, more than a 65536-byte metric line holds",
      "nan -> cannot log metric 'nan': item 0 (nan) must be a finite number (lists hold numbers only)",
    ]);
    expect(readLines(run.metricsFile).map((l) => [l.value, l.step])).toEqual([[2.5, 1], [1.5, 1], [7, 1], [true, 1], [[0, 1, 2], 1], [[0.5, 3], 1]]);
  });

  test('wait() returns once the watermark covers the line (the test plays the agent)', async () => {
    const run = tempRun();
    const code = `${referenceExample}
import json, os
logger.log("my metric 1", 1).wait(timeout=20)     # blocking
seen = json.load(open(os.environ["OUTPOST_METRICS_FILE"] + ".ack"))
print(seen["offset"] >= os.path.getsize(os.environ["OUTPOST_METRICS_FILE"]), flush=True)
logger.log("my metric 2", 2).wait(timeout=20)
`;
    const child = spawn('python3', ['-c', code], { cwd: run.dir, env: run.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The agent's part: acknowledge whatever complete lines the spool holds, until the process ends.
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      if (fs.existsSync(run.metricsFile)) acknowledgeSpool(run.metricsFile);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stderr).toBe('');
    expect(await exited).toBe(0);
    expect(stdout).toBe('True\n');
    expect(readLines(run.metricsFile).map((l) => l.name)).toEqual([
      'simple integer value',
      'simple float value',
      'simple string value',
      'chart data points',
      'my metric 1',
      'my metric 2',
    ]);
  });

  test('wait() times out with an error saying whether an agent is running (strict, with one)', () => {
    const run = tempRun();
    const out = runPython(
      `
import json, os
from outpost_logger import get_logger, AckTimeoutError
logger = get_logger()
try:
    logger.log("lonely", 1).wait(timeout=0.05)
except AckTimeoutError as err:
    print(err.agent_running, err)
agent = os.path.join(os.path.dirname(os.environ["OUTPOST_METRICS_FILE"]), "agent.json")
json.dump({"pid": os.getpid(), "server": "http://127.0.0.1:9", "startedTime": "now"}, open(agent, "w"))
try:
    logger.log("lonely", 2).wait(timeout=0.05, strict=True)
except TimeoutError as err:
    print(err.agent_running, err)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    const [none, live] = out.stdout.trim().split('\n');
    expect(none).toMatch(/^False timed out after 0.05 s waiting for the service to acknowledge metric 'lonely' \(.*metrics.jsonl: nothing acknowledged yet\)/);
    expect(none).toContain(`no agent is running for run run-1 (no ${path.join(run.runDir, 'agent.json')})`);
    expect(live).toMatch(/^True .*: an agent is running \(pid \d+, server http:\/\/127.0.0.1:9\)/);
  });

  test('multiprocessing children (fork) log into the same spool; the parent\'s lines are written once', () => {
    const run = tempRun();
    const out = runPython(
      `
import multiprocessing as mp
from outpost_logger import get_logger
logger = get_logger()
def child(k):
    for i in range(200):
        get_logger().log("child-%d" % k, i, step=i)
if __name__ == "__main__":
    for i in range(100):
        logger.log("parent", i, step=i)      # written before the children fork, so never twice
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=child, args=(k,)) for k in range(3)]
    for p in procs: p.start()
    for p in procs: p.join()
    with ctx.Pool(2) as pool:
        pool.map(child, [10, 11])
    for i in range(100, 200):
        logger.log("parent", i, step=i)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const byName = new Map<string, number[]>();
    for (const l of readLines(run.metricsFile)) byName.set(l.name as string, [...(byName.get(l.name as string) ?? []), l.step as number]);
    const all = [...Array(200).keys()];
    expect([...byName.keys()].sort()).toEqual(['child-0', 'child-1', 'child-10', 'child-11', 'child-2', 'parent']);
    for (const steps of byName.values()) expect(steps).toEqual(all);
  });

  test('Pool workers stopped by terminate() die at once: 100 pools in a row, none left waiting', () => {
    // A SIGTERM handler in each worker (the helper's, when it buffered lines) lost the signal when it
    // came just before the worker blocked on its queue's lock: terminate() then waited for ever.
    const run = tempRun();
    const out = runPython(
      `
import multiprocessing as mp, signal
from outpost_logger import get_logger
def child(k):
    get_logger().log("child", k, step=k)
    return signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
if __name__ == "__main__":
    get_logger().log("parent", 0)
    ctx = mp.get_context("fork")
    default = []
    for r in range(100):
        with ctx.Pool(2) as pool:
            default += pool.map(child, range(2))
    print(all(default), signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
`,
      { cwd: run.dir, env: run.env, timeout: 60_000 },
    );
    expect(out.signal).toBeNull();
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('True True\n');
    expect(readLines(run.metricsFile)).toHaveLength(201);
  });

  test('SIGTERM while lines are held (the spool could not be written) writes them, then ends the process as SIGTERM does', () => {
    const run = tempRun();
    fs.mkdirSync(run.metricsFile); // open(2) for appending fails with EISDIR
    const out = runPython(
      `
import os, signal, sys, outpost_logger
outpost_logger.FLUSH_INTERVAL_S = 600   # no retry by the timer: only the SIGTERM handler writes them
logger = outpost_logger.get_logger()
for i in range(5):
    logger.log("held", i, step=i)
os.rmdir(logger.metrics_file)
print(signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, flush=True)
os.kill(os.getpid(), signal.SIGTERM)
signal.pause()
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.signal).toBe('SIGTERM');
    expect(out.stdout).toBe('True\n');
    expect(readLines(run.metricsFile).map((l) => l.step)).toEqual([0, 1, 2, 3, 4]);
  });

  test('upload() writes exact content atomically and refuses escaping paths and oversized content', () => {
    const run = tempRun();
    const out = runPython(
      `
import outpost_logger
logger = outpost_logger.get_logger()
logger.upload("artifact/path", "This should be the contents of artifact/path in the service")
logger.upload("bin/raw.bin", bytes([0, 1, 255]))
for path in ["../escape.txt", "a/../../escape.txt", "/etc/passwd", ""]:
    try:
        logger.upload(path, "x")
    except ValueError as err:
        print(err)
outpost_logger.MAX_FILE_BYTES = 10
try:
    logger.upload("big.txt", "01234567890")
except ValueError as err:
    print(err)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n')).toEqual([
      `cannot upload '../escape.txt': path escapes the run (".."); give a relative path inside outputs/`,
      `cannot upload 'a/../../escape.txt': path escapes the run (".."); give a relative path inside outputs/`,
      "cannot upload '/etc/passwd': path is absolute; give a relative path inside outputs/",
      "cannot upload '': path is empty; give a relative path inside outputs/",
      "cannot upload 'big.txt': 11 bytes is over the 10-byte cap of one artifact",
    ]);
    expect(fs.readFileSync(path.join(run.outputsDir, 'artifact/path'), 'utf8')).toBe('This should be the contents of artifact/path in the service');
    expect([...fs.readFileSync(path.join(run.outputsDir, 'bin/raw.bin'))]).toEqual([0, 1, 255]);
    expect(fs.readdirSync(run.outputsDir).sort()).toEqual(['artifact', 'bin']);
  });

  test('outside outpost run it warns once and logs to an offline run folder that outpost sync can ship', () => {
    const run = tempRun();
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: pythonDir };
    for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER']) delete env[k];
    const out = runPython(`${referenceExample}\nlogger.log("my metric 1", 1).wait()\nfrom outpost_logger import get_azureml_logger\nassert get_azureml_logger() is logger\n`, { cwd: run.dir, env });
    expect(out.status).toBe(0);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/^outpost: not under `outpost run` \(OUTPOST_METRICS_FILE is not set\): logging offline to .*; ship it with `outpost sync`/);
    const runs = fs.readdirSync(path.join(run.dir, '.outpost/runs')).filter((r) => r !== 'run-1');
    expect(runs).toHaveLength(1);
    const runDir = path.join(run.dir, '.outpost/runs', runs[0]);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'))).toMatchObject({ id: runs[0], metricsFile: path.join(runDir, 'metrics.jsonl'), outputsDir: path.join(run.dir, 'outputs') });
    expect(readLines(path.join(runDir, 'metrics.jsonl')).map((l) => l.value)).toEqual([7, 3.141592, 'this is a string metric', [1, 3, 5, 10, 6, 4], 1]);
  });

  test('an offline run records its facts in run.json, and outpost sync registers it with its real start, command, folder and host', () => {
    const run = tempRun();
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: pythonDir };
    for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER', 'OUTPOST_CONFIG', 'OUTPOST_TOKEN']) delete env[k];
    // Already in outputs/ when the run starts: an earlier run's file, and a half-written upload() temp file.
    fs.mkdirSync(path.join(run.dir, 'outputs'));
    fs.writeFileSync(path.join(run.dir, 'outputs', 'old.txt'), 'earlier');
    fs.writeFileSync(path.join(run.dir, 'outputs', '.outpost-tmp-123-abcdef'), 'half');
    const script = path.join(run.dir, 'train.py');
    fs.writeFileSync(script, 'import time\nfrom outpost_logger import get_logger\nlogger = get_logger()\nlogger.log("loss", 0.5, step=1)\ntime.sleep(0.05)\n');
    const out = spawnSync('python3', [script, '--lr', "it's 0.1", 'two words'], { cwd: run.dir, env, encoding: 'utf8', timeout: 30_000 });
    expect(out.status).toBe(0);
    const id = fs.readdirSync(path.join(run.dir, '.outpost/runs')).find((r) => r !== 'run-1')!;
    const runDir = path.join(run.dir, '.outpost/runs', id);
    const info = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    expect(info.createdTime).toMatch(iso);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'exit.json'), 'utf8')).endTime).toMatch(iso);
    const python = path.basename(spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim());
    expect(info.facts).toEqual({
      startTime: info.createdTime,
      command: `${python} ${script} --lr 'it'\\''s 0.1' 'two words'`,
      cwd: fs.realpathSync(run.dir),
      host: os.hostname(),
    });
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(runDir, 'files.json'), 'utf8')).files)).toEqual(['old.txt']);

    const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/outpost.js'), ...args], { cwd: run.dir, env, encoding: 'utf8', timeout: 60_000 });
    const sync = cli(['sync', '--run', id]);
    expect(sync.stderr).toMatch(new RegExp(`run ${id} completed; 1 metric line and 0 files shipped`));
    expect(sync.status).toBe(0);
    const synced = JSON.parse(cli(['history', 'info', '-r', id, '--json']).stdout);
    expect(synced).toMatchObject({ status: 'completed', exitCode: 0, startTime: info.createdTime, command: info.facts.command, cwd: info.facts.cwd, host: info.facts.host });
    expect(Date.parse(synced.startTime)).toBeLessThanOrEqual(Date.parse(synced.endTime));
    expect(synced.artifacts).toEqual([]);
  });

  test('while the spool cannot be written, log() holds lines with one warning, and raises only at the held-bytes cap', () => {
    const run = tempRun();
    fs.mkdirSync(run.metricsFile); // open(2) for appending fails with EISDIR
    const out = runPython(
      `
import os, outpost_logger
outpost_logger.FLUSH_MAX_BYTES = 4096
logger = outpost_logger.get_logger()
for i in range(1000):
    logger.log("loss", i)
os.rmdir(logger.metrics_file)
logger.flush()
logger.max_held_bytes = 20000
os.mkdir(logger.metrics_file + ".blocked")
logger.metrics_file = logger.metrics_file + ".blocked"
logger._fd = None
try:
    for i in range(10000):
        logger.log("more", i)
except OSError as err:
    print("raised after", i, ":", err)
`,
      { cwd: run.dir, env: run.env },
    );
    // One warning for the 1,000 lines held; at exit, the lines still held are said to be lost.
    const warnings = out.stderr.trim().split('\n');
    expect(warnings.filter((w) => /metrics\.jsonl: /.test(w))).toEqual([expect.stringMatching(/outpost: cannot append to the spool .*metrics\.jsonl: .*Is a directory.*\(will retry\)/)]);
    expect(warnings[warnings.length - 1]).toMatch(/could not append buffered metrics to .*metrics\.jsonl\.blocked/);
    expect(out.stdout).toMatch(/^raised after \d{2,3} : cannot log: the spool .*metrics\.jsonl\.blocked cannot be written \(.*Is a directory.*\), and the \d+ lines held meanwhile reach the 20000-byte cap \(MAX_HELD_BYTES\)\n$/);
    expect(readLines(run.metricsFile).map((l) => l.value)).toEqual([...Array(1000).keys()]);
  });

  test.each([
    ['returns', '', { status: 'completed', exitCode: 0 }],
    ['calls sys.exit(3)', 'import sys\nsys.exit(3)\n', { status: 'failed', exitCode: 3 }],
    ['calls sys.exit("message")', 'import sys\nsys.exit("giving up")\n', { status: 'failed', exitCode: 1 }],
    ['raises', 'raise RuntimeError("boom")\n', { status: 'failed', exitCode: 1 }],
    // No hook of the helper's: the interpreter records an uncaught exception whatever sys.excepthook is.
    ['leaves sys.excepthook as it was', 'import sys\nif sys.excepthook is not sys.__excepthook__:\n    sys.exit(5)\n', { status: 'completed', exitCode: 0 }],
    ['raises, with an excepthook of its own set later', 'import sys\nsys.excepthook = lambda *exc: None\nraise RuntimeError("boom")\n', { status: 'failed', exitCode: 1 }],
    ['calls sys.excepthook itself on a handled error, then returns', 'import sys\ntry:\n    raise ValueError("handled")\nexcept ValueError:\n    sys.excepthook(*sys.exc_info())\n', { status: 'completed', exitCode: 0 }],
    // sys.exit() in a thread ends that thread only.
    ['calls sys.exit(2) in a thread, then returns', 'import sys, threading\nt = threading.Thread(target=lambda: sys.exit(2))\nt.start()\nt.join()\n', { status: 'completed', exitCode: 0 }],
  ])('an offline run that %s records how it ended in exit.json, for outpost sync', (_how, ending, expected) => {
    const run = tempRun();
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: pythonDir };
    for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER']) delete env[k];
    const out = runPython(`from outpost_logger import get_logger\nget_logger().log("a", 1)\n${ending}`, { cwd: run.dir, env });
    expect(out.status).toBe(expected.exitCode);
    const runs = fs.readdirSync(path.join(run.dir, '.outpost/runs')).filter((r) => r !== 'run-1');
    const runDir = path.join(run.dir, '.outpost/runs', runs[0]);
    expect(fs.readdirSync(runDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'exit.json'), 'utf8'))).toMatchObject(expected);
  });

});

/** Python prelude for the wait() tests: the test plays the agent (agent.json with a live pid, the watermark). */
const playAgent = `
import json, os, subprocess, sys, threading
from outpost_logger import get_logger, AckTimeoutError
spool = os.environ["OUTPOST_METRICS_FILE"]
def agent(pid):
    with open(os.path.join(os.path.dirname(spool), "agent.json"), "w") as f:
        json.dump({"pid": pid, "server": "http://127.0.0.1:9", "startedTime": "now"}, f)
def ack():
    st = os.stat(spool)
    with open(spool + ".ack.tmp", "w") as f:
        json.dump({"stream": "s1", "ino": st.st_ino, "offset": st.st_size, "line": 0, "time": "now"}, f)
    os.replace(spool + ".ack.tmp", spool + ".ack")
def outcome(call):
    try:
        call()
        return "returned"
    except AckTimeoutError as err:
        return "raised (agent running: %s)" % err.agent_running
`;

describe('the Python helper\'s wait() while the service is silent and an agent owns the run', () => {
  test('not strict (the default): returns after its timeout with the line fsynced and one warning; later waits return at once until the watermark moves', () => {
    const run = tempRun();
    const out = runPython(
      `${playAgent}
logger = get_logger()
logger.log("first", 0)
logger.flush()
ack()
agent(os.getpid())
logger.log("epoch", 1).wait(timeout=0.05)
print("after a timeout:", "returned", flush=True)
logger.log("epoch", 2).wait(timeout=None)   # would block for ever if it sat out a timeout again
logger.log_metrics({"a": 1, "b": 2}).wait(timeout=None)
logger.wait(timeout=None)
print("while silent:", "returned", flush=True)
ack()   # the service is back: waits wait for the acknowledgement again
waiter = threading.Thread(target=lambda: logger.log("epoch", 3).wait(timeout=None))
waiter.start()
waiter.join(0.2)
print("after the watermark moved, still waiting:", waiter.is_alive(), flush=True)
ack()
waiter.join(20)
print("acknowledged:", not waiter.is_alive(), flush=True)
print("a second silence:", outcome(lambda: logger.log("epoch", 4).wait(timeout=0.05)), flush=True)
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stdout.trim().split('\n')).toEqual([
      'after a timeout: returned',
      'while silent: returned',
      'after the watermark moved, still waiting: True',
      'acknowledged: True',
      'a second silence: returned',
    ]);
    // One warning for the process, though two waits timed out.
    expect(out.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^outpost: the service has not acknowledged metric 'epoch' within 0.05 s \(.*metrics\.jsonl: acknowledged up to byte \d+, the line ends by byte \d+\); the line is safe in the spool \(fsynced\) and the agent \(pid \d+, server http:\/\/127.0.0.1:9\) will ship it once the service answers\. .*set OUTPOST_STRICT_WAIT=1 or call wait\(strict=True\) to have it raise instead$/,
      ),
    ]);
    expect(out.status).toBe(0);
    expect(readLines(run.metricsFile).map((l) => l.value ?? l.metrics)).toEqual([0, 1, 2, { a: 1, b: 2 }, 3, 4]);
  });

  test('strict waits raise as before: wait(strict=True), and OUTPOST_STRICT_WAIT=1; a value that is neither is said', () => {
    const run = tempRun();
    const script = `${playAgent}
logger = get_logger()
agent(os.getpid())
print("default:", outcome(lambda: logger.log("a", 1).wait(timeout=0.05)))
print("strict=True:", outcome(lambda: logger.log("b", 2).wait(timeout=0.05, strict=True)))
print("Logger.wait(strict=True):", outcome(lambda: logger.wait(timeout=0.05, strict=True)))
print("strict=False:", outcome(lambda: logger.log("c", 3).wait(timeout=0.05, strict=False)))
`;
    const plain = runPython(script, { cwd: run.dir, env: run.env });
    expect(plain.stdout.trim().split('\n')).toEqual([
      'default: returned',
      'strict=True: raised (agent running: True)',
      'Logger.wait(strict=True): raised (agent running: True)',
      'strict=False: returned',
    ]);
    const strictEnv = runPython(script, { cwd: run.dir, env: { ...run.env, OUTPOST_STRICT_WAIT: '1' } });
    // Only the wait that asked not to be strict warned.
    expect(strictEnv.stderr).toMatch(/^outpost: the service has not acknowledged metric 'c' within 0.05 s [^\n]*\n$/);
    expect(strictEnv.stdout.trim().split('\n')).toEqual([
      'default: raised (agent running: True)',
      'strict=True: raised (agent running: True)',
      'Logger.wait(strict=True): raised (agent running: True)',
      'strict=False: returned',
    ]);
    const typo = runPython(script, { cwd: run.dir, env: { ...run.env, OUTPOST_STRICT_WAIT: 'ture' } });
    expect(typo.stdout).toMatch(/^default: returned\n/);
    expect(typo.stderr).toMatch(/^outpost: OUTPOST_STRICT_WAIT="ture" is not one of 1, true, yes, on, 0, false, no, off; wait\(\) stays not strict\n/);
  });

  test('without a live agent it raises, also when the agent dies while the service is silent; an offline run returns, strict or not', () => {
    const run = tempRun();
    const out = runPython(
      `${playAgent}
logger = get_logger()
proc = subprocess.Popen(["sleep", "60"])
agent(proc.pid)
print("agent alive:", outcome(lambda: logger.log("a", 1).wait(timeout=0.05)))
proc.kill()
proc.wait()
try:
    logger.log("b", 2).wait(timeout=0.05)
except AckTimeoutError as err:
    print("agent dead:", err.agent_running, err)
`,
      { cwd: run.dir, env: run.env },
    );
    const [alive, dead] = out.stdout.trim().split('\n');
    expect(alive).toBe('agent alive: returned');
    expect(dead).toMatch(/^agent dead: False timed out after 0.05 s .*: no agent is running for run run-1 \(.*names pid \d+, which has exited/);

    const offline = tempRun();
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: pythonDir, OUTPOST_STRICT_WAIT: '1' };
    for (const k of ['OUTPOST_RUN_ID', 'OUTPOST_METRICS_FILE', 'OUTPOST_OUTPUTS_DIR', 'OUTPOST_SERVER']) delete env[k];
    const off = runPython(`${playAgent.replace('spool = os.environ["OUTPOST_METRICS_FILE"]', '')}
logger = get_logger()
print(outcome(lambda: logger.log("a", 1).wait(timeout=0.05)), outcome(lambda: logger.log("b", 2).wait(timeout=0.05, strict=True)), outcome(lambda: logger.wait()))
`, { cwd: offline.dir, env });
    expect(off.stdout).toBe('returned returned returned\n');
    expect(off.status).toBe(0);
  });

  test('a hostile agent.json or watermark (nested 100,000 deep, a pid that is a bool or out of range) is no agent or no watermark, never a RecursionError', () => {
    const run = tempRun();
    const out = runPython(
      `${playAgent}
logger = get_logger()
deep = "[" * 100000 + "]" * 100000
agent_file = os.path.join(os.path.dirname(spool), "agent.json")
for what, agent_json, ack_json in [
    ("deep agent.json", '{"pid": %d, "server": %s}' % (os.getpid(), deep), None),
    ("deep watermark", '{"pid": %d, "server": "http://127.0.0.1:9"}' % os.getpid(), deep),
    ("a bool pid", '{"pid": true}', None),
    ("a huge pid", '{"pid": %d}' % 2 ** 70, None),
]:
    with open(agent_file, "w") as f:
        f.write(agent_json)
    if ack_json:
        with open(spool + ".ack", "w") as f:
            f.write(ack_json)
    try:
        logger.log("m", 1).wait(timeout=0.02, strict=True)
    except AckTimeoutError as err:
        print(what, "->", err.agent_running, str(err).split("): ", 1)[1][:400])
    except BaseException as err:
        print(what, "-> NOT an AckTimeoutError:", type(err).__name__)
    if ack_json:
        os.remove(spool + ".ack")
`,
      { cwd: run.dir, env: run.env },
    );
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^deep agent.json -> False no agent is running for run run-1 \(.*agent\.json is unreadable \(RecursionError: /),
      expect.stringMatching(/^deep watermark -> True an agent is running \(pid \d+, server http:\/\/127.0.0.1:9\)/),
      expect.stringMatching(/^a bool pid -> False no agent is running for run run-1 \(.*agent\.json names no pid\)/),
      expect.stringMatching(/^a huge pid -> False no agent is running for run run-1 \(.*agent\.json names no pid\)/),
    ]);
  });
});
