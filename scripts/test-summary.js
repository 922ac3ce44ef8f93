// Prints jest's JSON results and pytest's JUnit XML results as one plain line, counted together:
// "N passed, N failed[, N skipped]" (after one line per runner). Exits 1 if anything failed or nothing ran.
const fs = require('fs');
const [jestFile = '.jest-results.json', junitFile = '.pytest-results.xml'] = process.argv.slice(2);

/** A runner whose results cannot be read counts as one failure: no results is no proof. */
function unreadable(runner, file, err) {
  console.error(`test-summary: cannot read ${runner}'s results ${file}: ${err.message}`);
  return { passed: 0, failed: 1, skipped: 0 };
}

function jestCounts(file) {
  let r;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return unreadable('jest', file, err);
  }
  // A suite that failed with no failed test (it did not load, or a beforeAll/afterAll hook threw)
  // counts as one failure: jest's test counts alone would say all is well.
  const brokenSuites = (r.testResults || []).filter((s) => s.status === 'failed' && !(s.assertionResults || []).some((a) => a.status === 'failed')).length;
  const failed = r.numFailedTests + brokenSuites + (r.numTotalTests === 0 ? 1 : 0);
  return { passed: r.numPassedTests, failed, skipped: r.numPendingTests + (r.numTodoTests || 0) };
}

/** pytest --junitxml: each <testsuite> says tests (all), failures, errors (collection, fixtures) and skipped. */
function junitCounts(file) {
  let xml;
  try {
    xml = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return unreadable('pytest', file, err);
  }
  const counts = { passed: 0, failed: 0, skipped: 0 };
  let suites = 0;
  for (const [, attrs] of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
    const n = (name) => Number((new RegExp(`\\b${name}="(\\d+)"`).exec(attrs) || [])[1] || 0);
    const failed = n('failures') + n('errors');
    counts.passed += n('tests') - failed - n('skipped');
    counts.failed += failed;
    counts.skipped += n('skipped');
    suites++;
  }
  if (suites === 0) return unreadable('pytest', file, new Error('no <testsuite> in it'));
  if (counts.passed + counts.failed + counts.skipped === 0) counts.failed++; // pytest collected no test
  return counts;
}

const line = (c) => `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
const jest = jestCounts(jestFile);
const pytest = junitCounts(junitFile);
console.log(`jest: ${line(jest)}`);
console.log(`pytest: ${line(pytest)}`);
const total = { passed: jest.passed + pytest.passed, failed: jest.failed + pytest.failed, skipped: jest.skipped + pytest.skipped };
console.log(line(total));
process.exit(total.failed > 0 ? 1 : 0);
