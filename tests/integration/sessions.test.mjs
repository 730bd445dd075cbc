// sessions.test.mjs: sessions that scale out and survive (issue 4): the
// socache stores (real redis-server and memcached) shared by two Apache
// instances, cookie sessions, lifetimes, refresh, logout (local,
// RP-initiated, back-channel), restarts and secret rotation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProvider } from './lib/provider.mjs';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startRedis, startMemcached, startLink } from './lib/redis.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { freePort } from './lib/ports.mjs';
import { SECRET } from './lib/stack.mjs';

const SECRET_B = 'second-secret-abcdefghijklmnopqrstuvwxyz0123456789';
const API = { headers: { Accept: 'application/json' } };

/* Shared by the whole file: one provider (refresh tokens and back-channel
 * logout on), one backend; Apache instances per describe. */
let op;
let backend;
const ports = [];
before(async () => {
    for (let i = 0; i < 10; i++) ports.push(await freePort());
    backend = await startBackend();
    op = await startProvider({
        refreshTokens: true,
        backchannelLogout: true,
        ttl: { AccessToken: 3 },
        accounts: [
            { id: 'alice', email: 'alice@example.com', email_verified: true, groups: ['staff'] },
            // 40 groups of 120 characters: a cookie session of two chunks
            { id: 'big', email: 'big@example.com', email_verified: true, groups: Array.from({ length: 40 }, (_, i) => `group-number-${String(i).padStart(2, '0')}-with-a-long-name-${'x'.repeat(85)}`) },
        ],
        clients: [{
            client_id: 'app',
            client_secret: 'app-secret',
            redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/oauth2/callback`),
            post_logout_redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/`),
            grant_types: ['authorization_code', 'refresh_token'],
            backchannel_logout_uri: `http://127.0.0.1:${ports[0]}/oauth2/backchannel-logout`,
        }],
    });
});
after(async () => {
    await op?.stop();
    await backend?.stop();
});

function config({ store = 'shm', secrets = [SECRET], extra = '', passToken = true } = {}) {
    return `
OAuth2Provider ${op.issuer}
OAuth2ClientID app
OAuth2ClientSecret app-secret
OAuth2Secret ${secrets.join(' ')}
OAuth2SessionStore ${store}
${extra}
<Location /app>
    AuthType oauth2
    Require valid-user
    OAuth2PassAccessToken ${passToken ? 'On' : 'Off'}
    ProxyPass ${backend.url}/app
</Location>
<Location /status>
    SetHandler oauth2-status
</Location>
`;
}

async function instance(port, opts = {}, apacheOpts = {}) {
    const a = await createApache({
        withModule: true,
        port,
        modules: ['socache_redis', 'socache_memcache', 'socache_shmcb'],
        logLevel: 'info auth_oauth2:debug',
        config: () => config(opts),
        ...apacheOpts,
    });
    await a.start();
    return a;
}

async function loggedIn(b, a, path = '/app/check') {
    const r = await b.get(a.href(path), API);
    return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
}

