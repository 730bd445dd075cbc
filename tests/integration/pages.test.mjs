// pages.test.mjs: the pages the module shows (issue 17 §2) and front-channel
// logout (§5), through the real Apache, the real provider and Chromium.
//
// - The built-in pages, as a person sees them in Chromium: provider down
//   (502), login failed (400), access refused (403, with "log out to use
//   another account"), signed out (where that logout ends, through the
//   provider's RP-initiated logout), session expired (401). A screenshot of
//   each is written to tests/output/pages/<kind>.png for a person to read.
// - ErrorDocument keeps working for the statuses the module leaves to Apache.
// - OAuth2Page replaces each page with the site's file; every variable is
//   there, HTML-escaped (a user called eve<i>"&'x).
// - A page file that is missing, relative, unknown or malformed fails
//   `apache2 -t` with the directive, the file and the line.
// - Front-channel logout: a page on the provider's origin frames
//   <prefix>/frontchannel-logout?iss=..&sid=.. in Chromium, which ends that
//   sid's session; the answer is not cached and only the provider's origin
//   may frame it (a page of another origin is refused by Chromium); bad
//   iss/sid get a 400 and OA2223.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startStack, moduleConfig } from './lib/stack.mjs';
import { DEFAULT_ACCOUNTS } from './lib/provider.mjs';
import { REPO_ROOT } from './lib/apache.mjs';
import { request, newBrowser, login } from './lib/http.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';
import { waitFor, LOOPBACK } from './lib/ports.mjs';

const SHOTS = path.join(REPO_ROOT, 'tests/output/pages');
const EVE = 'eve<i>"&\'x';
const EVE_HTML = 'eve&lt;i&gt;&quot;&amp;&#39;x';
const KINDS = ['error', 'login-failed', 'refused', 'provider-down', 'unavailable', 'session-expired', 'signed-out'];
const FAKE_STATE = 'A'.repeat(22);

// The site's template of a kind: every variable, and its logout link.
const template = (kind) => `<!DOCTYPE html><html><head><title>{{title}}</title></head><body>
<p id="kind">site-${kind}</p>
<p id="vars">title={{title}}|message={{message}}|status={{status}}|user={{user}}|reason={{reason}}|rid={{request_id}}|again={{try_again_url}}|logout={{logout_url}}</p>
{{#logout_url}}<a id="switch" href="{{logout_url}}">Switch account</a>{{/logout_url}}{{^user}}<p>nobody</p>{{/user}}
</body></html>
`;

