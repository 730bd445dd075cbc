// attacks-rereview.test.mjs: the fixes of the independent review of b9a3905
// (issue 12, SECURITY.md) attacked again the way the review found them:
// another virtual host, other spellings of a key, many copies at once, a
// full table. Each test here failed against the module as it was merged
// (main 7d67b39); see /work/notes/attack-report.md for the whole campaign.
//
//   finding 1  the module's cookies reach the backend of another virtual
//              host (another OAuth2Cookie, or no provider) on the same
//              server: ports do not separate cookies
//   finding 7  back-channel logout misses sessions: a sub "dave#0" writes
//              its index hint over dave's entry 0 ("idx:sub:" + sub + "#n"
//              is ambiguous); concurrent logins on a socache store share
//              an entry (the "add" is a read, then a write)
//   findings 8/9  the shm table with back-channel logout: index entries
//              outlive the sessions they point to and are evicted after
//              them, so one account logging in and out evicts every other
//              user and then loops its own logins; verified bearer tokens
//              evict browser sessions
//              and a cookie session revoked by back-channel logout comes
//              back once bearer tokens evict its revocation record
//   finding 6  (related) an access token bound to a key (RFC 9449 DPoP
//              cnf.jkt, RFC 8705 cnf.x5t#S256) is accepted as a plain
//              bearer token
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProvider } from './lib/provider.mjs';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startRedis } from './lib/redis.mjs';
import { startStack, SECRET } from './lib/stack.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { freePort } from './lib/ports.mjs';

const API = { headers: { Accept: 'application/json' } };
// 40 groups of 85 characters: a cookie session in two chunks (three
// cookies: oauth2_session=~2 and the chunks; 10 groups took that before
// issue 16, and fit in one cookie now), within the budget of Apache's
// default LimitRequestFieldSize.
const BIG_GROUPS = Array.from({ length: 40 }, (_, i) => `group-${String(i).padStart(2, '0')}-${'x'.repeat(76)}`);
const BCL_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const now = () => Math.floor(Date.now() / 1000);

/* The cookie names a backend received (from the echo backend's JSON). */
function cookieNames(r) {
    const c = r.json().headers.cookie ?? '';
    return c.split(/[;,]\s*/).map((p) => p.split('=')[0].trim()).filter(Boolean);
}

