// Prints jest's JSON results as one plain line: "N passed, N failed, N skipped".
const fs = require('fs');
const file = process.argv[2] || '.jest-results.json';
let r;
try {
  r = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
  console.log('0 passed, 1 failed');
  console.error(`jest-summary: cannot read ${file}: ${err.message}`);
  process.exit(1);
}
// A suite that failed with no failed test (it did not load, or a beforeAll/afterAll hook threw)
// counts as one failure: jest's test counts alone would say all is well.
const brokenSuites = (r.testResults || []).filter((s) => s.status === 'failed' && !(s.assertionResults || []).some((a) => a.status === 'failed')).length;
const failed = r.numFailedTests + brokenSuites;
const skipped = r.numPendingTests + (r.numTodoTests || 0);
console.log(`${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || r.numTotalTests === 0 ? 1 : 0);
