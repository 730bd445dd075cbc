// Self-tests of the integration harness (tests/integration/lib): none of them
// needs mod_auth_oauth2. They start the real provider, the echo backend,
// Apache without the module, redis/memcached and chromium, once for the file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, decodeJwt } from 'jose';

import { startProvider, DEFAULT_ACCOUNTS } from './lib/provider.mjs';
import { startBackend, writeCgiScript, parseCgiEnv } from './lib/backend.mjs';
import { createApache, configtest } from './lib/apache.mjs';
import { request, rawRequest, newBrowser, login, logout, parseForms } from './lib/http.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { startRedis, startMemcached } from './lib/redis.mjs';
import { freePort, isPortFree } from './lib/ports.mjs';

const CAROL = {
    id: 'carol',
    password: 'carol-pw',
    email: 'carol@example.com',
    email_verified: true,
    name: 'Carol Keycloak',
    preferred_username: 'carol',
    groups: ['staff'],
    hd: 'example.com',
    realm_access: { roles: ['admin', 'user'] },
};

let op;
let backend;
let apache;

const cb = () => `${backend.url}/cb`;

function clients() {
    return [
        { client_id: 'basic-client', redirect_uris: [cb()], post_logout_redirect_uris: [`${backend.url}/bye`] },
        {
            client_id: 'post-client',
            redirect_uris: [cb()],
            token_endpoint_auth_method: 'client_secret_post',
            client_secret: 'post-secret',
        },
        { client_id: 'es256-client', redirect_uris: [cb()], id_token_signed_response_alg: 'ES256' },
        { client_id: 'ps256-client', redirect_uris: [cb()], id_token_signed_response_alg: 'PS256' },
        { client_id: 'eddsa-client', redirect_uris: [cb()], id_token_signed_response_alg: 'EdDSA' },
        { client_id: 'bcl-client', redirect_uris: [cb()], backchannel_logout_uri: `${backend.url}/bcl` },
    ];
}

function clientOf(id) {
    return op.clients.find((c) => c.client_id === id);
}

function pkce() {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    return { verifier, challenge };
}

function authorizationUrl(clientId, { scope = 'openid email profile', prompt, challenge } = {}) {
    const p = pkce();
    const state = crypto.randomBytes(12).toString('base64url');
    const nonce = crypto.randomBytes(12).toString('base64url');
    const u = new URL(op.metadata.authorization_endpoint);
    const params = {
        response_type: 'code', client_id: clientId, redirect_uri: cb(), scope, state, nonce,
    };
    if (challenge !== null) Object.assign(params, { code_challenge: challenge ?? p.challenge, code_challenge_method: 'S256' });
    if (prompt) params.prompt = prompt;
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return { url: u.href, state, nonce, verifier: p.verifier };
}

function stopAtCallback(url) {
    return url.startsWith(cb()) ? false : url;
}

async function exchangeCode(clientId, code, verifier) {
    const c = clientOf(clientId);
    const form = { grant_type: 'authorization_code', code, redirect_uri: cb(), code_verifier: verifier };
    const headers = {};
    if (c.token_endpoint_auth_method === 'client_secret_post') {
        Object.assign(form, { client_id: c.client_id, client_secret: c.client_secret });
    } else {
        const basic = Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64');
        headers.Authorization = `Basic ${basic}`;
    }
    const res = await request(op.metadata.token_endpoint, { method: 'POST', form, headers });
    assert.equal(res.status, 200, res.body);
    return res.json();
}

async function verifyIdToken(idToken, clientId, nonce) {
    const jwks = (await request(op.metadata.jwks_uri)).json();
    const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
        issuer: op.issuer,
        audience: clientId,
    });
    if (nonce) assert.equal(payload.nonce, nonce);
    return { payload, header: protectedHeader };
}