describe('finding 1 again: another virtual host\'s backend never gets the module\'s cookies', () => {
    const env = {};
    const href = (site, p) => `http://127.0.0.1:${env.ports[site]}${p}`;
    // The module's cookies of A (shm, oauth2_session) and B (cookie store,
    // admin_session and its chunks), and login states.
    const OURS = /^(oauth2_session(_\d+)?|admin_session(_\d+)?|oauth2_state_.+)$/;

    function site(name, oauth2) {
        return `
Listen 127.0.0.1:${env.ports[name]}
<VirtualHost 127.0.0.1:${env.ports[name]}>
    ServerName 127.0.0.1
    ${oauth2}
    <Location /app>
        ${oauth2 ? 'AuthType oauth2\n        Require valid-user' : 'Require all granted'}
        ProxyPass ${env.backend.url}/app
    </Location>
    <Location /public>
        ProxyPass ${env.backend.url}/public
    </Location>
</VirtualHost>`;
    }

    before(async () => {
        env.ports = { A: await freePort(), B: await freePort(), C: await freePort() };
        env.backend = await startBackend();
        const uris = ['A', 'B'].map((s) => href(s, '/oauth2/callback'));
        env.op = await startProvider({
            accounts: [
                { id: 'alice', email: 'alice@example.com', email_verified: true, groups: ['staff'] },
                { id: 'big', email: 'big@example.com', email_verified: true, groups: BIG_GROUPS },
            ],
            clients: [
                { client_id: 'app', client_secret: 'app-secret', redirect_uris: uris },
                { client_id: 'admin', client_secret: 'admin-secret', redirect_uris: uris },
            ],
        });
        const oauth2 = (client, extra) => `OAuth2Provider ${env.op.issuer}
    OAuth2ClientID ${client}
    OAuth2ClientSecret ${client}-secret
    OAuth2Secret ${SECRET}
    ${extra}`;
        env.apache = await createApache({
            withModule: true,
            logLevel: 'info auth_oauth2:debug',
            config: () => `
${site('A', oauth2('app', 'OAuth2SessionStore shm'))}
${site('B', oauth2('admin', 'OAuth2SessionStore cookie\n    OAuth2Cookie admin_session'))}
${site('C', '')}
`,
        });
        await env.apache.start();
        // One browser, logged in at A and (with a chunked cookie session)
        // at B: it sends both hosts' cookies to every port of 127.0.0.1.
        env.browser = newBrowser();
        assert.equal((await login(env.browser, href('A', '/app/a'))).final.status, 200);
        // (B's login in a browser of its own: the provider would remember alice)
        const big = newBrowser();
        assert.equal((await login(big, href('B', '/app/b'), { username: 'big' })).final.status, 200);
        for (const c of big.cookies(href('B', '/')).filter((x) => x.name.startsWith('admin_session'))) {
            env.browser.setCookie(href('B', '/'), `${c.name}=${c.value}; Path=${c.path}`);
        }
        const names = env.browser.cookies(href('A', '/')).map((c) => c.name);
        assert.ok(names.includes('oauth2_session') && names.includes('admin_session_2'), `set-up: ${names}`);
    });

    after(async () => {
        await env.apache?.stop();
        await env.op?.stop();
        await env.backend?.stop();
    });

    it('strips A\'s session at B and B\'s chunked cookie session at A, on protected and public paths', async () => {
        for (const [s, p] of [['A', '/app/x'], ['A', '/public/x'], ['B', '/app/x'], ['B', '/public/x']]) {
            const r = await env.browser.get(href(s, p), API);
            assert.equal(r.status, 200, `${s}${p}`);
            const leaked = cookieNames(r).filter((n) => OURS.test(n));
            assert.deepEqual(leaked, [], `${s}${p}: the backend got the module's cookies ${leaked}`);
        }
    });

    it('strips them in a virtual host without OAuth2Provider on the same server too', async () => {
        for (const p of ['/public/x', '/app/x']) {
            const r = await env.browser.get(href('C', p), API);
            assert.equal(r.status, 200, `C${p}`);
            const leaked = cookieNames(r).filter((n) => OURS.test(n));
            assert.deepEqual(leaked, [], `C${p}: the backend got the module's cookies ${leaked}`);
        }
    });
});

describe('finding 7 again: back-channel logout finds every session', () => {
    let s;
    let redis;
    let jti = 0;
    before(async () => {
        redis = await startRedis();
        s = await startStack({
            oauth2: `OAuth2SessionStore ${redis.spec}`,
            provider: {
                backchannelLogout: true,
                accounts: [{ id: 'dave' }, { id: 'dave#0' }, { id: 'fred' }, { id: 'greg' }],
            },
            client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
            apache: { modules: ['socache_redis'] },
        });
    });
    after(async () => {
        await s?.stop();
        await redis?.stop();
    });

    /* POSTs a logout token for claims; the number of sessions it ended. */
    async function backchannel(claims) {
        const token = await s.op.signJwt({
            iss: s.op.issuer, aud: 'app', iat: now(), jti: `rereview-${process.pid}-${++jti}`, events: BCL_EVENT, ...claims,
        }, { header: { typ: 'logout+jwt' } });
        const mark = s.apache.mark();
        const r = await request(s.url('/oauth2/backchannel-logout'), {
            method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `logout_token=${token}`,
        });
        assert.equal(r.status, 200);
        const line = await s.apache.waitForLog(/OA2216: back-channel logout of/, { since: mark });
        return Number(/: (\d+) session\(s\)/.exec(line)[1]);
    }
    const userOf = async (b) => {
        const r = await b.get(s.url('/app/who'), API);
        return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
    };

    it('ends dave\'s session although a user whose sub is "dave#0" logged in after it', async () => {
        const dave = newBrowser();
        await login(dave, s.url('/app/d'), { username: 'dave' });
        const other = newBrowser();
        await login(other, s.url('/app/d0'), { username: 'dave#0' });
        assert.equal(await userOf(dave), 'dave');
        // "idx:sub:dave#0" is both dave#0's hint and dave's entry 0.
        assert.equal(await backchannel({ sub: 'dave' }), 1, 'one session of dave ended');
        assert.equal(await userOf(dave), 401, 'dave is logged out');
        assert.equal(await userOf(other), 'dave#0', 'the other user is not');
    });

    it('ends all of 40 sessions whose callbacks arrive at once, twice (socache store)', async () => {
        // 40 logins of one sub, each stopped before its callback, then
        // the 40 callbacks together: their index entries are added at once
        // (two rounds, as the race does not lose an entry every time).
        const report = [];
        for (const sub of ['fred', 'greg']) {
            const prepared = await Promise.all(Array.from({ length: 40 }, async () => {
                const b = newBrowser();
                let callback;
                await login(b, s.url('/app/f'), {
                    username: sub,
                    onRedirect: (url) => (url.includes('/oauth2/callback') ? ((callback = url), false) : undefined),
                });
                assert.ok(callback);
                return { b, callback };
            }));
            const answers = await Promise.all(prepared.map(({ b, callback }) => b.get(callback)));
            assert.deepEqual([...new Set(answers.map((r) => r.status))], [302], 'every login completed');
            for (const { b } of prepared.slice(0, 3)) assert.equal(await userOf(b), sub);
            const ended = await backchannel({ sub });
            const alive = (await Promise.all(prepared.map(({ b }) => userOf(b)))).filter((u) => u === sub).length;
            report.push(`${sub}: ended ${ended}, ${alive} survived`);
        }
        assert.deepEqual(report, ['fred: ended 40, 0 survived', 'greg: ended 40, 0 survived']);
    });
});

