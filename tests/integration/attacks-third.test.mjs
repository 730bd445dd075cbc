// attacks-third.test.mjs: the re-review fixes A-G (SECURITY.md, "The fixes
// attacked again", main e1d8af2) attacked a third time: a full table,
// many copies of one key, another virtual host, concurrency. Each test
// named after a finding fails against e1d8af2; see
// /work/notes/attack3-report.md for the whole campaign.
//
//   finding H  a flood of back-channel logouts of cookie sessions (one
//              pinned revocation per sid, which nothing evicts) fills the
//              shm table: the revocation of a stolen cookie is then
//              dropped silently (200 to the provider, "1 session(s)"),
//              and the server's shm sessions are evicted and logins fail
//   finding I  back-channel logout misses a session of a user who has
//              more than OAUTH2_INDEX_PROBES (256) index entries: the
//              257th session is created anyway (OA2113 is a warning);
//              on a socache store ended sessions keep their entries, so
//              256 logins and logouts are enough
//   finding J  the logout walk stops after 64 absent numbers: entries of
//              older sessions that expired leave a gap before a newer
//              session's entry, which the walk never reaches
//   finding K  two virtual hosts of one server with the same scope and
//              one socache store each take their own "add" mutex: their
//              concurrent index adds share numbers and sessions survive
//              the logout (fix C holds within one virtual host only)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from './lib/redis.mjs';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { freePort } from './lib/ports.mjs';

const API = { headers: { Accept: 'application/json' } };
const BCL_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const now = () => Math.floor(Date.now() / 1000);
let jti = 0;

/* Runs fn(i) for i < n, at most width at a time; the results in order. */
async function pool(n, width, fn) {
    const out = new Array(n);
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
        while (next < n) {
            const i = next++;
            out[i] = await fn(i);
        }
    }));
    return out;
}

/* A logout token for claims, signed by the provider, POSTed to url; the
 * HTTP status. */
async function postLogout(s, url, claims) {
    const token = await s.op.signJwt({
        iss: s.op.issuer, aud: 'app', iat: now(), jti: `third-${process.pid}-${++jti}`, events: BCL_EVENT, ...claims,
    }, { header: { typ: 'logout+jwt' } });
    const r = await request(url, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `logout_token=${token}`,
    });
    return r.status;
}

/* The number of sessions a back-channel logout for claims ended (its
 * OA2216 line). */
async function backchannel(s, claims, url = s.url('/oauth2/backchannel-logout')) {
    const mark = s.apache.mark();
    assert.equal(await postLogout(s, url, claims), 200);
    const line = await s.apache.waitForLog(/OA2216: back-channel logout of/, { since: mark });
    return Number(/: (\d+) session\(s\)/.exec(line)[1]);
}

const userOf = async (b, url) => {
    const r = await b.get(url, API);
    return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
};

const STATUS = `
<Location /store-status>
    SetHandler oauth2-status
</Location>`;

async function metrics(url) {
    const r = await newBrowser().get(url);
    const out = {};
    for (const m of r.body.matchAll(/^(oauth2_[a-z_]+) (\d+)$/gm)) out[m[1]] = Number(m[2]);
    return out;
}