/** Login by hand against the provider; returns {tokens, claims, result}. */
async function loginAs(clientId, username, opts = {}) {
    const auth = authorizationUrl(clientId, opts);
    const browser = opts.browser ?? newBrowser();
    const result = await login(browser, auth.url, { username, password: opts.password, onRedirect: stopAtCallback });
    const back = new URL(result.stoppedAt);
    assert.equal(back.searchParams.get('state'), auth.state);
    assert.equal(back.searchParams.get('iss'), op.issuer);
    const tokens = await exchangeCode(clientId, back.searchParams.get('code'), auth.verifier);
    const { payload, header } = await verifyIdToken(tokens.id_token, clientId, auth.nonce);
    return { tokens, claims: payload, header, result, browser };
}

before(async () => {
    backend = await startBackend();
    op = await startProvider({
        clients: clients(),
        accounts: [...DEFAULT_ACCOUNTS, CAROL],
        signingAlgs: ['RS256', 'ES256', 'PS256', 'EdDSA'],
        backchannelLogout: true,
    });
    apache = await createApache({
        config: (a) => [
            `ProxyPass /app/ ${backend.url}/`,
            `ProxyPassReverse /app/ ${backend.url}/`,
            '<Location /app/>',
            '    RequestHeader set X-Via-Apache yes',
            '</Location>',
            `# port ${a.port}`,
        ].join('\n'),
    });
    writeCgiScript(`${apache.cgiBin}/env.cgi`);
    await apache.start();
});

after(async () => {
    await Promise.allSettled([apache?.stop(), op?.stop(), backend?.stop()]);
    apache?.remove();
});

describe('ports', () => {
    it('hands out distinct free loopback ports', async () => {
        const a = await freePort();
        const b = await freePort();
        assert.notEqual(a, b);
        assert.ok(await isPortFree(a));
        assert.equal(await isPortFree(apache.port), false);
    });
});

