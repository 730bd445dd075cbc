// attacks-cookies.test.mjs: malformed and hostile cookies and requests
// (issue 6, attack catalog): empty and separator-only Cookie headers, tokens
// without '=', duplicates of our cookie, 200 cookies, 64 KB cookies, bad
// base64, truncated and bit-flipped sealed state values, forged chunk counts;
// POST without Content-Type, repeated callback parameters, login CSRF, state
// and code replay, code injection, very long URLs. Each answer is exact, and
// Apache serves the next request normally.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, moduleConfig } from './lib/stack.mjs';
import { createApache } from './lib/apache.mjs';
import { newBrowser, login, request, rawRequest } from './lib/http.mjs';
import { assertNoBackendBody, assertServing, countLog } from './lib/attacks.mjs';

const HTML = { Accept: 'text/html' };

/* An echo server that accepts request headers up to 1 MiB (the shared
 * echo backend is node's default, 16 KB): what a backend behind a public
 * path receives when the Cookie header is huge. */
async function startBigHeaderEcho() {
    const server = http.createServer({ maxHeaderSize: 1 << 20 }, (req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ url: req.url, headers: req.headers, rawHeaders: req.rawHeaders }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    return {
        url: `http://127.0.0.1:${server.address().port}`,
        stop: () => new Promise((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
        }),
    };
}

describe('attacks: cookies and requests', () => {
    let s;
    let big;
    let alice;
    let bob;
    let sid; // alice's session id

    before(async () => {
        big = await startBigHeaderEcho();
        s = await startStack({
            // Cookie headers up to 128 KB reach the module (default: 8 KB,
            // and Apache answers 400 before any module runs).
            locations: () => `
LimitRequestFieldSize 131072
<Location /big>
    ProxyPass ${big.url}/big
</Location>
<Location /bigapp>
    AuthType oauth2
    Require valid-user
    ProxyPass ${big.url}/bigapp
</Location>`,
        });
        alice = newBrowser();
        await login(alice, s.url('/app/alice'));
        bob = newBrowser();
        await login(bob, s.url('/app/bob'), { username: 'bob' });
        sid = alice.cookie('oauth2_session', s.url('/'));
        assert.match(sid, /^[A-Za-z0-9_-]{43}$/);
    });
    after(async () => {
        await s?.stop();
        await big?.stop();
    });

    /* GET /app/... with exactly this Cookie header. */
    function withCookie(cookie, path = '/app/c', headers = HTML) {
        return request(s.url(path), { headers: { ...headers, Cookie: cookie } });
    }

    function assertLogin(r, what) {
        assert.equal(r.status, 302, what);
        assert.equal(new URL(r.headers.location).origin, s.op.issuer, `${what}: sent to the provider`);
        assertNoBackendBody(r, what);
    }

    function assertUser(r, user, what) {
        assert.equal(r.status, 200, what);
        const seen = r.json();
        assert.equal(seen.headers['x-forwarded-user'], user, what);
        // No session credential reaches the backend: no pair of our cookie
        // name with a value. (A client's bare "oauth2_session" token without
        // a value is nobody's credential and may pass.)
        assert.doesNotMatch(seen.headers.cookie ?? '', /oauth2_session\s*=/, `${what}: our cookies stay here`);
        assert.ok(!(seen.headers.cookie ?? '').includes(sid), `${what}: the session id stays here`);
        return seen;
    }

    /* Stops a login of browser b at the callback; returns its URL. */
    async function untilCallback(b, url) {
        const res = await login(b, url, { onRedirect: (u) => (u.includes('/oauth2/callback') ? false : u) });
        assert.ok(res.stoppedAt, 'the login reached the callback');
        return res.stoppedAt;
    }

    function stateCookie(b, cb) {
        const c = b.cookies(cb).find((x) => x.name.startsWith('oauth2_state_'));
        assert.ok(c, 'a state cookie');
        return c;
    }

    /* ----------------------------------------------------- cookies */

    for (const [name, cookie] of [
        ['an empty Cookie header ("Cookie: ;")', ';'],
        ['separators only', ' ; ;;\t; ;'],
        ['tokens without "="', 'oauth2_session; oauth2_state_x; foo'],
        ['an empty name and value', '=; =x; oauth2_session='],
        ['a session id in standard base64 (+ and /)', `oauth2_session=${'+/'.repeat(21)}A`],
        ['invalid base64', 'oauth2_session=%%%%$$$$****'],
        ['a session id one character short', `oauth2_session=SID_SHORT`],
    ]) {
        it(`sends ${name} to log in`, async () => {
            const c = cookie.replace('SID_SHORT', () => sid.slice(0, 42));
            const r = await withCookie(c);
            assertLogin(r, name);
            await assertServing(s, alice);
        });
    }

    it('logs a session cookie that names no session (OA2104), and a bit-flipped id is one', async () => {
        const flipped = sid.slice(0, 20) + (sid[20] === 'A' ? 'B' : 'A') + sid.slice(21);
        const mark = s.apache.mark();
        assertLogin(await withCookie(`oauth2_session=${flipped}`), 'flipped id');
        assertLogin(await withCookie('oauth2_session=%%%%'), 'bad base64');
        assert.equal(countLog(s.apache, /OA2104: session cookie present but no valid session/, mark), 2);
        assertUser(await withCookie(`oauth2_session=${sid}`), 'alice', 'the real id still works');
    });

    it('skips tokens without "=" and junk duplicates before a valid session cookie', async () => {
        assertUser(await withCookie(`oauth2_session; oauth2_session=${sid}`), 'alice', 'no "=" first');
        assertUser(await withCookie(`oauth2_session=junk; oauth2_session=${sid}`), 'alice', 'junk first');
        assertUser(await withCookie(`oauth2_session="${sid}"`), 'alice', 'quoted (RFC 6265 §4.1.1)');
    });

    it('takes the first live session of duplicates, and looks at no more than four', async () => {
        const bobSid = bob.cookie('oauth2_session', s.url('/'));
        assertUser(await withCookie(`oauth2_session=${sid}; oauth2_session=${bobSid}`), 'alice', 'alice first');
        assertUser(await withCookie(`oauth2_session=${bobSid}; oauth2_session=${sid}`), 'bob', 'bob first');
        const junk = ['a', 'b', 'c', 'd'].map((v) => `oauth2_session=${v}`).join('; ');
        assertLogin(await withCookie(`${junk}; oauth2_session=${sid}`), 'valid one fifth');
    });

    it('serves a valid session among 200 other cookies, and the backend gets only those 200', async () => {
        const others = Array.from({ length: 200 }, (_, i) => `c${i}=v${i}`);
        const seen = assertUser(await withCookie([...others.slice(0, 100), `oauth2_session=${sid}`, ...others.slice(100)].join('; ')), 'alice', '200 cookies');
        assert.equal(seen.headers.cookie, others.join('; '));
    });

    it('sends a 64 KB Cookie header to log in (bounded) without protected content', async () => {
        const r = await withCookie(`big=${'x'.repeat(64 * 1024)}; oauth2_session=${sid}`, '/bigapp/x');
        assertLogin(r, '64 KB cookie');
        await assertServing(s, alice);
    });

    it('answers a 200 KB Cookie header with Apache\'s own 400', async () => {
        const r = await withCookie(`big=${'x'.repeat(200 * 1024)}; oauth2_session=${sid}`, '/app/x');
        assert.equal(r.status, 400);
        assertNoBackendBody(r);
        await assertServing(s, alice);
    });

    it('never passes our cookies to a backend, whatever the Cookie header\'s size', async () => {
        const small = await withCookie(`big=${'x'.repeat(60 * 1024)}; oauth2_session=${sid}`, '/big/x');
        assert.equal(small.status, 200);
        // (assert.ok, not doesNotMatch: the message would quote 64 KB)
        assert.ok(!/oauth2_session/.test(small.json().headers.cookie), '60 KB: stripped');
        const large = await withCookie(`big=${'x'.repeat(64 * 1024)}; oauth2_session=${sid}`, '/big/x');
        assert.equal(large.status, 200);
        assert.ok(!/oauth2_session/.test(large.json().headers.cookie), '64 KB: our session cookie reached the backend');
        const lines = Array.from({ length: 12 }, (_, i) => `Cookie: k${i}=${'y'.repeat(6000)}\r\n`).join('');
        const raw = await rawRequest(s.apache.port,
            `GET /big/x HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}Cookie: oauth2_session=${sid}\r\nConnection: close\r\n\r\n`);
        assert.equal(raw.status, 200);
        assert.ok(!/oauth2_session=/.test(raw.body), '12 Cookie lines of 6 KB: our session cookie reached the backend');
    });

    it('refuses truncated, bit-flipped, oversized and foreign sealed state values with 400 (OA2203)', async () => {
        const b = newBrowser();
        const cb = await untilCallback(b, s.url('/app/state'));
        const c = stateCookie(b, cb);
        const flip = (v, i) => v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
        const other = newBrowser();
        const otherCb = await untilCallback(other, s.url('/app/other'));
        const variants = [
            ['empty', ''],
            ['truncated by one', c.value.slice(0, -1)],
            ['truncated by four', c.value.slice(0, -4)],
            ['truncated to 10', c.value.slice(0, 10)],
            ['invalid base64', `${c.value.slice(0, 40)}*${c.value.slice(41)}`],
            ['3000 characters', c.value + 'A'.repeat(3000 - c.value.length)],
            ['another login\'s value', stateCookie(other, otherCb).value],
            ...[0, 1, 10, 40, 80, 120, 160, 200, c.value.length - 2].map((i) => [`flipped at ${i}`, flip(c.value, i)]),
        ];
        for (const [what, value] of variants) {
            const w = newBrowser();
            w.setCookie(cb, `${c.name}=${value}; Path=/oauth2/callback`);
            const mark = s.apache.mark();
            const r = await w.get(cb);
            assert.equal(r.status, 400, what);
            assert.match(r.body, /Login failed/);
            assert.equal(w.cookie('oauth2_session', s.url('/')), undefined, `${what}: no session`);
            assert.equal(countLog(s.apache, /OA2203: state cookie refused/, mark), 1, `${what}: OA2203`);
        }
        // The real value, untouched, still completes this login.
        const ok = await b.get(cb);
        assert.equal(ok.status, 302);
        assert.equal(ok.headers.location, '/app/state');
        await assertServing(s, b);
    });

    it('answers a forged cookie-session chunk count (~99999999) with a fresh login', async (t) => {
        // Needs OAuth2SessionStore cookie: a second Apache on the same provider.
        const a = await createApache({
            withModule: true,
            logLevel: 'info auth_oauth2:debug',
            config: () => `${moduleConfig(s, 'OAuth2SessionStore cookie')}
<Location /app>
    AuthType oauth2
    Require valid-user
    ProxyPass ${s.backend.url}/app
</Location>`,
        });
        try {
            await a.start();
        }
        catch (e) {
            t.todo(`OAuth2SessionStore cookie is not available yet: ${/OA20\d\d: [^\n]*/.exec(e.message)?.[0] ?? e.message.split('\n')[0]}`);
            a.remove();
            return;
        }
        try {
            for (const cookie of ['oauth2_session=~99999999', 'oauth2_session=~99999999; oauth2_session_1=AAAA',
                'oauth2_session=~17', 'oauth2_session=~0', 'oauth2_session=~-1', 'oauth2_session=~2; oauth2_session_1=AAAA',
                `oauth2_session=~16; ${Array.from({ length: 16 }, (_, i) => `oauth2_session_${i + 1}=${'A'.repeat(3800)}`).join('; ')}`]) {
                const started = Date.now();
                const r = await request(a.href('/app/x'), { headers: { ...HTML, Cookie: cookie }, timeout: 5000 });
                assert.ok([302, 400].includes(r.status), `${cookie.slice(0, 60)}: ${r.status}`);
                if (r.status === 302) assert.equal(new URL(r.headers.location).origin, s.op.issuer);
                assertNoBackendBody(r);
                assert.ok(Date.now() - started < 2000, 'answered at once');
            }
            const ok = await request(a.href('/public-nothing'), {});
            assert.ok(ok.status === 404, 'the server still answers');
        }
        finally {
            await a.stop();
            a.remove();
        }
    });

    /* ----------------------- sessions remembered by a connection */

    /* Requests on one keep-alive connection, in turn; each answer with
     * whether the connection was reused. */
    async function onOneConnection(steps) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const out = [];
        try {
            for (const step of steps) {
                if (typeof step === 'function') {
                    await step();
                    continue;
                }
                const [path, cookie] = step;
                out.push(await new Promise((resolve, reject) => {
                    const req = http.get(s.url(path), { agent, headers: { ...HTML, ...(cookie ? { Cookie: cookie } : {}) } }, (res) => {
                        const chunks = [];
                        res.on('data', (c) => chunks.push(c));
                        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket }));
                    });
                    req.on('error', reject);
                }));
            }
        }
        finally {
            agent.destroy();
        }
        return out;
    }

    const userOf = (r) => (r.status === 200 ? JSON.parse(r.body).headers['x-forwarded-user'] : `(${r.status})`);

    it('serves each request of a shared keep-alive connection as its own cookie\'s user (a proxy in front)', async () => {
        const bobSid = bob.cookie('oauth2_session', s.url('/'));
        const flipped = sid.slice(0, 42) + (sid[42] === 'A' ? 'Q' : 'A');
        const answers = await onOneConnection([
            ['/app/k1', `oauth2_session=${sid}`],
            ['/app/k2', `oauth2_session=${bobSid}`],
            ['/app/k3', `oauth2_session=${sid}`],
            ['/app/k4', null],
            ['/app/k5', `oauth2_session=${flipped}`],
            ['/app/k6', `oauth2_session=${sid.slice(0, 42)}`],
            ['/app/k7', `oauth2_session=${sid}`],
            ['/public/k8', `oauth2_session=${sid}`],
            ['/app/k9', `oauth2_session=${bobSid}`],
        ]);
        assert.ok(answers.slice(1).every((r) => r.reused), 'one connection throughout');
        assert.deepEqual(answers.map(userOf), ['alice', 'bob', 'alice', '(302)', '(302)', '(302)', 'alice', undefined, 'bob']);
        for (const r of answers.filter((x) => x.status !== 200)) assertNoBackendBody(r);
    });

    it('notices on a keep-alive connection that its session was logged out elsewhere', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/kl'));
        const mine = b.cookie('oauth2_session', s.url('/'));
        const answers = await onOneConnection([
            ['/app/kl1', `oauth2_session=${mine}`],
            ['/app/kl2', `oauth2_session=${mine}`],
            async () => assert.equal((await b.get(s.url('/oauth2/logout?rd=/'))).status, 302),
            ['/app/kl3', `oauth2_session=${mine}`],
        ]);
        assert.ok(answers[2].reused, 'the same connection');
        assert.deepEqual(answers.map(userOf), ['alice', 'alice', '(302)']);
        assertNoBackendBody(answers[2]);
    });

    /* ---------------------------------------------------- requests */

    it('answers POST without Content-Type: 401 without a session, proxied with one', async () => {
        const anon = await request(s.url('/app/post'), { method: 'POST', body: 'a=b', headers: HTML });
        assert.equal(anon.status, 401);
        assert.match(anon.headers['www-authenticate'], /^Bearer realm=/);
        assertNoBackendBody(anon);
        const r = await alice.request(s.url('/app/post'), { method: 'POST', body: 'a=b' });
        assert.equal(r.status, 200);
        assert.equal(r.json().body, 'a=b');
        assert.equal(r.json().headers['x-forwarded-user'], 'alice');
    });

    it('answers POST to the callback, start and logout with 405', async () => {
        for (const ep of ['callback?code=x&state=y', 'start?rd=/', 'logout?rd=/']) {
            const r = await request(s.url(`/oauth2/${ep}`), { method: 'POST', body: 'a=b' });
            assert.equal(r.status, 405, ep);
            assert.equal(r.setCookie.length, 0);
        }
        await assertServing(s, alice);
    });

    it('names GET in the Allow header of those 405 answers (RFC 9110 §15.5.6)', async () => {
        const r = await request(s.url('/oauth2/callback?code=x&state=y'), { method: 'POST', body: 'a=b' });
        assert.equal(r.status, 405);
        assert.match(r.headers.allow ?? '', /\bGET\b/);
        // (TRACE is Apache's own, with its default TraceEnable On.)
        assert.doesNotMatch(r.headers.allow ?? '', /POST/);
    });

    it('refuses repeated state, code, error and iss parameters, also when the name is percent-encoded (400, OA2210)', async () => {
        const b = newBrowser();
        const cb = await untilCallback(b, s.url('/app/dup'));
        const u = new URL(cb);
        const state = u.searchParams.get('state');
        const code = u.searchParams.get('code');
        for (const extra of [`&state=${state}`, `&code=${code}`, `&%73tate=${state}`, `&co%64e=x`,
            '&error=a&error=b', `&iss=${encodeURIComponent(s.op.issuer)}`]) {
            const mark = s.apache.mark();
            const r = await b.get(`${cb}${extra}`);
            assert.equal(r.status, 400, extra);
            assert.equal(b.cookie('oauth2_session', s.url('/')), undefined);
            assert.equal(countLog(s.apache, /OA2210: callback with a repeated or malformed parameter/, mark), 1, extra);
        }
        // Nothing was consumed: the clean callback still logs in.
        const ok = await b.get(cb);
        assert.equal(ok.status, 302);
        assert.equal(ok.headers.location, '/app/dup');
    });

    it('refuses a callback without its state cookie: login CSRF (400, OA2202)', async () => {
        const attacker = newBrowser();
        const cb = await untilCallback(attacker, s.url('/app/csrf'));
        const victim = newBrowser();
        const mark = s.apache.mark();
        const r = await victim.get(cb);
        assert.equal(r.status, 400);
        assert.equal(r.setCookie.filter((c) => c.startsWith('oauth2_session=') && !/Max-Age=0/.test(c)).length, 0);
        assert.equal(countLog(s.apache, /OA2202: callback without its state cookie/, mark), 1);
        // The attacker's own callback is untouched and still works for them.
        assert.equal((await attacker.get(cb)).status, 302);
    });

    it('uses a state once: a replayed callback with its cookie is refused (400, OA2204)', async () => {
        const b = newBrowser();
        const cb = await untilCallback(b, s.url('/app/replay'));
        const c = stateCookie(b, cb);
        assert.equal((await b.get(cb)).status, 302);
        const replay = newBrowser();
        replay.setCookie(cb, `${c.name}=${c.value}; Path=/oauth2/callback`);
        const mark = s.apache.mark();
        const r = await replay.get(cb);
        assert.equal(r.status, 400);
        assert.equal(replay.cookie('oauth2_session', s.url('/')), undefined);
        assert.equal(countLog(s.apache, /OA2204: replayed login state refused/, mark), 1);
        await assertServing(s, b);
    });

    // A code the provider refuses (invalid_grant) is the user's doing or an
    // attack, never an outage (issue 15): no 5xx, no session, a fresh
    // login once (the state was valid), then a 400 page.
    function assertFreshLogin(r, what) {
        assert.equal(r.status, 302, what);
        assert.equal(new URL(r.headers.location).origin, s.op.issuer, `${what}: to the provider`);
        assert.ok(r.setCookie.some((c) => c.startsWith('oauth2_state_')), `${what}: a new login state`);
        assert.ok(!r.setCookie.some((c) => c.startsWith('oauth2_session=')), `${what}: no session`);
        assertNoBackendBody(r);
    }

    it('answers a replayed code with a fresh state with a fresh login, then a 400 (OA2220)', async () => {
        const b = newBrowser();
        const used = await untilCallback(b, s.url('/app/code1'));
        assert.equal((await b.get(used)).status, 302);
        const code = new URL(used).searchParams.get('code');
        const fresh = new URL(await untilCallback(b, s.url('/oauth2/start?rd=/app/code2')));
        fresh.searchParams.set('code', code);
        const before = s.backend.requests.length;
        const mark = s.apache.mark();
        const r = await b.get(fresh.href);
        assertFreshLogin(r, 'first refusal');
        assert.equal(countLog(s.apache, /OA2220: the provider refused the code .*invalid_grant.*: starting a fresh login/, mark), 1);
        // The restarted login, with the used code once more: a clean 400.
        const again = new URL(await untilCallback(b, r.headers.location));
        again.searchParams.set('code', code);
        const r2 = await b.get(again.href);
        assert.equal(r2.status, 400);
        assert.match(r2.body, /Please start again/);
        assert.match(r2.body, /href="\/app\/code2"/);
        assert.equal(s.backend.requests.length, before, 'the backend saw nothing');
        assert.ok(!r2.setCookie.some((c) => c.startsWith('oauth2_session=')), 'no session');
    });

    it('answers an attacker\'s code injected into the victim\'s login with a fresh login: PKCE binds the code (OA2220)', async () => {
        const attacker = newBrowser();
        const attackerCb = new URL(await untilCallback(attacker, s.url('/app/inject')));
        const victim = newBrowser();
        const victimCb = new URL(await untilCallback(victim, s.url('/app/victim')));
        victimCb.searchParams.set('code', attackerCb.searchParams.get('code'));
        const mark = s.apache.mark();
        const r = await victim.get(victimCb.href);
        assertFreshLogin(r, 'injected code');
        assert.equal(victim.cookie('oauth2_session', s.url('/')), undefined);
        assert.equal(countLog(s.apache, /OA2220: .*invalid_grant/, mark), 1);
        // The victim's own login then completes as the victim (alice, the
        // account of the victim's provider session), never as the attacker.
        const done = await login(victim, r.headers.location);
        assert.equal(done.final.status, 200);
        assert.equal(done.final.json().url, '/app/victim');
        assert.equal(done.final.json().headers['x-forwarded-user'], 'alice');
    });

    it('handles very long URLs: 7000-byte paths, rd and codes, and Apache\'s 414 beyond 8 KB', async () => {
        const long = `/app/${'a'.repeat(7000)}`;
        assert.equal((await alice.get(s.url(long))).status, 200, 'with a session: served');
        let mark = s.apache.mark();
        const anon = await request(s.url(long), { headers: HTML });
        assertLogin(anon, 'without a session');
        assert.equal(countLog(s.apache, /OA2105: refused return URL .*redirect target too long/, mark), 1);
        const b = newBrowser();
        const cb = new URL(await untilCallback(b, s.url('/app/long')));
        cb.searchParams.set('code', 'c'.repeat(5000));
        mark = s.apache.mark();
        const r = await b.get(cb.href);
        assert.equal(r.status, 400);
        assert.equal(countLog(s.apache, /OA2212: callback without a usable code/, mark), 1);
        const tooLong = await request(s.url(`/app/${'a'.repeat(9000)}`), { headers: HTML });
        assert.equal(tooLong.status, 414);
        assertNoBackendBody(tooLong);
        await assertServing(s, alice);
    });

    it('answers HEAD with a redirect and OPTIONS with 401, never with content', async () => {
        const head = await request(s.url('/app/h'), { method: 'HEAD', headers: HTML });
        assertLogin(head, 'HEAD');
        const options = await request(s.url('/app/h'), { method: 'OPTIONS', headers: HTML });
        assert.equal(options.status, 401);
        assertNoBackendBody(options);
    });
});