describe('finding H: revocations of cookie sessions are pinned in the shm table, which a flood fills', () => {
    // The main server keeps cookie sessions (revocations in the shm table,
    // shm:64 from the server scope as in attacks-rereview); a virtual host
    // of the same server keeps its sessions in that table (OAuth2Cookie
    // of its own, so one browser can hold both).
    let s;
    let vport;
    const vhref = (p) => `http://127.0.0.1:${vport}${p}`;
    const victim = {};
    const users = [];
    before(async () => {
        const port = await freePort();
        vport = await freePort();
        s = await startStack({
            apache: { port },
            oauth2: 'OAuth2SessionStore shm:64\nOAuth2SessionStore cookie\nOAuth2SessionMaxAge 900',
            provider: {
                backchannelLogout: true,
                accounts: [{ id: 'alice' }, ...Array.from({ length: 8 }, (_, i) => ({ id: `user${i}` }))],
            },
            client: {
                backchannel_logout_uri: 'http://127.0.0.1:9/unused',
                redirect_uris: [`http://127.0.0.1:${port}/oauth2/callback`, `http://127.0.0.1:${vport}/oauth2/callback`],
            },
            locations: () => `${STATUS}
Listen 127.0.0.1:${vport}
<VirtualHost 127.0.0.1:${vport}>
    ServerName 127.0.0.1
    OAuth2SessionStore shm:64
    OAuth2Cookie shm_session
</VirtualHost>`,
        });
        // The victim's cookie session, which an attacker has copied.
        const b = newBrowser();
        await login(b, s.url('/app/x'));
        victim.stolen = b.cookieHeader(s.url('/'));
        victim.status = async () => (await request(s.url('/app/who'), { headers: { Accept: 'application/json', Cookie: victim.stolen } })).status;
        assert.equal(await victim.status(), 200);
        for (let i = 0; i < 8; i++) {
            const u = newBrowser();
            assert.equal((await login(u, vhref('/app/in'), { username: `user${i}` })).final.status, 200);
            users.push(u);
        }
    });
    after(async () => s?.stop());

    it('still revokes a stolen cookie session after 200 back-channel logouts of other sessions (finding H)', async () => {
        // One account logging in and out at the provider 200 times: each
        // provider session has a sid of its own, each logout token a
        // pinned revocation "revoked-sid:<sid>" for OAuth2SessionMaxAge.
        const statuses = await pool(200, 10, (i) => postLogout(s, s.url('/oauth2/backchannel-logout'), { sub: 'mallory', sid: `mallory-sid-${i}` }));
        assert.deepEqual([...new Set(statuses)], [200]);
        const mark = s.apache.mark();
        assert.equal(await postLogout(s, s.url('/oauth2/backchannel-logout'), { sub: 'alice' }), 200);
        await s.apache.waitForLog(/OA2216: back-channel logout of sub alice/, { since: mark });
        assert.equal(await victim.status(), 401, `the stolen cookie session still works after its back-channel logout; ${JSON.stringify(await metrics(s.url('/store-status')))}`);
    });

    it('keeps the shm sessions of the other virtual host, and its logins working, after the flood (finding H)', async () => {
        const seen = await Promise.all(users.map((u) => userOf(u, vhref('/app/who'))));
        const b = newBrowser();
        const r = await login(b, vhref('/app/new'), { username: 'user0' }).catch((e) => e.result ?? { final: { status: String(e) } });
        assert.deepEqual({ seen, newLogin: r.final.status },
            { seen: users.map((_, i) => `user${i}`), newLogin: 200 },
            `${JSON.stringify(await metrics(s.url('/store-status')))}`);
    });
});

