// login.test.mjs: the OpenID Connect login through Apache (issue 2): the
// authorization code flow with PKCE against a real oidc-provider, sessions
// in shared memory, REMOTE_USER and the identity headers, the callback's
// refusals, provider failures, and spoofed headers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import http from 'node:http';
import { newBrowser, login, request } from './lib/http.mjs';

/* Starts a login in browser b for url and stops at the callback, returning
 * the callback URL (not requested). */
async function loginUntilCallback(b, url) {
    const res = await login(b, url, { onRedirect: (u) => (u.includes('/oauth2/callback') ? false : u) });
    assert.ok(res.stoppedAt, 'the login reached the callback');
    return res.stoppedAt;
}

function stateCookies(b, url) {
    return b.cookies(url).filter((c) => c.name.startsWith('oauth2_state_'));
}

describe('login', () => {
    let s;
    before(async () => {
        s = await startStack({
            apache: {
                mpm: 'prefork',
                mpmConfig: 'StartServers 4\nMinSpareServers 4\nMaxSpareServers 8',
                files: {
                    'htdocs/docs/index.html': '<!doctype html><title>docs</title>docs index\n',
                    'htdocs/docs/missing.html': '<!doctype html><title>missing</title>our own 404 page\n',
                },
            },
            backend: { render: (info) => (info.url.includes('/notfound') ? { status: 404, body: 'backend 404' } : null) },
            locations: () => `
<Location /docs>
    AuthType oauth2
    Require valid-user
    ErrorDocument 404 /docs/missing.html
</Location>
<Location /app/notfound>
    ProxyErrorOverride On
    ErrorDocument 404 /app/error-page
</Location>
`,
        });
    });
    after(async () => s?.stop());

    it('returns to the original URL with its query, and the backend sees the user', async () => {
        const b = newBrowser();
        const res = await login(b, s.url('/app/page?x=1&y=two%20words'));
        const auth = new URL(res.authorization.url);
        assert.equal(auth.searchParams.get('response_type'), 'code');
        assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
        assert.match(auth.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
        assert.match(auth.searchParams.get('state'), /^[A-Za-z0-9_-]{22}$/);
        assert.match(auth.searchParams.get('nonce'), /^[A-Za-z0-9_-]{22,}$/);
        assert.equal(auth.searchParams.get('redirect_uri'), s.url('/oauth2/callback'));
        assert.equal(res.callback.status, 302);
        assert.equal(res.callback.headers.location, '/app/page?x=1&y=two%20words');
        assert.equal(res.final.status, 200);
        const seen = res.final.json();
        assert.equal(seen.url, '/app/page?x=1&y=two%20words');
        assert.equal(seen.headers['x-forwarded-user'], 'alice');
        assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com');
        assert.equal(seen.headers['x-forwarded-preferred-username'], 'alice');
        assert.ok(seen.headers['x-forwarded-groups'], 'groups are passed');
        // The access log line is written after the answer: wait for it.
        await s.apache.waitForLog(/ - alice \[[^\]]+\] "GET \/app\/page\?x=1/, { log: 'access' });
    });

    it('sets a host-only HttpOnly SameSite=Lax session cookie that the backend never sees', async () => {
        const b = newBrowser();
        const res = await login(b, s.url('/app/cookie'));
        const set = res.callback.setCookie.find((l) => l.startsWith('oauth2_session='));
        assert.ok(set, 'session cookie set on the callback');
        assert.match(set, /HttpOnly/i);
        assert.match(set, /SameSite=Lax/i);
        assert.doesNotMatch(set, /Domain=/i);
        assert.doesNotMatch(set, /Secure/i, 'no Secure on plain http');
        assert.match(b.cookie('oauth2_session', s.url('/')), /^[A-Za-z0-9_-]{43}$/);
        const seen = res.final.json();
        assert.doesNotMatch(seen.headers.cookie ?? '', /oauth2_session|oauth2_state_/);
        assert.equal(stateCookies(b, s.url('/oauth2/callback')).length, 0, 'the state cookie is gone');
    });

    it('uses the session on later requests without contacting the provider', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/first'));
        s.op.resetCounts();
        for (let i = 0; i < 5; i++) {
            const r = await b.get(s.url(`/app/again/${i}`));
            assert.equal(r.status, 200);
            assert.equal(r.json().headers['x-forwarded-user'], 'alice');
        }
        const total = Object.values(s.op.counts).reduce((a, n) => a + n, 0);
        assert.equal(total, 0, `provider contacted: ${JSON.stringify(s.op.counts)}`);
    });

    it('shares sessions between the child processes', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/shared'));
        const mark = s.apache.mark();
        for (let i = 0; i < 40; i++) {
            const r = await b.get(s.url(`/app/pid/${i}`));
            assert.equal(r.status, 200, `request ${i}`);
        }
        const lines = await s.apache.waitForLines(/\/app\/pid\//, 40, { since: mark });
        const pids = new Set(lines.map((l) => l.match(/pid=(\d+)/)[1]));
        assert.equal(lines.length, 40);
        assert.ok(lines.every((l) => l.includes(' - alice [')));
        assert.ok(pids.size >= 2, `requests served by ${pids.size} process(es)`);
    });

    it('rechecks a session remembered by a keep-alive connection', async () => {
        const alice = newBrowser();
        await login(alice, s.url('/app/ka'));
        const bob = newBrowser();
        await login(bob, s.url('/app/ka'), { username: 'bob' });
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = (cookie) => new Promise((resolve, reject) => {
            const req = http.get(s.url('/app/ka'), { agent, headers: { Accept: 'application/json', Cookie: `oauth2_session=${cookie}` } }, (res) => {
                let body = '';
                res.on('data', (d) => { body += d; });
                res.on('end', () => resolve({ status: res.statusCode, body, reused: req.reusedSocket }));
            });
            req.on('error', reject);
        });
        const a = alice.cookie('oauth2_session', s.url('/'));
        const first = await get(a);
        assert.equal(JSON.parse(first.body).headers['x-forwarded-user'], 'alice');
        const again = await get(a);
        assert.ok(again.reused, 'the same connection');
        assert.equal(JSON.parse(again.body).headers['x-forwarded-user'], 'alice');
        const other = await get(bob.cookie('oauth2_session', s.url('/')));
        assert.ok(other.reused);
        assert.equal(JSON.parse(other.body).headers['x-forwarded-user'], 'bob', 'another session id on the same connection');
        await get(a);
        await alice.get(s.url('/oauth2/logout?rd=/'));
        const after = await get(a);
        assert.ok(after.reused);
        assert.equal(after.status, 401, 'a session logged out elsewhere is refused on the kept-alive connection');
        agent.destroy();
    });

    it('keeps the user through internal redirects (ErrorDocument, DirectoryIndex)', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/internal'));
        const index = await b.get(s.url('/docs/'));
        assert.equal(index.status, 200);
        assert.match(index.body, /docs index/);
        const missing = await b.get(s.url('/docs/nothing-here'));
        assert.equal(missing.status, 404, 'the error page, not a login');
        assert.match(missing.body, /our own 404 page/);
        await s.apache.waitForLog(/ - alice \[[^\]]+\] "GET \/docs\/nothing-here HTTP\/1.1" 404/, { log: 'access' });
        // After the proxy ran (and the fixups took our cookie out of the
        // headers), an ErrorDocument that is itself proxied still gets the
        // user and the identity headers.
        s.backend.reset();
        const proxied = await b.get(s.url('/app/notfound'));
        assert.match(proxied.body, /error-page/, 'the error document, not a login page');
        const page = s.backend.requests.find((q) => q.url.includes('error-page'));
        assert.ok(page, 'the error page was asked from the backend');
        assert.equal(page.headers['x-forwarded-user'], 'alice');
        assert.doesNotMatch(page.headers.cookie ?? '', /oauth2_session/);
    });

    it('runs parallel logins of one browser in two tabs', async () => {
        const b = newBrowser();
        const cbA = await loginUntilCallback(b, s.url('/app/tab-a?t=a'));
        const cbB = await loginUntilCallback(b, s.url('/app/tab-b?t=b'));
        assert.equal(stateCookies(b, cbA).length, 2, 'one state cookie per login');
        const rB = await b.get(cbB);
        assert.equal(rB.status, 302);
        assert.equal(rB.headers.location, '/app/tab-b?t=b');
        const rA = await b.get(cbA);
        assert.equal(rA.status, 302);
        assert.equal(rA.headers.location, '/app/tab-a?t=a');
    });

    it('refuses a callback without its state cookie (login CSRF)', async () => {
        const victim = newBrowser();
        const attacker = newBrowser();
        const cb = await loginUntilCallback(attacker, s.url('/app/csrf'));
        const mark = s.apache.mark();
        const r = await victim.get(cb);
        assert.equal(r.status, 400);
        assert.match(r.headers['content-type'], /text\/html/);
        assert.equal(victim.cookie('oauth2_session', s.url('/')), undefined);
        await s.apache.waitForLog(/OA2202/, { since: mark });
    });

    it('refuses a tampered state cookie', async () => {
        const b = newBrowser();
        const cb = await loginUntilCallback(b, s.url('/app/tamper'));
        const [c] = stateCookies(b, cb);
        const flipped = c.value.slice(0, 30) + (c.value[30] === 'A' ? 'B' : 'A') + c.value.slice(31);
        b.setCookie(cb, `${c.name}=${flipped}; Path=/oauth2/callback`);
        const mark = s.apache.mark();
        const r = await b.get(cb);
        assert.equal(r.status, 400);
        await s.apache.waitForLog(/OA2203: state cookie refused/, { since: mark });
    });

    it('uses a state only once (a replayed callback is refused)', async () => {
        const b = newBrowser();
        const cb = await loginUntilCallback(b, s.url('/app/replay'));
        const [c] = stateCookies(b, cb);
        const first = await b.get(cb);
        assert.equal(first.status, 302);
        const replay = newBrowser();
        replay.setCookie(cb, `${c.name}=${c.value}; Path=/oauth2/callback`);
        const mark = s.apache.mark();
        const r = await replay.get(cb);
        assert.equal(r.status, 400);
        assert.equal(replay.cookie('oauth2_session', s.url('/')), undefined);
        await s.apache.waitForLog(/OA2204: replayed login state/, { since: mark });
    });

    it('refuses repeated state or code parameters', async () => {
        const b = newBrowser();
        const cb = await loginUntilCallback(b, s.url('/app/dup'));
        const u = new URL(cb);
        for (const name of ['state', 'code']) {
            const mark = s.apache.mark();
            const r = await b.get(`${cb}&${name}=${u.searchParams.get(name)}`);
            assert.equal(r.status, 400, `repeated ${name}`);
            await s.apache.waitForLog(new RegExp(`OA2210: .*${name}`), { since: mark });
        }
    });

    it('answers a provider error= with a clean page in plain words, never a 5xx for a user\'s cancel', async () => {
        const b = newBrowser();
        const cb = new URL(await loginUntilCallback(b, s.url('/app/denied')));
        const state = cb.searchParams.get('state');
        const desc = encodeURIComponent('The user <b>cancelled</b> "here"');
        const r = await b.get(s.url(`/oauth2/callback?error=access_denied&error_description=${desc}&state=${state}`));
        assert.equal(r.status, 403);
        assert.match(r.body, /The login was cancelled/);
        assert.match(r.body, /The user &lt;b&gt;cancelled&lt;\/b&gt; &quot;here&quot;/, 'the description, escaped');
        assert.doesNotMatch(r.body, /<b>cancelled/);
        assert.match(r.body, /<a href="\/app\/denied">Try again<\/a>/);
        assert.match(r.headers['content-type'], /^text\/html; charset=utf-8/);
        assert.equal(b.cookie('oauth2_session', s.url('/')), undefined);
        const b2 = newBrowser();
        const cb2 = new URL(await loginUntilCallback(b2, s.url('/app/consent')));
        const r2 = await b2.get(s.url(`/oauth2/callback?error=consent_required&state=${cb2.searchParams.get('state')}`));
        assert.equal(r2.status, 403);
        assert.match(r2.body, /needs you to sign in or agree first/);
    });

    it('restarts a login whose code the provider refuses (invalid_grant) once, then answers 400, never 502', async () => {
        const b = newBrowser();
        const cb = await loginUntilCallback(b, s.url('/app/grant?x=1'));
        s.op.fail('token', { mode: 'body', status: 400, body: { error: 'invalid_grant', error_description: 'code expired' }, times: 1 });
        const mark = s.apache.mark();
        const r = await b.get(cb);
        assert.equal(r.status, 302, 'a fresh login, not a 502');
        assert.equal(new URL(r.headers.location).origin, s.op.issuer);
        await s.apache.waitForLog(/OA2220: the provider refused the code/, { since: mark });
        const done = await login(b, r.headers.location);
        assert.equal(done.final.status, 200);
        assert.equal(done.final.json().url, '/app/grant?x=1', 'back to the original URL');
        // Refused twice in a row: a clean 400 with a way to start again.
        const b2 = newBrowser();
        const cb2 = await loginUntilCallback(b2, s.url('/app/grant2'));
        s.op.fail('token', { mode: 'body', status: 400, body: { error: 'invalid_grant' }, times: 2 });
        const first = await b2.get(cb2);
        assert.equal(first.status, 302);
        const cb3 = await loginUntilCallback(b2, first.headers.location);
        const second = await b2.get(cb3);
        assert.equal(second.status, 400);
        assert.match(second.body, /Please start again/);
    });

    it('refuses a callback without a code, or from another issuer', async () => {
        for (const [extra, tag] of [
            ['', 'OA2212'],
            ['&code=abc&iss=https%3A%2F%2Fevil.example', 'OA2211'],
        ]) {
            const b = newBrowser();
            const cb = new URL(await loginUntilCallback(b, s.url('/app/nocode')));
            const mark = s.apache.mark();
            const r = await b.get(s.url(`/oauth2/callback?state=${cb.searchParams.get('state')}${extra}`));
            assert.equal(r.status, 400);
            await s.apache.waitForLog(new RegExp(tag), { since: mark });
        }
    });

    it('redacts the code and state in the access log', async () => {
        const b = newBrowser();
        const res = await login(b, s.url('/app/redact'));
        const code = new URL(res.callback.url).searchParams.get('code');
        // The callback's line is there (written after the response) ...
        await s.apache.waitForLog(/GET \/oauth2\/callback\?code=x+&state=x+/, { log: 'access' });
        await s.apache.waitForLog(/GET \/app\/redact /, { log: 'access' });
        // ... and holds no code.
        assert.ok(!s.apache.accessLog().includes(code), 'the code is not in the access log');
        assert.ok(!s.apache.errorLog().includes(code), 'the code is not in the error log');
    });

    it('answers a token endpoint failure with a 502 page naming the sign-in service and keeps serving', async () => {
        const b = newBrowser();
        const cb = await loginUntilCallback(b, s.url('/app/tokenfail'));
        s.op.fail('token', { mode: 'reset', times: 1 });
        const mark = s.apache.mark();
        const r = await b.get(cb);
        assert.equal(r.status, 502);
        assert.match(r.body, /Sign-in is unavailable/);
        assert.match(r.body, /The sign-in service \(127\.0\.0\.1\) cannot be reached/);
        await s.apache.waitForLog(/OA2207: login failed/, { since: mark });
        const pub = await request(s.url('/public/ok'));
        assert.equal(pub.status, 200);
    });

    it('sends scripts a 401 instead of a login redirect, without a state cookie', async () => {
        const r = await request(s.url('/app/api'), { headers: { Accept: 'application/json' } });
        assert.equal(r.status, 401);
        assert.match(r.headers['www-authenticate'], /^Bearer realm=/);
        assert.equal(r.setCookie.length, 0);
        const xhr = await request(s.url('/app/api'), { headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: '*/*' } });
        assert.equal(xhr.status, 401);
    });

    it('removes spoofed identity headers on public and protected paths', async () => {
        const spoofed = [
            'X-Forwarded-User', 'evil',
            'x_forwarded_user', 'evil',
            'X-FORWARDED-EMAIL', 'evil@evil.com',
            'X-Forwarded-Groups', 'admins',
            'x-forwarded-preferred-username', 'root',
            'X-Forwarded-Access-Token', 'forged',
            'OAuth2-Claim-role', 'admin',
            'oauth2_claim_role', 'admin',
        ];
        const pub = await request(s.url('/public/spoof'), { headers: spoofed });
        const seenPub = pub.json();
        for (const name of Object.keys(seenPub.headers)) {
            assert.doesNotMatch(name, /^(x[-_]forwarded[-_](user|email|groups|preferred[-_]username|access[-_]token)|oauth2[-_]claim)/i, `public path passed ${name}`);
        }
        const b = newBrowser();
        await login(b, s.url('/app/spoof'));
        const prot = await b.get(s.url('/app/spoof'), { headers: [...spoofed, 'Connection', 'X-Forwarded-User, X-Forwarded-Groups'] });
        const seen = prot.json();
        assert.equal(seen.headers['x-forwarded-user'], 'alice');
        assert.notEqual(seen.headers['x-forwarded-groups'], 'admins');
        assert.equal(seen.headers['x-forwarded-access-token'], undefined);
        assert.equal(seen.headers['oauth2-claim-role'], undefined);
        const raw = seen.rawHeaders.filter((h, i) => i % 2 === 0 && /forwarded.user/i.test(h));
        assert.deepEqual(raw, ['X-Forwarded-User'], 'exactly one user header reaches the backend');
    });
});