describe('provider', () => {
    it('serves discovery and JWKS for the issuer and counts requests', async () => {
        op.resetCounts();
        const res = await request(op.url('/.well-known/openid-configuration'));
        assert.equal(res.status, 200);
        const md = res.json();
        assert.equal(md.issuer, op.issuer);
        assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
        assert.ok(md.backchannel_logout_supported);
        assert.ok(md.end_session_endpoint);
        for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA']) assert.ok(md.id_token_signing_alg_values_supported.includes(alg), alg);
        for (const claim of ['email', 'groups', 'hd', 'realm_access']) assert.ok(md.claims_supported.includes(claim), claim);
        const jwks = (await request(md.jwks_uri)).json();
        assert.deepEqual(jwks.keys.map((k) => k.kty).sort(), ['EC', 'OKP', 'RSA']);
        assert.ok(jwks.keys.every((k) => !k.d), 'no private parts');
        assert.equal(op.counts.discovery, 1);
        assert.equal(op.counts.jwks, 1);
    });

    it('requires PKCE', async () => {
        const auth = authorizationUrl('basic-client', { challenge: null });
        const res = await request(auth.url);
        assert.equal(res.status, 303);
        const back = new URL(res.location);
        assert.ok(res.location.startsWith(cb()));
        assert.equal(back.searchParams.get('error'), 'invalid_request');
        assert.match(back.searchParams.get('error_description'), /PKCE/);
    });

    it('logs in by hand: code + PKCE, client_secret_basic, ID token and userinfo', async () => {
        op.resetCounts();
        const { tokens, claims, header, result } = await loginAs('basic-client', 'alice');
        // hops: authorization -> interaction (login form) -> POST -> resume -> callback
        assert.equal(result.authorization.status, 303);
        assert.ok(result.loginForm, 'the login form was shown');
        assert.equal(result.hops.filter((h) => h.method === 'POST').length, 1, 'no consent form');
        assert.equal(header.alg, 'RS256');
        assert.equal(header.kid, op.kid('RS256'));
        assert.equal(claims.sub, 'alice');
        assert.equal(claims.email, 'alice@example.com');
        assert.equal(claims.email_verified, true);
        assert.equal(claims.preferred_username, 'alice');
        assert.deepEqual(claims.groups, ['staff', 'admins']);
        assert.equal(tokens.token_type, 'Bearer');
        assert.equal(tokens.refresh_token, undefined);

        const token = op.requests.find((r) => r.endpoint === 'token');
        assert.match(token.headers.authorization, /^Basic /);
        assert.match(token.body, /code_verifier=/);
        assert.equal(op.counts.token, 1);

        const ui = await request(op.metadata.userinfo_endpoint, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
        assert.equal(ui.status, 200);
        assert.deepEqual(ui.json().groups, ['staff', 'admins']);
        assert.equal(ui.json().email, 'alice@example.com');
        assert.equal(op.counts.userinfo, 1);
    });

    it('client_secret_post, consent on prompt=consent, offline_access refresh token', async () => {
        op.resetCounts();
        const { tokens, claims, result } = await loginAs('post-client', 'bob', {
            scope: 'openid email profile offline_access', prompt: 'consent',
        });
        assert.ok(result.hops.some((h) => h.form?.prompt === 'consent'), 'consent form submitted');
        assert.equal(claims.email_verified, false);
        assert.ok(tokens.refresh_token, 'refresh token issued');
        const token = op.requests.find((r) => r.endpoint === 'token');
        assert.equal(token.headers.authorization, undefined);
        assert.match(token.body, /client_secret=post-secret/);

        const res = await request(op.metadata.token_endpoint, {
            method: 'POST',
            form: {
                grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'post-client', client_secret: 'post-secret',
            },
        });
        assert.equal(res.status, 200, res.body);
        assert.ok(res.json().id_token);
    });

    for (const [clientId, alg] of [['es256-client', 'ES256'], ['ps256-client', 'PS256'], ['eddsa-client', 'EdDSA']]) {
        it(`signs ID tokens with ${alg}, custom claims included`, async () => {
            const { header, claims } = await loginAs(clientId, 'carol', { password: 'carol-pw' });
            assert.equal(header.alg, alg);
            assert.equal(header.kid, op.kid(alg));
            assert.equal(claims.hd, 'example.com');
            assert.deepEqual(claims.realm_access, { roles: ['admin', 'user'] });
        });
    }

    it('refuses an unknown account or a wrong password at the login form', async () => {
        const auth = authorizationUrl('basic-client');
        await assert.rejects(login(newBrowser(), auth.url, { username: 'mallory', onRedirect: stopAtCallback }), /login refused/);
        await assert.rejects(login(newBrowser(), auth.url, { username: 'carol', password: 'wrong', onRedirect: stopAtCallback }), /login refused/);
        assert.equal(op.events.filter((e) => e.name === 'login.refused').length, 2);
    });

    it('signs test tokens with its own key, a foreign key, HMAC or none', async () => {
        const keys = createLocalJWKSet(op.jwks);
        const good = await op.idToken({ nonce: 'n1', groups: ['x'] });
        const { payload } = await jwtVerify(good, keys, { issuer: op.issuer, audience: 'basic-client' });
        assert.equal(payload.nonce, 'n1');
        const es = await op.idToken({}, { alg: 'ES256' });
        await jwtVerify(es, keys);
        const at = await op.accessToken({ scope: 'api' });
        assert.equal(decodeProtectedHeader(at).typ, 'at+jwt');

        const forged = await op.idToken({}, { foreign: true, kid: op.kid('RS256') });
        await assert.rejects(jwtVerify(forged, keys), /signature verification failed/);
        const unknownKid = await op.idToken({}, { foreign: true });
        assert.equal(decodeProtectedHeader(unknownKid).kid, 'foreign-rsa');
        await assert.rejects(jwtVerify(unknownKid, keys), /no applicable key/i);
        await jwtVerify(unknownKid, createLocalJWKSet({ keys: [op.foreignPublicJwk('RS256')] }));

        const none = await op.idToken({ sub: 'x' }, { alg: 'none' });
        assert.match(none, /^[\w-]+\.[\w-]+\.$/);
        assert.equal(decodeProtectedHeader(none).alg, 'none');
        const hs = await op.signJwt({ sub: 'x' }, { alg: 'HS256', key: 'a-secret', header: { kid: null } });
        assert.equal(decodeProtectedHeader(hs).kid, undefined);
        assert.equal(decodeJwt(hs).sub, 'x');
    });

    it('injects faults and serves a replaced JWKS', async () => {
        op.fail('jwks', { mode: 'status', status: 500, times: 1 });
        assert.equal((await request(op.metadata.jwks_uri)).status, 500);
        assert.equal((await request(op.metadata.jwks_uri)).status, 200);

        op.fail('discovery', { mode: 'garbage', times: 1 });
        const garbage = await request(op.url('/.well-known/openid-configuration'));
        assert.equal(garbage.status, 200);
        assert.throws(() => garbage.json());

        op.fail('jwks', { mode: 'huge', bytes: 3 * 1024 * 1024, times: 1 });
        const huge = await request(op.metadata.jwks_uri);
        assert.equal(huge.buffer.length, 3 * 1024 * 1024);

        op.fail('token', { mode: 'hang' });
        await assert.rejects(request(op.metadata.token_endpoint, { method: 'POST', form: {}, timeout: 300 }), { code: 'ETIMEDOUT' });
        op.clearFaults();

        op.fail('userinfo', { mode: 'reset', times: 1 });
        await assert.rejects(request(op.metadata.userinfo_endpoint), /socket hang up|ECONNRESET/);

        op.fail('jwks', { mode: 'delay', ms: 200, times: 1 });
        const t0 = Date.now();
        assert.equal((await request(op.metadata.jwks_uri)).status, 200);
        assert.ok(Date.now() - t0 >= 190);

        op.fail('jwks', { mode: 'trickle', interval: 20, bytes: 5, times: 1 });
        assert.equal((await request(op.metadata.jwks_uri)).body, '     ');

        op.fail('/custom', { mode: 'body', status: 201, body: { hello: 'world' }, times: 1 });
        const custom = await request(op.url('/custom'));
        assert.equal(custom.status, 201);
        assert.deepEqual(custom.json(), { hello: 'world' });

        op.setJwks({ keys: [op.foreignPublicJwk('ES256')] });
        assert.deepEqual((await request(op.metadata.jwks_uri)).json().keys.map((k) => k.kid), ['foreign-ec-p-256']);
        op.setJwks(null);
        assert.equal((await request(op.metadata.jwks_uri)).json().keys.length, 3);
    });

    it('sends back-channel logout tokens', async () => {
        backend.reset();
        await op.sendBackchannelLogout({ clientId: 'bcl-client', sub: 'alice', sid: 'sid-1' });
        const req = await backend.waitForRequest((r) => r.url === '/bcl');
        assert.equal(req.method, 'POST');
        const token = new URLSearchParams(req.body).get('logout_token');
        const { payload } = await jwtVerify(token, createLocalJWKSet(op.jwks), { issuer: op.issuer, audience: 'bcl-client' });
        assert.equal(payload.sub, 'alice');
        assert.equal(payload.sid, 'sid-1');
        assert.ok(payload.events['http://schemas.openid.net/event/backchannel-logout']);
        assert.equal(payload.nonce, undefined);
    });

    it('RP-initiated logout: confirms the logout page and returns to post_logout_redirect_uri', async () => {
        const { tokens, browser } = await loginAs('basic-client', 'alice');
        const u = new URL(op.metadata.end_session_endpoint);
        u.searchParams.set('id_token_hint', tokens.id_token);
        u.searchParams.set('post_logout_redirect_uri', `${backend.url}/bye`);
        u.searchParams.set('state', 'st');
        const result = await logout(browser, u.href);
        assert.ok(result.hops.some((h) => h.form?.logout === 'yes'), 'logout confirmed');
        assert.equal(result.final.status, 200);
        assert.equal(result.final.json().url, '/bye?state=st');
        // the provider session is gone: a new login shows the form again
        const again = await login(browser, authorizationUrl('basic-client').url, { onRedirect: stopAtCallback });
        assert.ok(again.loginForm);
    });
});

describe('http client', () => {
    it('keeps cookies by path and deletes them on Max-Age=0 / past Expires', () => {
        const b = newBrowser();
        b.setCookie('http://127.0.0.1:1/app/x', 'a=1; Path=/app; HttpOnly');
        b.setCookie('http://127.0.0.1:1/app/x', 'b=2');
        b.setCookie('http://127.0.0.1:1/', 'c=3; Max-Age=60; SameSite=Lax');
        b.setCookie('http://127.0.0.1:1/', 'd=4; Domain=example.com');
        assert.equal(b.cookieHeader('http://127.0.0.1:2/app/y'), 'a=1; b=2; c=3');
        assert.equal(b.cookieHeader('http://127.0.0.1:2/application'), 'c=3');
        assert.equal(b.cookie('d'), undefined, 'foreign domain refused');
        b.setCookie('http://127.0.0.1:1/', 'c=; Max-Age=0');
        b.setCookie('http://127.0.0.1:1/app/', 'a=; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
        assert.equal(b.cookieHeader('http://127.0.0.1:2/app/y'), 'b=2');
    });

    it('parses provider forms', () => {
        const forms = parseForms('<form id="f" method="post" action="/a?x=1&amp;y=2"><input type="hidden" name="xsrf" value="v&quot;"/></form>');
        assert.deepEqual(forms, [{ id: 'f', action: '/a?x=1&y=2', method: 'POST', inputs: { xsrf: 'v"' } }]);
    });
});

describe('apache without the module', () => {
    it('proxies to the backend with the headers sent, as given', async () => {
        const res = await request(apache.href('/app/echo?q=1'), {
            headers: [['X_Forwarded_User', 'evil'], ['X-Dup', 'one'], ['X-Dup', 'two'], ['Cookie', 'k=v']],
        });
        assert.equal(res.status, 200);
        const echo = res.json();
        assert.equal(echo.url, '/echo?q=1');
        assert.equal(echo.headers.x_forwarded_user, 'evil');
        assert.equal(echo.headers['x-dup'], 'one, two');
        assert.equal(echo.headers['x-via-apache'], 'yes');
        assert.equal(echo.headers.cookie, 'k=v');
        assert.ok(echo.rawHeaders.includes('X_Forwarded_User'));
        await apache.waitForLog(/"GET \/app\/echo\?q=1 HTTP\/1\.1" 200 \d+ pid=\d+/, { log: 'access' });
    });

    it('runs CGI scripts (REMOTE_USER checks use this)', async () => {
        const res = await request(apache.href('/cgi-bin/env.cgi?x=1'), { headers: { 'X-Test': 'yes', X_Under: 'dropped' } });
        assert.equal(res.status, 200);
        const env = parseCgiEnv(res.body);
        assert.equal(env.HTTP_X_TEST, 'yes');
        assert.equal(env.QUERY_STRING, 'x=1');
        assert.equal(env.REMOTE_USER, undefined);
        assert.equal(env.HTTP_X_UNDER, undefined, 'apache drops underscore headers for CGI');
    });

    it('answers malformed raw requests', async () => {
        const bare = await rawRequest(apache.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\nX-B: b\r\n\r\n');
        assert.equal(bare.status, 400);
        const long = await rawRequest(apache.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: ${'a'.repeat(10000)}\r\n\r\n`);
        assert.equal(long.status, 400);
        const ok = await rawRequest(apache.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-User: a\r\nX-Forwarded-User: b\r\n\r\n');
        assert.equal(ok.status, 200);
        assert.match(ok.body, /It works/);
    });

    it('graceful and full restarts keep the same server serving', async () => {
        const pid = apache.pid;
        await apache.graceful();
        assert.equal((await request(apache.href('/'))).status, 200);
        await apache.restart({ config: `${apache.configText()}\nAlias /restarted ${apache.docroot}` });
        assert.equal((await request(apache.href('/restarted/'))).status, 200);
        assert.equal(apache.pid, pid);
    });

    it('configtest reports a bad directive', async () => {
        const bad = await apache.configtest('OAuth2Bogus On');
        assert.notEqual(bad.code, 0);
        assert.match(bad.output, /Invalid command 'OAuth2Bogus'/);
        const good = await configtest('ServerTokens Prod');
        assert.equal(good.code, 0, good.output);
        assert.match(good.output, /Syntax OK/);
    });

    it('runs prefork with the asked number of servers and logs from a mark on', async () => {
        const pre = await createApache({ mpm: 'prefork', mpmConfig: 'StartServers 3\nMinSpareServers 3\nMaxSpareServers 5' });
        try {
            await pre.start();
            const mark = pre.mark();
            assert.equal((await request(pre.href('/nothing-here'))).status, 404);
            const line = await pre.waitForLog(/"GET \/nothing-here HTTP\/1\.1" 404/, { since: mark, log: 'access' });
            assert.match(line, /pid=\d+ us=\d+$/);
            const children = fs.readFileSync(`/proc/${pre.pid}/task/${pre.pid}/children`, 'utf8').trim().split(/\s+/);
            assert.ok(children.length >= 3, `children: ${children}`);
            assert.match(pre.renderConfig(), /LoadModule mpm_prefork_module/);
        } finally {
            await pre.stop();
            pre.remove();
        }
        assert.equal(pre.running, false);
    });

    it('start() rejects with the reason when apache2 cannot start', async () => {
        const broken = await createApache({ config: 'ProxyPass /x http://[broken' });
        try {
            await assert.rejects(broken.start(), /did not start[\s\S]*Unable to parse URL/);
            assert.equal(broken.running, false);
        } finally {
            await broken.stop();
            broken.remove();
        }
    });
});

describe('redis and memcached', () => {
    it('start on free ports without persistence and stop', async () => {
        const redis = await startRedis();
        const mc = await startMemcached();
        try {
            assert.match(redis.spec, /^redis:127\.0\.0\.1:\d+$/);
            assert.equal(await redis.command('SET', 'k', 'v'), 'OK');
            assert.deepEqual(await redis.command('KEYS', '*'), ['k']);
            assert.equal(await redis.command('CONFIG', 'GET', 'save').then((r) => r[1]), '');
            assert.match(mc.spec, /^memcache:127\.0\.0\.1:\d+$/);
            assert.equal(await mc.command('set k 0 0 1\r\nx'), 'STORED\r\n');
            assert.match(await mc.command('get k'), /^VALUE k 0 1\r\nx\r\nEND\r\n$/);
        } finally {
            await Promise.all([redis.stop(), mc.stop()]);
        }
        assert.ok(await isPortFree(redis.port));
    });
});

describe('chromium', () => {
    let chrome;
    before(async () => {
        chrome = await launchBrowser();
    });
    after(async () => {
        await chrome?.close();
    });

    it('logs in through the devInteractions form in a real browser', async () => {
        const { page } = chrome;
        const auth = authorizationUrl('basic-client');
        await page.goto(auth.url);
        await page.fill('input[name=login]', 'alice');
        await page.fill('input[name=password]', 'whatever');
        await Promise.all([
            page.waitForURL((u) => u.href.startsWith(cb())),
            page.click('button[type=submit]'),
        ]);
        const back = new URL(page.url());
        assert.equal(back.searchParams.get('state'), auth.state);
        assert.match(await page.textContent('body'), /"url":"\/cb\?code=/);
        const tokens = await exchangeCode('basic-client', back.searchParams.get('code'), auth.verifier);
        const { payload } = await verifyIdToken(tokens.id_token, 'basic-client', auth.nonce);
        assert.equal(payload.sub, 'alice');
        assert.deepEqual(payload.groups, ['staff', 'admins']);
        const cookies = await chrome.context.cookies(op.issuer);
        assert.ok(cookies.some((c) => c.name === '_session'), 'provider session cookie');
    });
});