describe('finding I: a user with more than 256 sessions escapes back-channel logout', () => {
    describe('shm store: 257 live sessions', () => {
        let s;
        before(async () => {
            s = await startStack({
                provider: { backchannelLogout: true, accounts: [{ id: 'mallory' }, { id: 'alice' }] },
                client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
            });
        });
        after(async () => s?.stop());

        it('ends all 257 sessions of one sub (finding I, shm)', async () => {
            const browsers = await pool(257, 8, async () => {
                const b = newBrowser();
                assert.equal((await login(b, s.url('/app/m'), { username: 'mallory' })).final.status, 200);
                return b;
            });
            const ended = await backchannel(s, { sub: 'mallory' });
            const alive = (await pool(257, 8, (i) => userOf(browsers[i], s.url('/app/who')))).filter((u) => u === 'mallory').length;
            assert.deepEqual({ ended, alive }, { ended: 257, alive: 0 }, 'sessions survived the back-channel logout of their sub');
        });
    });

    describe('socache store: 256 ended sessions, then one more', () => {
        let s;
        let redis;
        before(async () => {
            redis = await startRedis();
            s = await startStack({
                oauth2: `OAuth2SessionStore ${redis.spec}`,
                provider: { backchannelLogout: true, accounts: [{ id: 'mallory' }] },
                client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
                apache: { modules: ['socache_redis'] },
            });
        });
        after(async () => {
            await s?.stop();
            await redis?.stop();
        });

        it('ends the one live session of a user who logged in and out 256 times before (finding I, socache)', async () => {
            // Each login and local logout leaves the session's index entry
            // in the cache until OAuth2SessionMaxAge (8 hours).
            await pool(256, 8, async () => {
                const b = newBrowser();
                assert.equal((await login(b, s.url('/app/m'), { username: 'mallory' })).final.status, 200);
                assert.equal((await b.get(s.url('/oauth2/logout?rd=/public/bye'))).status, 302);
            });
            const kept = newBrowser();
            assert.equal((await login(kept, s.url('/app/m'), { username: 'mallory' })).final.status, 200);
            const ended = await backchannel(s, { sub: 'mallory' });
            assert.deepEqual({ ended, kept: await userOf(kept, s.url('/app/who')) }, { ended: 1, kept: 401 },
                'the live session survived the back-channel logout of its sub');
        });
    });
});

describe('finding J: the logout walk stops at a gap of 64 expired entries', () => {
    let s;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionMaxAge 45',
            provider: { backchannelLogout: true, accounts: [{ id: 'mallory' }] },
            client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
        });
    });
    after(async () => s?.stop());

    it('ends a session whose index number comes after 65 expired ones (finding J)', async () => {
        // 65 sessions now (numbers 0..64), one more once they are all in
        // (number 65); when the 65 reach their max age the newer one has
        // most of its life left, and numbers 0..64 are gone.
        await pool(65, 8, async () => {
            const b = newBrowser();
            assert.equal((await login(b, s.url('/app/m'), { username: 'mallory' })).final.status, 200);
        });
        const batchEnd = Date.now();
        await new Promise((r) => setTimeout(r, 15000));
        const late = newBrowser();
        assert.equal((await login(late, s.url('/app/m'), { username: 'mallory' })).final.status, 200);
        const lateAt = Date.now();
        // Wait until the first 65 are past their max age (45 s).
        await new Promise((r) => setTimeout(r, Math.max(0, batchEnd + 47000 - Date.now())));
        assert.ok(Date.now() < lateAt + 43000, 'the late session is still within its max age');
        assert.equal(await userOf(late, s.url('/app/who')), 'mallory');
        const ended = await backchannel(s, { sub: 'mallory' });
        assert.deepEqual({ ended, late: await userOf(late, s.url('/app/who')) }, { ended: 1, late: 401 },
            'the newer session survived the back-channel logout of its sub');
    });
});