/* The oauth2-status page as numbers. */
async function metrics(s) {
    const r = await newBrowser().get(s.url('/store-status'));
    assert.equal(r.status, 200);
    const out = {};
    for (const m of r.body.matchAll(/^(oauth2_[a-z_]+) (\d+)$/gm)) out[m[1]] = Number(m[2]);
    return out;
}
const STATUS = `
<Location /store-status>
    SetHandler oauth2-status
</Location>`;

describe('findings 8 and 9 again: the shm table stays usable with back-channel logout', () => {
    let s;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:128',
            locations: () => STATUS,
            provider: {
                backchannelLogout: true,
                accounts: [{ id: 'mallory' }, ...Array.from({ length: 8 }, (_, i) => ({ id: `user${i}` }))],
            },
            client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
        });
    });
    after(async () => s?.stop());

    it('keeps 8 users logged in, and logins working, while one account logs in and out 60 times', async () => {
        const users = [];
        for (let i = 0; i < 8; i++) {
            const b = newBrowser();
            await login(b, s.url('/app/in'), { username: `user${i}` });
            users.push(b);
        }
        // Each logout removes its session; its back-channel index entries
        // (sid, sid hint, sub) stay for OAuth2SessionMaxAge and expire
        // after every live session, so the table evicts sessions for them.
        for (let i = 0; i < 60; i++) {
            const b = newBrowser();
            const r = await login(b, s.url('/app/m'), { username: 'mallory', maxHops: 12 }).catch((e) => e.result);
            assert.equal(r.final.status, 200, `mallory's login ${i + 1} completes (hops: ${r.hops.map((h) => `${h.status} ${new URL(h.url).pathname}`).join(', ')})`);
            assert.equal((await b.get(s.url('/oauth2/logout?rd=/public/bye'))).status, 302);
        }
        const seen = await Promise.all(users.map(async (b) => {
            const r = await b.get(s.url('/app/who'), API);
            return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
        }));
        assert.deepEqual(seen, users.map((_, i) => `user${i}`), `evicted: ${JSON.stringify(await metrics(s))}`);
    });
});

describe('finding 9 again: verified bearer tokens never evict a browser session', () => {
    let s;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:128\nOAuth2SessionTimeout 1800',
            locations: (st) => `${STATUS}
<Location /api>
    AuthType oauth2
    Require valid-user
    OAuth2AcceptBearer On
    OAuth2BearerAudience app
    ProxyPass ${st.backend.url}/api
</Location>`,
        });
    });
    after(async () => s?.stop());

    it('serves 10 logged-in users after 300 distinct bearer tokens with large claims', async () => {
        const users = [];
        for (let i = 0; i < 10; i++) {
            const b = newBrowser();
            await login(b, s.url('/app/in'));
            users.push(b);
        }
        // Each verified token is cached in the table until it expires: an
        // hour, as access tokens often live, later than the sessions'
        // 30-minute inactivity expiry. A cache entry saves one signature
        // check; a session evicted for it costs its user a login.
        const groups = Array.from({ length: 30 }, (_, i) => `group-${i}-${'y'.repeat(40)}`);
        for (let i = 0; i < 300; i += 10) {
            const rs = await Promise.all(Array.from({ length: 10 }, async (_, j) => {
                const t = await s.op.accessToken({ aud: 'app', sub: `api-${i + j}`, groups, exp: now() + 3600 });
                return (await request(s.url('/api/x'), { headers: { Accept: 'application/json', Authorization: `Bearer ${t}` } })).status;
            }));
            assert.deepEqual([...new Set(rs)], [200]);
        }
        const seen = await Promise.all(users.map(async (b) => (await b.get(s.url('/app/who'), API)).status));
        assert.deepEqual(seen, users.map(() => 200), `sessions evicted: ${JSON.stringify(await metrics(s))}`);
    });
});

