// attacks-provider.test.mjs: a failing or malicious provider (issue 6, attack
// catalog): discovery naming another issuer; huge (10 MB), slow (beyond
// OAuth2HTTPTimeout), non-JSON, truncated and otherwise broken answers from
// the discovery, JWKS, token and userinfo endpoints. Each one ends on a 502
// with its log tag in bounded time, never a hang, never protected content;
// Apache serves the next request normally, and a login works again once the
// provider does. Last, protected content never follows a login redirect or a
// page of the module's own (the backend is not even asked).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { assertNoBackendBody, assertServing, countLog } from './lib/attacks.mjs';

// One child process (enough: the provider view is the server's, see
// provider-view.test.mjs).
const ONE_CHILD = ['StartServers 1', 'ServerLimit 1', 'ThreadLimit 16', 'ThreadsPerChild 16',
    'MinSpareThreads 1', 'MaxSpareThreads 16', 'MaxRequestWorkers 16'].join('\n');
const TIMEOUT_S = 1; // OAuth2HTTPTimeout (its minimum)
const BOUND_MS = TIMEOUT_S * 1000 + 2500; // an answer within the timeout, plus slack

describe('attacks: provider faults', () => {
    let s;
    let user; // logged in at the provider (and here)

    before(async () => {
        s = await startStack({
            apache: { mpmConfig: ONE_CHILD, modules: ['include'] },
            oauth2: `OAuth2HTTPTimeout ${TIMEOUT_S}`,
            locations: (st) => `
<Location /admins>
    AuthType oauth2
    Require oauth2-group admins
    ProxyPass ${st.backend.url}/admins
</Location>
<Location /u401>
    AuthType oauth2
    Require valid-user
    OAuth2UnauthAction 401
    ProxyPass ${st.backend.url}/u401
</Location>
<Location /u403>
    AuthType oauth2
    Require valid-user
    OAuth2UnauthAction 403
    ProxyPass ${st.backend.url}/u403
</Location>
<Directory "${st.apache.docroot}/ssi">
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>`,
        });
        // oidc-provider (koa) prints the resets of aborted 10 MB answers.
        s.op.provider.removeListener('error', s.op.provider.onerror);
        s.op.provider.on('error', (e) => {
            if (!/ECONNRESET|EPIPE|Premature close/.test(`${e.code} ${e.message}`)) console.error(e);
        });
        s.apache.writeFile('htdocs/ssi/index.shtml', 'public page\n<!--#include virtual="/app/secret" -->\nend\n');
        user = newBrowser();
        await login(user, s.url('/app/first'));
    });
    after(async () => {
        s?.op.clearFaults();
        await s?.stop();
    });

    /* A full restart: a new provider view (no discovery, JWKS or back-off;
     * a graceful restart would keep them). */
    async function coldCaches() {
        s.op.clearFaults();
        s.op.setJwks(null);
        await s.apache.restart();
    }

    /* A new browser that shares the provider's session (quick logins). */
    function browser() {
        const b = newBrowser();
        b.jar = new Map([...user.jar].filter(([, c]) => !c.name.startsWith('oauth2_')));
        return b;
    }

    async function timed(fn) {
        const t = Date.now();
        const r = await fn();
        return { r, ms: Date.now() - t };
    }

    /* After a fault is cleared: the next requests are served, and (full)
     * a login works once the backoff after the failure (1 s) has passed. */
    async function recovers(full) {
        s.op.clearFaults();
        s.op.setJwks(null);
        await assertServing(s, user);
        if (!full) return;
        await sleep(1100);
        const b = browser();
        const res = await login(b, s.url('/oauth2/start?rd=/app/recovered'));
        assert.equal(res.final.status, 200, 'a login works again');
    }

    const meta = () => s.op.metadata;
    const FAULTS = {
        'a 500 answer': { mode: 'status', status: 500 },
        'a 404 answer': { mode: 'status', status: 404, body: 'not found', contentType: 'text/plain' },
        'an HTML page with 200': { mode: 'body', body: '<html><body>login</body></html>', contentType: 'text/html' },
        'non-JSON': { mode: 'garbage' },
        'a JSON array': { mode: 'body', body: '[1,2,3]' },
        'a 10 MB answer': { mode: 'huge', bytes: 10 * 1024 * 1024 },
        'a hang beyond the timeout': { mode: 'hang' },
        'a trickle beyond the timeout': { mode: 'trickle', interval: 400, bytes: 100 },
        'a reset connection': { mode: 'reset' },
    };

    /* ---------------------------------------------------- discovery */

    const discovery = {
        ...FAULTS,
        'another issuer': () => ({ mode: 'body', body: { ...meta(), issuer: 'https://evil.example' } }),
        'the issuer with a trailing slash': () => ({ mode: 'body', body: { ...meta(), issuer: `${meta().issuer}/` } }),
        'a truncated document': () => ({ mode: 'body', body: JSON.stringify(meta()).slice(0, 120) }),
        'no authorization endpoint': () => ({ mode: 'body', body: { ...meta(), authorization_endpoint: undefined } }),
        'a javascript: endpoint': () => ({ mode: 'body', body: { ...meta(), authorization_endpoint: 'javascript:alert(1)' } }),
        'a NUL byte': () => ({ mode: 'body', body: `{"issuer":"${meta().issuer}\u0000"}` }),
    };
    for (const [name, spec] of Object.entries(discovery)) {
        it(`discovery: ${name} -> 502 (OA2106), no hang`, async () => {
            await coldCaches();
            s.op.fail('discovery', typeof spec === 'function' ? spec() : spec);
            const mark = s.apache.mark();
            const before = s.backend.requests.length;
            const { r, ms } = await timed(() => request(s.url('/app/d'), { headers: { Accept: 'text/html' }, timeout: 15000 }));
            assert.equal(r.status, 502);
            assertNoBackendBody(r);
            // The module's page naming the sign-in service, not Apache's
            // "The proxy server received an invalid response" (issue 15).
            assert.match(r.body, /Sign-in is unavailable/);
            assert.match(r.body, /The sign-in service \(127\.0\.0\.1\) cannot be reached right now/);
            assert.doesNotMatch(r.body, /proxy server/i);
            assert.match(r.headers['content-type'], /^text\/html; charset=utf-8/);
            assert.ok(ms < BOUND_MS, `answered in ${ms} ms`);
            assert.equal(r.setCookie.length, 0, 'no state cookie');
            assert.equal(s.backend.requests.length, before);
            assert.equal(countLog(s.apache, /OA2106: cannot start a login/, mark), 1);
            // A logged-in user does not need the provider.
            assert.equal((await user.get(s.url('/app/still'))).status, 200);
            await recovers(/hang|another issuer/.test(name));
        });
    }

    /* --------------------------------------------------------- JWKS */

    const jwks = {
        ...FAULTS,
        'no keys': { mode: 'body', body: { keys: [] } },
        'a truncated document': () => ({ mode: 'body', body: JSON.stringify(s.op.jwks).slice(0, 100) }),
    };
    for (const [name, spec] of Object.entries(jwks)) {
        it(`JWKS: ${name} -> 502 (OA2207), no hang`, async () => {
            await coldCaches();
            s.op.fail('jwks', typeof spec === 'function' ? spec() : spec);
            const b = browser();
            const mark = s.apache.mark();
            const { r: res, ms } = await timed(() => login(b, s.url('/oauth2/start?rd=/app/j'), { timeout: 15000 }));
            assert.equal(res.callback.status, 502);
            assert.match(res.callback.body, /Sign-in is unavailable/);
            assertNoBackendBody(res.callback);
            assert.ok(ms < BOUND_MS + 1000, `answered in ${ms} ms`);
            assert.equal(b.cookie('oauth2_session', s.url('/')), undefined);
            assert.equal(countLog(s.apache, /OA2207: login failed: ID token/, mark), 1);
            await recovers(/hang/.test(name));
        });
    }

    it('JWKS: only unusable keys (a secret key, a 17-bit RSA key) -> 401 (OA2207), no key for the token', async () => {
        await coldCaches();
        s.op.setJwks({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: s.op.kid('RS256') }, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }] });
        const b = browser();
        const mark = s.apache.mark();
        const res = await login(b, s.url('/oauth2/start?rd=/app/j'));
        assert.equal(res.callback.status, 401);
        assertNoBackendBody(res.callback);
        assert.equal(countLog(s.apache, /OA2207: login failed: ID token: JWS: no key for this token/, mark), 1);
        await recovers();
    });

    it('JWKS: the kid now names another key -> 401 (OA2207), the signature does not verify', async () => {
        await coldCaches();
        const kid = s.op.kid('RS256');
        s.op.setJwks({ keys: [s.op.foreignPublicJwk('RS256', kid)] });
        const b = browser();
        const mark = s.apache.mark();
        const res = await login(b, s.url('/oauth2/start?rd=/app/j'));
        assert.equal(res.callback.status, 401);
        assertNoBackendBody(res.callback);
        assert.equal(countLog(s.apache, /OA2207: login failed: ID token/, mark), 1);
        // The key stays cached (the kid is known, so nothing refetches it)
        // until the JWKS expires: a full restart starts over.
        await coldCaches();
        await recovers(true);
    });

    /* ------------------------------------------ token and userinfo */

    const perLogin = {
        ...FAULTS,
        'a truncated answer': { mode: 'body', body: '{"access_token":"abc","token_type":"Bearer","id_tok' },
        'an error with 200': { mode: 'body', body: { error: 'invalid_grant' } },
        'a NUL byte': { mode: 'body', body: '{"access_token":"a\u0000b","sub":"alice"}' },
        'a slow but timely answer': { mode: 'delay', ms: 500, ok: true },
    };
    for (const endpoint of ['token', 'userinfo']) {
        for (const [name, spec] of Object.entries(perLogin)) {
            it(`${endpoint}: ${name} -> ${spec.ok ? 'a login' : '502 (OA2207), no hang'}`, async () => {
                s.op.clearFaults();
                s.op.fail(endpoint, { ...spec, times: 1 });
                const b = browser();
                const mark = s.apache.mark();
                const before = s.backend.requests.length;
                const { r: res, ms } = await timed(() => login(b, s.url('/oauth2/start?rd=/app/t'), { timeout: 15000 }));
                assert.ok(ms < BOUND_MS + 1000, `answered in ${ms} ms`);
                if (spec.ok) {
                    assert.equal(res.final.status, 200);
                    return;
                }
                // invalid_grant (GitHub-style at 200) is no outage: the
                // login starts afresh once, and then succeeds (issue 15).
                if (endpoint === 'token' && name === 'an error with 200') {
                    assert.equal(res.final.status, 200);
                    assert.equal(res.final.json().url, '/app/t');
                    assert.equal(countLog(s.apache, /OA2220: the provider refused the code/, mark), 1);
                    return;
                }
                // userinfo without a sub is about nobody: 401, as for another subject.
                const noSub = endpoint === 'userinfo' && name === 'an error with 200';
                assert.equal(res.callback.status, noSub ? 401 : 502);
                assert.match(res.callback.body, noSub ? /Login failed/ : /Sign-in is unavailable/);
                assertNoBackendBody(res.callback);
                assert.equal(s.backend.requests.length, before, 'the backend saw nothing');
                assert.equal(b.cookie('oauth2_session', s.url('/')), undefined);
                assert.equal(countLog(s.apache, noSub ? /OA2207: login failed: userinfo is about another subject/ : /OA2207: login failed: /, mark), 1);
                s.op.clearFaults();
                await assertServing(s, user);
            });
        }
    }

    /* ------------------------------ no content after a login page */

    it('never serves protected content with a login redirect or a page of its own', async () => {
        s.op.clearFaults();
        const before = s.backend.requests.length;
        const answers = [];
        for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND']) {
            for (const headers of [{ Accept: 'text/html' }, { Accept: 'application/json' }, { 'X-Requested-With': 'XMLHttpRequest' },
                { 'Sec-Fetch-Mode': 'navigate', Accept: '*/*' }, {}]) {
                answers.push(await request(s.url('/app/secret'), { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : 'x=1' }));
            }
        }
        for (const path of ['/u401/secret', '/u403/secret', '/admins/secret']) {
            answers.push(await request(s.url(path), { headers: { Accept: 'text/html' } }));
        }
        // A logged-in user who fails a rule (bob is not in "admins").
        const bob = newBrowser();
        await login(bob, s.url('/app/bob'), { username: 'bob' });
        answers.push(await bob.get(s.url('/admins/secret')));
        const after = s.backend.requests.filter((q) => q.url !== '/app/bob').length;
        for (const r of answers) {
            assert.ok([302, 401, 403, 405].includes(r.status), `${r.url}: ${r.status}`);
            assertNoBackendBody(r, r.url);
        }
        assert.equal(after, before, 'the backend was never asked');
        assert.equal(answers.at(-1).status, 403);
    });

    it('never includes protected content in a public page (SSI subrequest)', async () => {
        const before = s.backend.requests.length;
        const r = await request(s.url('/ssi/index.shtml'), { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 200);
        assert.match(r.body, /public page/);
        assertNoBackendBody(r);
        assert.equal(s.backend.requests.length, before, 'the backend was never asked');
    });

    it('serves and logs in normally at the end', async () => {
        await coldCaches();
        await assertServing(s, user);
        const res = await login(browser(), s.url('/oauth2/start?rd=/app/end'));
        assert.equal(res.final.status, 200);
    });
});