describe('finding K: two virtual hosts sharing one socache store race on the index', () => {
    // Rounds: the race loses an entry in some rounds only.
    const SUBS = ['fred', 'greg', 'hank', 'ivan', 'jack', 'kurt'];
    let s;
    let redis;
    let vport;
    const vhref = (p) => `http://127.0.0.1:${vport}${p}`;
    before(async () => {
        redis = await startRedis();
        const port = await freePort();
        vport = await freePort();
        // The same site on two ports (say http and https, or two names of
        // one application): the same provider, client, claims and cookie
        // name, hence the same scope; one Redis.
        s = await startStack({
            apache: { port, modules: ['socache_redis'] },
            oauth2: `OAuth2SessionStore ${redis.spec}`,
            provider: { backchannelLogout: true, accounts: SUBS.map((id) => ({ id })) },
            client: {
                backchannel_logout_uri: 'http://127.0.0.1:9/unused',
                redirect_uris: [`http://127.0.0.1:${port}/oauth2/callback`, `http://127.0.0.1:${vport}/oauth2/callback`],
            },
            locations: () => `
Listen 127.0.0.1:${vport}
<VirtualHost 127.0.0.1:${vport}>
    ServerName 127.0.0.1
    OAuth2SessionStore ${redis.spec}
</VirtualHost>`,
        });
    });
    after(async () => {
        await s?.stop();
        await redis?.stop();
    });

    /* Six rounds of 40 logins of one sub whose callbacks arrive at once,
     * at the hosts hostOf(i) gives; what each back-channel logout left. */
    async function rounds(hostOf) {
        const report = [];
        for (const sub of SUBS) {
            const prepared = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
                const b = newBrowser();
                const href = hostOf(i);
                let callback;
                await login(b, href('/app/f'), {
                    username: sub,
                    onRedirect: (url) => (url.includes('/oauth2/callback') ? ((callback = url), false) : undefined),
                });
                assert.ok(callback);
                return { b, callback, href };
            }));
            const answers = await Promise.all(prepared.map(({ b, callback }) => b.get(callback)));
            assert.deepEqual([...new Set(answers.map((r) => r.status))], [302], 'every login completed');
            for (const { b, href } of prepared.slice(0, 4)) assert.equal(await userOf(b, href('/app/who')), sub);
            const ended = await backchannel(s, { sub });
            const alive = (await Promise.all(prepared.map(({ b, href }) => userOf(b, href('/app/who'))))).filter((u) => u === sub).length;
            report.push(`${sub}: ended ${ended}, ${alive} survived`);
        }
        return report;
    }

    it('(control) ends all of 40 sessions whose callbacks arrive at once at one virtual host, six times', async () => {
        assert.deepEqual(await rounds(() => s.url), SUBS.map((sub) => `${sub}: ended 40, 0 survived`));
    });

    it('ends all of 40 sessions whose callbacks arrive at once at two virtual hosts, six times (finding K)', async () => {
        assert.deepEqual(await rounds((i) => (i % 2 ? vhref : s.url)), SUBS.map((sub) => `${sub}: ended 40, 0 survived`));
    });
});

describe('finding L: in a full shm table new index entries evict the oldest live ones', () => {
    // shm:64 holds 64 sessions; its link pool of 128 holds their 2 index
    // entries each, so once the table is full every new session's entries
    // push out live ones: those expiring first, i.e. of the oldest session
    // (entries expire at the max age, sessions slide). A session kept in
    // use stays in the table but loses its index entries.
    let s;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:64\nOAuth2SessionTimeout 20',
            locations: () => STATUS,
            provider: { backchannelLogout: true, accounts: [{ id: 'alice' }, { id: 'bob' }] },
            client: { backchannel_logout_uri: 'http://127.0.0.1:9/unused' },
        });
    });
    after(async () => s?.stop());

    it('ends a session in use after another account logged in 150 times (finding L)', async () => {
        const x = newBrowser();
        assert.equal((await login(x, s.url('/app/x'))).final.status, 200);
        let flooding = true;
        const keepAlive = (async () => {
            while (flooding) {
                await x.get(s.url('/app/who'), API);
                await new Promise((r) => setTimeout(r, 300));
            }
        })();
        // About 6 logins a second: the table fills (its 64 sessions are
        // younger than the 20 s timeout), and the 31 other sessions of a
        // window always include some that slid less recently than alice's.
        await pool(150, 1, async () => {
            const b = newBrowser();
            assert.equal((await login(b, s.url('/app/b'), { username: 'bob' })).final.status, 200);
            await new Promise((r) => setTimeout(r, 120));
        });
        flooding = false;
        await keepAlive;
        assert.equal(await userOf(x, s.url('/app/who')), 'alice', 'set-up: the session in use stayed in the table');
        const m = await metrics(s.url('/store-status'));
        const ended = await backchannel(s, { sub: 'alice' });
        assert.deepEqual({ ended, x: await userOf(x, s.url('/app/who')) }, { ended: 1, x: 401 },
            `alice's session survived the back-channel logout of her sub; ${JSON.stringify(m)}`);
    });
});

