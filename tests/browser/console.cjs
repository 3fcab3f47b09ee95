// Drives the web console in Debian's chromium through playwright-core (tests/console.rs
// runs it). Arguments: base URL, user, password, file to read, topic, screenshot dir.
// Prints `ok: <step>` per step and `tap: <json>` for the first tap record it saw; exits
// non-zero (with the reason) at the first step that does not happen in time.
'use strict';

const [base, user, password, file, topic, shots] = process.argv.slice(2);
const { chromium } = require(require.resolve('playwright-core', { paths: [process.env.SLUICE_BROWSER_DIR] }));

const NAME = 'console-file-source';
const WAIT = 30000;

function ok(step) { console.log('ok: ' + step); }

async function until(what, f, timeout = WAIT) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeout} ms${last ? ' (' + last.message + ')' : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  // the API's 401s before signing in are expected; any other console error is not
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push('console error: ' + m.text());
  });
  const shot = async (name) => { if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false }); };

  await page.goto(base + '/ui/');
  // the REST API asks for credentials: the console's own sign-in form, not the browser's
  await page.waitForSelector('#login', { timeout: WAIT });
  await page.fill('#login-user', user);
  await page.fill('#login-password', 'wrong-' + password);
  await page.click('#login-submit');
  await page.waitForSelector('#login-error', { timeout: WAIT });
  ok('wrong password refused');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#connectors-table', { timeout: WAIT });
  ok('signed in');

  // create a connector through the form, seeing validation at the key as we type
  await page.click('#new-connector');
  await page.waitForSelector('#form-plugin option[value="org.apache.kafka.connect.file.FileStreamSourceConnector"]', { state: 'attached', timeout: WAIT });
  await page.fill('#form-name', NAME);
  await page.selectOption('#form-plugin', 'org.apache.kafka.connect.file.FileStreamSourceConnector');
  await page.waitForSelector('[id="key-tasks.max"]', { timeout: WAIT });
  await page.fill('[id="key-file"]', file);
  await page.fill('[id="key-topic"]', topic);
  await page.fill('[id="key-tasks.max"]', 'many');
  const err = await until('an error shown at tasks.max', async () => {
    const t = await page.textContent('.errors[data-key="tasks.max"]');
    return t && t.trim() ? t.trim() : null;
  });
  console.log('tasks.max error: ' + err);
  await until('the summary counts the problem', async () => /problem/.test(await page.textContent('#validation-summary')));
  await shot('console-form');
  await page.fill('[id="key-tasks.max"]', '1');
  await until('no problems after the fix', async () => (await page.textContent('#validation-summary')) === 'No problems found');
  ok('validated as typed');
  await page.click('#form-submit');
  await page.waitForURL(/#\/connectors\/console-file-source$/, { timeout: WAIT });
  ok('created');

  // RUNNING, with its throughput moving
  await until('connector RUNNING', async () => (await page.textContent('[data-testid="connector-state"]')) === 'RUNNING');
  await until('task 0 RUNNING', async () => (await page.textContent('[data-testid="task-state-0"]')) === 'RUNNING');
  const rate = await until('records in per second above 0', async () => {
    const v = parseFloat(await page.textContent('[data-testid="rate-in"]'));
    return v > 0 ? v : null;
  });
  console.log('rate in: ' + rate);
  ok('running with throughput');
  await page.waitForTimeout(4000); // a few points on the chart
  await shot('console-connector');

  // pause: PAUSED
  await page.click('#action-pause');
  await until('connector PAUSED', async () => (await page.textContent('[data-testid="connector-state"]')) === 'PAUSED');
  await until('task 0 PAUSED', async () => (await page.textContent('[data-testid="task-state-0"]')) === 'PAUSED');
  ok('paused');
  await page.click('a[href="#/"]');
  await until('PAUSED in the list', async () => (await page.textContent(`[data-testid="state-${NAME}"]`)) === 'PAUSED');
  await shot('console-list');
  ok('listed as paused');

  // resume and open its tap
  await page.click(`a[href="#/connectors/${NAME}"]`);
  await page.waitForSelector('#action-resume', { timeout: WAIT });
  await page.click('#action-resume');
  await until('connector RUNNING again', async () => (await page.textContent('[data-testid="connector-state"]')) === 'RUNNING');
  ok('resumed');
  await page.click('#tap-toggle');
  const value = await until('a record in the tap', async () => {
    const t = await page.$$eval('#tap-events .tap-event[data-stage="source"] .tap-value', (els) => els.map((e) => e.textContent));
    return t.length ? t[0] : null;
  });
  console.log('tap: ' + JSON.stringify(value));
  await page.waitForTimeout(1500);
  await page.locator('#tap-events').scrollIntoViewIfNeeded();
  await shot('console-tap');
  ok('tap open');

  // offsets view
  await page.click('#offsets-load');
  await until('offsets shown', async () => (await page.$$('#offsets-table tbody tr')).length > 0);
  ok('offsets shown');

  // edit: the form opens with the current config; a changed key is saved
  await page.click('#action-edit');
  await page.waitForSelector('[id="key-batch.size"]', { timeout: WAIT });
  await until('the form filled in', async () => (await page.inputValue('[id="key-topic"]')) === topic);
  await page.fill('[id="key-batch.size"]', '7');
  await until('no problems in the edited config', async () => (await page.textContent('#validation-summary')) === 'No problems found');
  await page.click('#form-submit');
  await page.waitForURL(/#\/connectors\/console-file-source$/, { timeout: WAIT });
  const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  const saved = await until('the new batch.size stored', async () => {
    const r = await page.request.get(`${base}/connectors/${NAME}/config`, { headers: { Authorization: auth } });
    const c = await r.json();
    return c['batch.size'] === '7' ? c : null;
  });
  console.log('config after edit: ' + JSON.stringify(saved));
  await until('RUNNING after the edit', async () => (await page.textContent('[data-testid="connector-state"]')) === 'RUNNING');
  ok('edited');

  // stop, then reset its offsets (confirmed in the browser's dialog): they are gone
  await page.click('#action-stop');
  await until('connector STOPPED', async () => (await page.textContent('[data-testid="connector-state"]')) === 'STOPPED');
  page.once('dialog', (d) => d.accept());
  await page.click('#offsets-reset');
  const reset = await until('the reset answered', async () => {
    const t = (await page.textContent('#offsets-message')) || '';
    return /reset/i.test(t) ? t : null;
  });
  console.log('reset: ' + reset);
  await page.click('#offsets-load');
  await until('no offsets left', async () => /No offsets/.test(await page.textContent('#offsets')));
  ok('offsets reset');

  // delete, confirmed in the browser's dialog
  page.once('dialog', (d) => d.accept());
  await page.click('#action-delete');
  await page.waitForURL(/#\/$/, { timeout: WAIT });
  await until('gone from the list', async () => (await page.$(`[data-connector="${NAME}"]`)) === null
    && (await page.$('#connectors-table')) !== null);
  ok('deleted');

  await browser.close();
  if (problems.length) throw new Error(problems.join('\n'));
}

main().catch((e) => {
  console.error('FAILED: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