describe('redis store shared by two hosts', () => {
    let redis;
    let A;
    let B;
    before(async () => {
        redis = await startRedis();
        A = await instance(ports[1], { store: redis.spec });
        B = await instance(ports[2], { store: redis.spec });
    });
    after(async () => {
        await A?.stop();
        await B?.stop();
        await redis?.stop();
    });

    it('logs in on one host and uses the session on the other', async () => {
        const b = newBrowser();
        const res = await login(b, A.href('/app/one'));
        assert.equal(res.final.json().headers['x-forwarded-user'], 'alice');
        assert.equal(await loggedIn(b, B), 'alice');
    });

    it('logs out on one host and is rejected on the other', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/one'));
        const sid = b.cookie('oauth2_session', A.href('/'));
        const out = await b.get(B.href('/oauth2/logout?rd=/'));
        assert.equal(out.status, 302);
        assert.equal(await loggedIn(b, A), 401);
        const replay = newBrowser();
        replay.setCookie(A.href('/'), `oauth2_session=${sid}; Path=/`);
        assert.equal(await loggedIn(replay, A), 401, 'the old cookie names no session');
    });

    it('keeps records sealed: a store dump reveals no token, email or session id', async () => {
        const b = newBrowser();
        const res = await login(b, A.href('/app/dump'));
        const token = res.final.json().headers['x-forwarded-access-token'];
        assert.ok(token, 'an access token exists');
        const sid = b.cookie('oauth2_session', A.href('/'));
        const keys = await redis.command('KEYS', '*');
        assert.ok(keys.length > 0);
        for (const k of keys) {
            const v = await redis.command('GET', k);
            const text = Buffer.from(v ?? '', 'latin1').toString('latin1');
            for (const secret of [token, 'alice@example.com', sid]) {
                assert.ok(!text.includes(secret) && !k.includes(secret), `store entry ${k} contains a secret`);
            }
        }
    });

    it('writes the sliding expiry back at most once per interval, not per request', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/slide'));
        const stats = async () => Number((await redis.command('INFO', 'commandstats')).match(/cmdstat_set(ex)?:calls=(\d+)/)?.[2] ?? 0);
        const before = await stats();
        for (let i = 0; i < 20; i++) assert.equal(await loggedIn(b, A), 'alice');
        assert.ok((await stats()) - before <= 1, 'ordinary requests do not write the store');
    });

    it('answers 503 while the store is down and recovers when it is back', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/down'));
        const port = redis.port;
        await redis.stop();
        const mark = A.mark();
        const r = await b.get(A.href('/app/down'), API);
        assert.equal(r.status, 503);
        await A.waitForLog(/OA2110: session store redis:.* read failed/, { since: mark });
        assert.equal((await request(A.href('/public-not-protected'))).status, 404, 'Apache keeps serving');
        redis = await startRedis({ port });
        // apr_redis marks a server dead on a failure and tries it again
        // every 5 s, on a pooled connection that may be as stale as the
        // first: recovery can take a few of those rounds.
        const deadline = Date.now() + 45000;
        let status = 503;
        while (Date.now() < deadline && status === 503) {
            status = (await b.get(A.href('/app/down'), API)).status;
            if (status === 503) await sleep(250);
        }
        assert.equal(status, 401, 'with the store back (and empty), no more 503: a fresh login');
        // Each Apache child recovers on its own (its own client and pooled
        // connections): a login may meet one that has not yet.
        const again = newBrowser();
        for (;;) {
            const res = await login(again, A.href('/app/back')).catch((e) => ({ error: e }));
            if (res.final?.status === 200) break;
            assert.ok(Date.now() < deadline, `a login on A after the restart: ${res.error?.message ?? res.final?.status}`);
            await sleep(250);
        }
        let user;
        while (Date.now() < deadline + 30000 && user !== 'alice') {
            user = await loggedIn(again, B);
            if (user !== 'alice') await sleep(250);
        }
        assert.equal(user, 'alice', 'the other host reconnects too');
    });

    it('answers 503, never 401, while its store client thinks the server dead, and recovers', async () => {
        // C reaches the same redis through a link the test cuts. apr_redis
        // then marks the server dead, answers "not found" without asking,
        // and pings it every 5 s (failing while the link is cut): for as
        // long as that lasts a session that exists must not be taken for
        // a missing one (a 401, or a logout that removed nothing).
        const link = await startLink(redis.port);
        const C = await instance(ports[9], { store: link.spec('redis') });
        try {
            // Logged in on C itself: C is new, its connections are not stale.
            const b = newBrowser();
            await login(b, C.href('/app/partition'));
            assert.equal(await loggedIn(b, C), 'alice', 'C before the cut');
            link.cut();
            const seen = [];
            const until = Date.now() + 9000; // past any fixed grace period
            while (Date.now() < until) {
                seen.push(await loggedIn(b, C));
                await sleep(300);
            }
            assert.deepEqual([...new Set(seen)], [503], `C while cut: ${seen.join(' ')}`);
            assert.match(C.errorLog(), /OA2110: session store redis:.* read failed/);
            link.mend();
            let user;
            const deadline = Date.now() + 30000;
            while (Date.now() < deadline && user !== 'alice') {
                user = await loggedIn(b, C);
                seen.push(user);
                if (user !== 'alice') await sleep(250);
            }
            assert.equal(user, 'alice', `C after the link is back: ${seen.join(' ')}`);
            assert.ok(!seen.includes(401), `never a 401 for a live session: ${seen.join(' ')}`);
        } finally {
            await C.stop();
            await link.stop();
        }
    });
});