// The variables a site's page received, parsed back from its text.
function vars(body) {
    const m = /<p id="vars">(.*)<\/p>/.exec(body);
    assert.ok(m, `a site page: ${body.slice(0, 300)}`);
    return Object.fromEntries(m[1].split('|').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

function assertPageHeaders(r, frame = "'none'") {
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.match(r.headers['content-type'], /^text\/html; charset=utf-8/);
    assert.ok(r.headers['content-security-policy'].endsWith(`; frame-ancestors ${frame}`), r.headers['content-security-policy']);
    assert.equal(r.headers['x-frame-options'], undefined);
}

describe('pages and front-channel logout', () => {
    let s;
    let custom = false;
    before(async () => {
        s = await startStack({
            provider: {
                frontchannelLogout: true,
                accounts: [...DEFAULT_ACCOUNTS, { id: EVE, email: 'eve@example.com', groups: [] }],
            },
            apache: { modules: ['unique_id'] },
            oauth2: (st) => (custom ? KINDS.map((k) => `OAuth2Page ${k} ${st.apache.dir}/pages/${k}.html`).join('\n') : ''),
            locations: (st) => `
<Location /staff>
    AuthType oauth2
    Require oauth2-group nobody-has-this-group
    ProxyPass ${st.backend.url}/staff
</Location>
<Location /api>
    AuthType oauth2
    OAuth2UnauthAction 401
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
<Location /site401>
    AuthType oauth2
    OAuth2UnauthAction 401
    Require valid-user
    ErrorDocument 401 "site-own-401-text"
</Location>
`,
        });
        for (const k of KINDS) s.apache.writeFile(`pages/${k}.html`, template(k));
        fs.mkdirSync(SHOTS, { recursive: true });
    });
    after(async () => {
        await s?.stop();
    });

    // The provider back after an outage: logins start again (the module's
    // back-off is at most 3 s).
    async function providerBack() {
        s.op.resume();
        await waitFor(async () => (await request(s.url('/oauth2/start?rd=/'))).status === 302, { timeout: 15000, what: 'logins start again' });
    }

    // A session cookie that no longer names a session: log in, log out.
    async function staleCookie() {
        const b = newBrowser();
        await login(b, s.url('/app/x'));
        const value = b.cookie('oauth2_session', s.url('/'));
        assert.equal((await b.get(s.url('/oauth2/logout'))).status, 302);
        return value;
    }

    describe('the built-in pages in Chromium', { skip: !chromiumAvailable() && 'chromium is not installed' }, () => {
        let chrome;
        before(async () => {
            chrome = await launchBrowser({ contextOptions: { viewport: { width: 900, height: 640 } } });
        });
        after(async () => {
            await chrome?.close();
        });

        async function shot(kind) {
            await chrome.page.screenshot({ path: path.join(SHOTS, `${kind}.png`), fullPage: true });
        }

        it('provider down: 502 with what happened, a way to try again and the request id', async () => {
            const { page } = chrome;
            s.op.pause();
            try {
                const r = await page.goto(s.url('/app/report?q=1'));
                assert.equal(r.status(), 502);
                assertPageHeaders({ headers: await r.allHeaders() });
                assert.equal(await page.textContent('h1'), 'Sign-in is unavailable');
                const footer = await page.textContent('footer');
                assert.match(footer, /^Error 502 · provider-down · Request ID [\w@-]+$/);
                await shot('provider-down');
            } finally {
                await providerBack();
            }
        });

        it('login failed: 400 with the reason and "Try again"', async () => {
            const { page } = chrome;
            const r = await page.goto(s.url(`/oauth2/callback?code=c&state=${FAKE_STATE}`));
            assert.equal(r.status(), 400);
            assert.equal(await page.textContent('h1'), 'Login failed');
            assert.match(await page.textContent('footer'), /Error 400 · state-cookie-missing/);
            assert.equal(await page.getAttribute('.actions a', 'href'), '/');
            assert.equal(await page.textContent('.actions a'), 'Try again');
            await shot('login-failed');
        });

        it('refused: 403 names the user and offers to log out; the logout ends on the signed-out page', async () => {
            const { page, context } = chrome;
            await page.goto(s.url('/staff/board'));
            await page.fill('input[name=login]', 'alice');
            await page.fill('input[name=password]', 'any');
            const [r] = await Promise.all([
                page.waitForResponse((resp) => resp.url() === s.url('/staff/board')),
                page.click('button[type=submit]'),
            ]);
            assert.equal(r.status(), 403);
            assertPageHeaders({ headers: await r.allHeaders() });
            assert.equal(await page.textContent('h1'), 'Access denied');
            assert.match(await page.textContent('main p'), /logged in as alice, but this account is not allowed/);
            assert.equal(await page.textContent('.actions a'), 'Log out to use another account');
            assert.equal(await page.getAttribute('.actions a', 'href'), '/oauth2/logout');
            await shot('refused');

            // Log out / switch account: the provider's RP-initiated logout
            // comes back to the signed-out page, not to its login form.
            await page.click('.actions a');
            assert.ok(page.url().startsWith(s.op.issuer), `at the provider's logout: ${page.url()}`);
            assert.equal((await context.cookies(s.url('/'))).find((c) => c.name === 'oauth2_session'), undefined);
            const [out] = await Promise.all([
                page.waitForResponse((resp) => resp.url() === s.url('/oauth2/signed-out')),
                page.click('button[value=yes]'),
            ]);
            assert.equal(out.status(), 200);
            assertPageHeaders({ headers: await out.allHeaders() });
            assert.equal(await page.textContent('h1'), 'Signed out');
            assert.equal(await page.textContent('.actions a'), 'Sign in again');
            assert.equal(await page.getAttribute('.actions a', 'href'), '/oauth2/start?rd=%2F');
            await shot('signed-out');
            // Signing in again shows the provider's login form (logged out there too).
            await page.click('.actions a');
            assert.ok(page.url().startsWith(s.op.issuer));
            assert.ok(await page.$('input[name=login]'), 'the login form');
        });

        it('session expired: 401 says so and offers to sign in again, back to the same page', async () => {
            const { page, context } = chrome;
            await context.clearCookies();
            await context.addCookies([{ name: 'oauth2_session', value: await staleCookie(), url: s.url('/') }]);
            const r = await page.goto(s.url('/api/items?page=2'));
            assert.equal(r.status(), 401);
            assertPageHeaders({ headers: await r.allHeaders() });
            assert.equal(await page.textContent('h1'), 'Session expired');
            assert.equal(await page.getAttribute('.actions a', 'href'), '/oauth2/start?rd=%2Fapi%2Fitems%3Fpage%3D2');
            assert.equal(await page.textContent('.actions a'), 'Sign in again');
            await shot('session-expired');
        });
    });

    it('keeps the site\'s ErrorDocument for the statuses it leaves to Apache', async () => {
        const r = await request(s.url('/site401/x'), { headers: { Accept: 'application/json' } });
        assert.equal(r.status, 401);
        assert.match(r.body, /site-own-401-text/);
        // Without a session cookie an API request gets the bare 401 (no page).
        const api = await request(s.url('/api/x'), { headers: { Accept: 'application/json' } });
        assert.equal(api.status, 401);
        assert.doesNotMatch(api.body, /Session expired/);
    });

    it('fails apache2 -t on a missing, relative, unknown or malformed page file, naming it', async () => {
        const cases = [
            ['OAuth2Page refused /nonexistent/refused.html', /OAuth2Page: cannot read \/nonexistent\/refused\.html/],
            ['OAuth2Page refused pages/refused.html', /OAuth2Page: 'pages\/refused\.html' is not an absolute path/],
            [`OAuth2Page nope ${s.apache.dir}/pages/refused.html`, /OAuth2Page: unknown page 'nope' \(the pages are error, login-failed, refused/],
            [`OAuth2Page refused ${s.apache.dir}/pages/bad.html`, /OAuth2Page: .*bad\.html line 2: unknown variable \{\{usr\}\}/],
            [`OAuth2Page refused ${s.apache.dir}/pages/open.html`, /OAuth2Page: .*open\.html \{\{#user\}\} is not closed/],
        ];
        s.apache.writeFile('pages/bad.html', '<p>{{title}}</p>\n<p>{{usr}}</p>\n');
        s.apache.writeFile('pages/open.html', '{{#user}}<p>{{user}}</p>\n');
        for (const [line, want] of cases) {
            const r = await s.apache.configtest(`${moduleConfig(s)}\n${line}\n`);
            assert.notEqual(r.code, 0, line);
            assert.match(r.output, want, line);
        }
        const good = await s.apache.configtest(`${moduleConfig(s)}\nOAuth2Page refused ${s.apache.dir}/pages/refused.html\n`);
        assert.equal(good.code, 0, good.output);
    });

    describe('OAuth2Page: the site\'s own pages', () => {
        before(async () => {
            custom = true;
            await s.apache.graceful();
        });
        after(async () => {
            custom = false;
            await s.apache.graceful();
        });

        it('login failed, signed out: the site\'s file with the values', async () => {
            const lf = await request(s.url(`/oauth2/callback?code=c&state=${FAKE_STATE}`));
            assert.equal(lf.status, 400);
            assertPageHeaders(lf);
            assert.match(lf.body, /<p id="kind">site-login-failed<\/p>/);
            const v = vars(lf.body);
            assert.equal(v.title, 'Login failed');
            assert.equal(v.status, '400');
            assert.equal(v.reason, 'state-cookie-missing');
            assert.equal(v.again, '/');
            assert.equal(v.user, '');
            assert.match(v.rid, /^[\w@-]{20,}$/, 'mod_unique_id\'s id');
            assert.match(lf.body, /<p>nobody<\/p>/);
            const so = await request(s.url('/oauth2/signed-out'));
            assert.equal(so.status, 200);
            assert.match(so.body, /site-signed-out/);
            assert.equal(vars(so.body).again, '/oauth2/start?rd=%2F');
        });

        it('refused: the user and the messages HTML-escaped, the log-out link', async () => {
            const b = newBrowser();
            await login(b, s.url('/app/x'), { username: EVE });
            const r = await b.get(s.url('/staff/x'));
            assert.equal(r.status, 403);
            assertPageHeaders(r);
            assert.match(r.body, /site-refused/);
            const v = vars(r.body);
            assert.equal(v.user, EVE_HTML);
            assert.equal(v.message, `You are logged in as ${EVE_HTML}, but this account is not allowed to open this page.`);
            assert.equal(v.reason, 'forbidden');
            assert.equal(v.logout, '/oauth2/logout');
            assert.match(r.body, /<a id="switch" href="\/oauth2\/logout">Switch account<\/a>/);
            assert.ok(!r.body.includes(EVE), 'never the raw name');
            assert.doesNotMatch(r.body, /<p>nobody<\/p>/);
        });

        it('session expired and provider down: the site\'s files', async () => {
            const b = newBrowser();
            b.setCookie(s.url('/'), `oauth2_session=${await staleCookie()}; Path=/`);
            const se = await b.get(s.url('/api/items'));
            assert.equal(se.status, 401);
            assert.match(se.body, /site-session-expired/);
            assert.equal(vars(se.body).again, '/oauth2/start?rd=%2Fapi%2Fitems');
            // The token endpoint cut off at the callback (discovery is
            // cached by now).
            s.op.fail('token', { mode: 'reset' });
            try {
                const { final: pd } = await login(newBrowser(), s.url('/app/y'));
                assert.equal(pd.status, 502);
                assertPageHeaders(pd);
                assert.match(pd.body, /site-provider-down/);
                assert.equal(vars(pd.body).reason, 'provider-down');
                assert.equal(vars(pd.body).again, '/app/y');
            } finally {
                s.op.clearFaults();
            }
        });
    });

    describe('front-channel logout', () => {
        const fcl = (query) => s.url(`/oauth2/frontchannel-logout${query}`);
        const q = (iss, sid) => `?iss=${encodeURIComponent(iss)}&sid=${encodeURIComponent(sid)}`;

        it('the provider says it loads front-channel logout URIs, with the sid', () => {
            assert.equal(s.op.metadata.frontchannel_logout_supported, true);
            assert.equal(s.op.metadata.backchannel_logout_supported, undefined, 'front-channel only, as LemonLDAP::NG');
        });

        it('refuses a request without iss or sid, another issuer, a repeated or bad sid (400, OA2223)', async () => {
            const bad = [
                ['', 'no iss'],
                [`?sid=abc`, 'no iss'],
                [`?iss=${encodeURIComponent(s.op.issuer)}`, 'no sid'],
                [q('https://evil.example', 'abc'), "iss is not this provider's issuer"],
                [q(`${s.op.issuer}/`, 'abc'), "iss is not this provider's issuer"],
                [`${q(s.op.issuer, 'abc')}&sid=def`, 'malformed or repeated'],
                [q(s.op.issuer, ''), 'sid is empty or too long'],
                [q(s.op.issuer, 'x'.repeat(300)), 'sid is empty or too long'],
                [q(s.op.issuer, 'a\u0001b'), 'outside printable ASCII'],
                [q(s.op.issuer, 'caf\u00e9'), 'outside printable ASCII'],
                [`?iss=%zz&sid=abc`, 'malformed or repeated'],
            ];
            for (const [query, why] of bad) {
                const mark = s.apache.mark();
                const r = await request(fcl(query));
                assert.equal(r.status, 400, query);
                assertPageHeaders(r, s.op.issuer);
                assert.match(r.body, /This logout request is not valid/);
                const line = await s.apache.waitForLog(/OA2223: front-channel logout refused/, { since: mark });
                assert.ok(line.includes(why), `${query}: ${line}`);
            }
            const post = await request(fcl(q(s.op.issuer, 'abc')), { method: 'POST' });
            assert.equal(post.status, 405);
        });

        it('ends the sid\'s session when the provider\'s page frames it in Chromium; another origin may not frame it', { skip: !chromiumAvailable() && 'chromium is not installed' }, async () => {
            const chrome = await launchBrowser();
            const other = http.createServer((req, res) => {
                res.writeHead(200, { 'Content-Type': 'text/html' });
                res.end(`<!DOCTYPE html><iframe id="f" src="${fcl(q(s.op.issuer, 'not-a-session'))}"></iframe>`);
            });
            await new Promise((resolve) => other.listen(0, LOOPBACK, resolve));
            try {
                const { page, context } = chrome;
                const since = Date.now();
                await page.goto(s.url('/app/fc'));
                await page.fill('input[name=login]', 'alice');
                await page.fill('input[name=password]', 'any');
                await Promise.all([page.waitForURL(s.url('/app/fc')), page.click('button[type=submit]')]);
                assert.equal(JSON.parse(await page.textContent('body')).headers['x-forwarded-user'], 'alice');
                const { sid } = await s.op.waitForEvent('grant.success', { since });
                assert.ok(sid, 'the ID token carries a sid');

                // The provider's logout page frames the RP's front-channel logout URI.
                s.op.fail('/fc-logout', {
                    mode: 'body',
                    contentType: 'text/html; charset=utf-8',
                    body: `<!DOCTYPE html><p>Signing you out</p><iframe id="f" src="${fcl(q(s.op.issuer, sid))}"></iframe>`,
                });
                const mark = s.apache.mark();
                const [framed] = await Promise.all([
                    page.waitForResponse((r) => r.url().startsWith(fcl(''))),
                    page.goto(s.op.url('/fc-logout')),
                ]);
                assert.equal(framed.status(), 200);
                const h = await framed.allHeaders();
                assert.equal(h['cache-control'], 'no-store');
                assert.ok(h['content-security-policy'].endsWith(`; frame-ancestors ${s.op.issuer}`), h['content-security-policy']);
                await s.apache.waitForLog(new RegExp(`OA2224: front-channel logout of sid ${sid}: 1 session\\(s\\)`), { since: mark });
                const frame = await waitFor(() => page.frames().find((f) => f.url().startsWith(fcl(''))), { what: 'the logout frame' });
                await frame.waitForSelector('h1');
                assert.equal(await frame.textContent('h1'), 'Signed out', 'the provider\'s origin may frame it');
                // The session is gone: the same browser is sent to log in.
                const again = await request(s.url('/app/fc'), {
                    headers: { Cookie: (await context.cookies(s.url('/'))).map((c) => `${c.name}=${c.value}`).join('; '), Accept: 'text/html' },
                });
                assert.equal(again.status, 302);
                assert.ok(again.headers.location.startsWith(s.op.metadata.authorization_endpoint), again.headers.location);

                // Another origin: Chromium refuses to show the frame.
                const foreign = `http://${LOOPBACK}:${other.address().port}/`;
                const [blocked] = await Promise.all([
                    page.waitForResponse((r) => r.url().startsWith(fcl(''))),
                    page.goto(foreign),
                ]);
                assert.equal(blocked.status(), 200);
                const f = page.frames().find((fr) => fr !== page.mainFrame());
                // Chromium replaces a frame that frame-ancestors refuses with its error page.
                await waitFor(() => f.url().startsWith('chrome-error://'), { what: `the refused frame (at ${f.url()})` });
                assert.notEqual(await f.evaluate(() => document.querySelector('h1')?.textContent ?? null).catch(() => null), 'Signed out');
            } finally {
                s.op.clearFaults();
                await new Promise((resolve) => other.close(resolve));
                await chrome.close();
            }
        });
    });
});