describe('finding 7 again: a cookie session ended by back-channel logout stays ended', () => {
    let s;
    before(async () => {
        s = await startStack({
            // A marker table of 64 (shm:64, then cookie: the capacity a
            // server-scope shm:64 gives a cookie-store virtual host too).
            oauth2: 'OAuth2SessionStore shm:64\nOAuth2SessionStore cookie\nOAuth2SessionMaxAge 900',
            provider: { backchannelLogout: true },
            client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
            locations: (st) => `
<Location /api>
    AuthType oauth2
    Require valid-user
    OAuth2AcceptBearer On
    OAuth2BearerAudience app
    ProxyPass ${st.backend.url}/api
</Location>`,
        });
    });
    after(async () => s?.stop());

    it('refuses the revoked cookie session after 128 verified bearer tokens that expire later than its revocation', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/x'));
        const stolen = b.cookieHeader(s.url('/'));
        const statusOf = async () => (await request(s.url('/app/who'), { headers: { Accept: 'application/json', Cookie: stolen } })).status;
        assert.equal(await statusOf(), 200);
        const token = await s.op.signJwt({
            iss: s.op.issuer, aud: 'app', iat: now(), jti: `rereview-cookie-${process.pid}`, sub: 'alice', events: BCL_EVENT,
        }, { header: { typ: 'logout+jwt' } });
        const out = await request(s.url('/oauth2/backchannel-logout'), {
            method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `logout_token=${token}`,
        });
        assert.equal(out.status, 200);
        assert.equal(await statusOf(), 401, 'revoked');
        // The revocation is a record in the shm table until the session's
        // max age (15 minutes here); bearer tokens of an hour are cached
        // there too and outlive it, so the table evicts the revocation.
        for (let i = 0; i < 128; i += 16) {
            await Promise.all(Array.from({ length: 16 }, async (_, j) => {
                const t = await s.op.accessToken({ aud: 'app', sub: `api-${i + j}`, exp: now() + 3600 });
                const r = await request(s.url('/api/x'), { headers: { Accept: 'application/json', Authorization: `Bearer ${t}` } });
                assert.equal(r.status, 200);
            }));
        }
        assert.equal(await statusOf(), 401, 'the revoked cookie session is accepted again');
    });
});

describe('finding 6 again: a token bound to a key is not a bearer token', () => {
    let s;
    before(async () => {
        s = await startStack({
            locations: (st) => `
<Location /api>
    AuthType oauth2
    Require valid-user
    OAuth2AcceptBearer On
    OAuth2BearerAudience app
    ProxyPass ${st.backend.url}/api
</Location>`,
        });
    });
    after(async () => s?.stop());

    it('accepts a plain at+jwt access token (the control)', async () => {
        const t = await s.op.accessToken({ aud: 'app' });
        const r = await request(s.url('/api/x'), { headers: { Accept: 'application/json', Authorization: `Bearer ${t}` } });
        assert.equal(r.status, 200);
    });

    it('refuses DPoP-bound (cnf.jkt) and certificate-bound (cnf.x5t#S256) access tokens sent as Bearer', async () => {
        // RFC 9449 §7.1 and RFC 8705 §3: whoever holds such a token without
        // the key (a stolen token) must not be able to use it.
        for (const cnf of [{ jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' }, { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }]) {
            const t = await s.op.accessToken({ aud: 'app', cnf });
            const r = await request(s.url('/api/x'), { headers: { Accept: 'application/json', Authorization: `Bearer ${t}` } });
            assert.equal(r.status, 401, `cnf ${Object.keys(cnf)[0]}`);
            assert.doesNotMatch(r.body, /"rawHeaders"/);
        }
    });
});