describe('memcache and shmcb stores', () => {
    let mc;
    let A;
    let B;
    let C;
    before(async () => {
        mc = await startMemcached();
        A = await instance(ports[3], { store: mc.spec });
        B = await instance(ports[4], { store: mc.spec });
    });
    after(async () => {
        await A?.stop();
        await B?.stop();
        await C?.stop();
        await mc?.stop();
    });

    it('shares a memcache session between two hosts, and logout ends it on both', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/mc'));
        assert.equal(await loggedIn(b, B), 'alice');
        await b.get(A.href('/oauth2/logout?rd=/'));
        assert.equal(await loggedIn(b, B), 401);
    });

    it('keeps sessions in a shmcb socache', async () => {
        C = await instance(ports[5], { store: 'shmcb:logs/oauth2-shmcb(1048576)' });
        const b = newBrowser();
        await login(b, C.href('/app/shmcb'));
        assert.equal(await loggedIn(b, C), 'alice');
    });
});

describe('cookie sessions', () => {
    let A;
    before(async () => {
        // Browsers send all cookies in one header: sessions in cookies need
        // a larger LimitRequestFieldSize than Apache's default 8190 bytes.
        A = await instance(ports[6], { store: 'cookie', extra: 'LimitRequestFieldSize 16384' });
    });
    after(async () => A?.stop());

    it('seals the whole session into the browser and needs no store', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/c'));
        assert.equal(await loggedIn(b, A), 'alice');
        const value = b.cookie('oauth2_session', A.href('/'));
        assert.ok(value.length > 100, 'the cookie holds the sealed session');
        assert.ok(!value.includes('alice'), 'and reveals nothing');
    });

    it('splits a large session into chunks under 4 KB and joins them', async () => {
        const b = newBrowser();
        const res = await login(b, A.href('/app/big'), { username: 'big' });
        assert.equal(res.final.status, 200);
        const cookies = b.cookies(A.href('/')).filter((c) => c.name.startsWith('oauth2_session'));
        assert.ok(cookies.length > 2, `chunked into ${cookies.length} cookies`);
        assert.match(b.cookie('oauth2_session', A.href('/')), /^~\d+$/);
        for (const c of res.callback.setCookie) assert.ok(c.length < 4096, 'each Set-Cookie under 4 KB');
        assert.equal(await loggedIn(b, A), 'big');
    });

    it('refuses a forged chunk count, a missing chunk, and a tampered chunk', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/big'), { username: 'big' });
        const forged = newBrowser();
        for (const c of b.cookies(A.href('/'))) forged.setCookie(A.href('/'), `${c.name}=${c.value}; Path=/`);
        forged.setCookie(A.href('/'), 'oauth2_session=~99999999; Path=/');
        assert.equal(await loggedIn(forged, A), 401);
        forged.setCookie(A.href('/'), 'oauth2_session=~17; Path=/');
        assert.equal(await loggedIn(forged, A), 401);
        const missing = newBrowser();
        for (const c of b.cookies(A.href('/')).filter((x) => x.name !== 'oauth2_session_2')) missing.setCookie(A.href('/'), `${c.name}=${c.value}; Path=/`);
        assert.equal(await loggedIn(missing, A), 401);
        const tampered = newBrowser();
        for (const c of b.cookies(A.href('/'))) {
            const v = c.name === 'oauth2_session_1' ? (c.value[5] === 'A' ? 'B' : 'A') + c.value.slice(1) : c.value;
            tampered.setCookie(A.href('/'), `${c.name}=${c.value.slice(0, 5)}${v.slice(5)}; Path=/`);
        }
        // One character changed, always to another one (a fixed 'Z' left
        // the value as it was one run in 64).
        const chunk1 = b.cookie('oauth2_session_1', A.href('/'));
        const flipped = `${chunk1.slice(0, 10)}${chunk1[10] === 'Z' ? 'Y' : 'Z'}${chunk1.slice(11)}`;
        tampered.setCookie(A.href('/'), `oauth2_session_1=${flipped}; Path=/`);
        assert.equal(await loggedIn(tampered, A), 401);
        assert.equal(await loggedIn(b, A), 'big', 'the genuine browser still works');
    });

    it('logs out by clearing every chunk', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/big'), { username: 'big' });
        const r = await b.get(A.href('/oauth2/logout?rd=/'));
        assert.equal(r.status, 302);
        assert.equal(b.cookies(A.href('/')).filter((c) => c.name.startsWith('oauth2_session')).length, 0);
    });
});