describe('held: fix A (every virtual host strips every host\'s cookies) under other spellings', () => {
    // A: shm, oauth2_session; B: cookie store, admin_session; C: no
    // provider. Crafted copies of B's and A's names, on A's authenticated
    // way (check_authn took A's own cookie out already), A's public way,
    // and C.
    const env = {};
    const href = (site, p) => `http://127.0.0.1:${env.ports[site]}${p}`;
    const OURS = /^(oauth2_session(_\d+)?|admin_session(_\d+)?|oauth2_state_.+)$/;
    const SPELLINGS = [
        'admin_session=v1; admin_session=v2; admin_session=v3; admin_session=v4; admin_session=v5; admin_session=v6',
        'x=1, admin_session=v',
        'x=1,admin_session_1=v',
        'admin_session = v',
        'admin_session="v"',
        'admin_session_007=v',
        'oauth2_state_abc=v',
        '  admin_session=v  ',
        '=x, admin_session=v',
        'a=b, oauth2_session=v, admin_session=w',
        'admin_session=v,oauth2_session=w',
        'oauth2_session_1=v; admin_session_2=w; x=1',
        'x=1;admin_session=v;;;admin_session_3=w',
    ];

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
        const { startProvider } = await import('./lib/provider.mjs');
        const { createApache } = await import('./lib/apache.mjs');
        const { startBackend } = await import('./lib/backend.mjs');
        const { SECRET } = await import('./lib/stack.mjs');
        env.ports = { A: await freePort(), B: await freePort(), C: await freePort() };
        env.backend = await startBackend();
        const uris = ['A', 'B'].map((s) => href(s, '/oauth2/callback'));
        env.op = await startProvider({ clients: [{ client_id: 'app', client_secret: 'app-secret', redirect_uris: uris }] });
        const oauth2 = (extra) => `OAuth2Provider ${env.op.issuer}
    OAuth2ClientID app
    OAuth2ClientSecret app-secret
    OAuth2Secret ${SECRET}
    ${extra}`;
        env.apache = await createApache({
            withModule: true,
            config: () => `
${site('A', oauth2('OAuth2SessionStore shm'))}
${site('B', oauth2('OAuth2SessionStore cookie\n    OAuth2Cookie admin_session'))}
${site('C', '')}
`,
        });
        await env.apache.start();
        const b = newBrowser();
        assert.equal((await login(b, href('A', '/app/a'))).final.status, 200);
        env.session = b.cookie('oauth2_session', href('A', '/'));
        assert.ok(env.session);
    });
    after(async () => {
        await env.apache?.stop();
        await env.op?.stop();
        await env.backend?.stop();
    });

    it('gives no backend a cookie of the module\'s, whatever the spelling, host or path', async () => {
        const leaks = [];
        const kept = [];
        for (const sp of SPELLINGS) {
            for (const [s, p, own] of [['A', '/app/x', true], ['A', '/public/x', true], ['A', '/public/x', false], ['C', '/public/x', true], ['C', '/app/x', false], ['B', '/public/x', true]]) {
                const cookie = own ? `${sp}; oauth2_session=${env.session}` : sp;
                const r = await request(href(s, p), { headers: { Accept: 'application/json', Cookie: cookie } });
                if (r.status !== 200) {
                    leaks.push(`${s}${p} [${cookie}]: status ${r.status}`);
                    continue;
                }
                const got = r.json().headers.cookie ?? '';
                const names = got.split(/[;,]\s*/).map((x) => x.split('=')[0].trim()).filter(Boolean);
                if (names.some((n) => OURS.test(n))) leaks.push(`${s}${p} [${cookie}] -> [${got}]`);
                if (sp === 'x=1, admin_session=v' || sp === 'oauth2_session_1=v; admin_session_2=w; x=1') kept.push(got);
            }
        }
        assert.deepEqual(leaks, []);
        // The others' cookies do get through (the probe sees the header).
        assert.ok(kept.length > 0 && kept.every((k) => /\bx=1\b/.test(k)), `kept: ${JSON.stringify(kept)}`);
    });
});