describe('lifetimes, refresh and back-channel logout (shm)', () => {
    let A;
    before(async () => {
        A = await instance(ports[0], { extra: 'OAuth2SessionTimeout 3\nOAuth2SessionMaxAge 8' });
    });
    after(async () => A?.stop());

    it('ends an idle session after the timeout with a fresh login back to the same URL', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/idle'));
        await sleep(3500);
        const r = await b.get(A.href('/app/idle?again=1'));
        assert.equal(r.status, 302);
        assert.ok(r.headers.location.startsWith(op.issuer));
        const again = await login(b, A.href('/app/idle?again=1'));
        assert.equal(again.final.json().url, '/app/idle?again=1');
    });

    it('slides the inactivity timeout while requests keep coming, up to the max age', async () => {
        const b = newBrowser();
        const started = Date.now();
        await login(b, A.href('/app/active'));
        // Requests 1 s apart keep a 3 s inactivity timeout from ending the
        // session, up to the 8 s max age: timed from before the login, so
        // a slow machine never turns "still logged in" into a max-age end.
        let latest = 0;
        while (Date.now() - started < 6000) {
            await sleep(1000);
            const asked = Date.now();
            const who = await loggedIn(b, A);
            if (asked - started < 7500) {
                assert.equal(who, 'alice', `still logged in after ${asked - started} ms`);
                latest = asked - started;
            }
        }
        // Served well past one 3 s timeout: the expiry slid.
        assert.ok(latest > 4500, `the last request within the max age came at ${latest} ms`);
        await sleep(Math.max(0, started + 9500 - Date.now()));
        assert.equal(await loggedIn(b, A), 401, 'the max age ends the session');
    });

    it('sends logout to the provider with the ID token hint', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/rp'));
        const r = await b.get(A.href('/oauth2/logout?rd=/'));
        const to = new URL(r.headers.location);
        assert.equal(to.origin + to.pathname, op.metadata.end_session_endpoint);
        assert.ok(to.searchParams.get('id_token_hint'));
        assert.equal(to.searchParams.get('post_logout_redirect_uri'), A.href('/'));
        assert.equal(await loggedIn(b, A), 401);
    });

    it('removes a session another browser holds on back-channel logout', async () => {
        const b = newBrowser();
        await login(b, A.href('/app/bcl'));
        assert.equal(await loggedIn(b, A), 'alice');
        const mark = A.mark();
        await op.sendBackchannelLogout({ sub: 'alice' });
        await A.waitForLog(/OA2216: back-channel logout of (sid|sub)/, { since: mark });
        assert.equal(await loggedIn(b, A), 401);
    });

    it('refuses malformed, foreign and replayed logout tokens', async () => {
        const url = A.href('/oauth2/backchannel-logout');
        const post = (body, ct = 'application/x-www-form-urlencoded') => request(url, { method: 'POST', headers: { 'Content-Type': ct }, body });
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: op.issuer, aud: 'app', iat: now, jti: `j-${now}`, sub: 'alice', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } };
        const good = await op.signJwt(claims, { header: { typ: 'logout+jwt' } });
        assert.equal((await post(`logout_token=${good}`)).status, 200);
        assert.equal((await post(`logout_token=${good}`)).status, 400, 'jti replay');
        assert.equal((await post('logout_token=abc')).status, 400);
        assert.equal((await post('x=1')).status, 400);
        assert.equal((await post(`logout_token=${good}`, 'text/plain')).status, 400);
        const foreign = await op.signJwt({ ...claims, jti: 'f1' }, { foreign: true });
        assert.equal((await post(`logout_token=${foreign}`)).status, 400);
        const withNonce = await op.signJwt({ ...claims, jti: 'n1', nonce: 'x' });
        assert.equal((await post(`logout_token=${withNonce}`)).status, 400);
        const noEvent = await op.signJwt({ ...claims, jti: 'e1', events: {} });
        assert.equal((await post(`logout_token=${noEvent}`)).status, 400);
        const wrongAud = await op.signJwt({ ...claims, jti: 'a1', aud: 'other' });
        assert.equal((await post(`logout_token=${wrongAud}`)).status, 400);
        assert.equal((await request(url)).status, 405, 'GET is not allowed');
    });
});

describe('refresh (shm)', () => {
    let R;
    before(async () => {
        R = await instance(ports[8]);
    });
    after(async () => R?.stop());

    it('refreshes an expired access token once, even for concurrent requests', async () => {
        const b = newBrowser();
        const res = await login(b, R.href('/app/refresh'));
        const first = res.final.json().headers['x-forwarded-access-token'];
        await sleep(3200);
        op.resetCounts();
        const all = await Promise.all([1, 2, 3].map((i) => b.get(R.href(`/app/refresh/${i}`), API)));
        for (const r of all) assert.equal(r.status, 200);
        const tokens = new Set(all.map((r) => r.json().headers['x-forwarded-access-token']));
        assert.equal(tokens.size, 1, 'every request got the one new token');
        assert.ok(!tokens.has(first), 'the token changed');
        assert.equal(op.counts.token, 1, 'one refresh at the token endpoint');
    });

    it('ends the session cleanly when the refresh fails', async () => {
        const b = newBrowser();
        await login(b, R.href('/app/refail'));
        await sleep(3200);
        op.fail('token', { mode: 'body', status: 400, body: { error: 'invalid_grant' }, times: 1 });
        const mark = R.mark();
        const r = await b.get(R.href('/app/refail'), API);
        assert.equal(r.status, 401);
        await R.waitForLog(/OA2120/, { since: mark });
        assert.equal(await loggedIn(b, R), 401);
    });

});

describe('restarts and secret rotation', () => {
    let A;
    after(async () => A?.stop());

    it('keeps shm sessions across a graceful restart and a restart', async () => {
        A = await instance(ports[7]);
        const b = newBrowser();
        await login(b, A.href('/app/restart'));
        await A.graceful();
        assert.equal(await loggedIn(b, A), 'alice', 'after apachectl -k graceful');
        await A.restart();
        assert.equal(await loggedIn(b, A), 'alice', 'after apachectl -k restart');
        await A.stop();
        await A.start();
        assert.equal(await loggedIn(b, A), 401, 'a full stop loses shm sessions');
        await A.stop();
    });

    it('opens sessions sealed under the old secret and seals new ones under the first', async () => {
        let secrets = [SECRET];
        A = await createApache({
            withModule: true,
            port: ports[7],
            logLevel: 'info auth_oauth2:debug',
            config: () => config({ store: 'cookie', secrets, passToken: false }),
        });
        await A.start();
        const old = newBrowser();
        await login(old, A.href('/app/rot'));
        secrets = [SECRET_B, SECRET];
        await A.graceful();
        assert.equal(await loggedIn(old, A), 'alice', 'old session opens after rotation');
        const fresh = newBrowser();
        await login(fresh, A.href('/app/rot'));
        secrets = [SECRET_B];
        await A.graceful();
        assert.equal(await loggedIn(fresh, A), 'alice', 'the new session was sealed under the new secret');
        assert.equal(await loggedIn(old, A), 401, 'the old secret is gone');
    });
});
