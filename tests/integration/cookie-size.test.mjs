// cookie-size.test.mjs: cookie sessions that never lock a user out (issue
// 16). Users in 10, 40, 100 and 400 groups log in on the cookie store with
// Apache's default LimitRequestFieldSize (8190): each is served, or the
// login ends on a page naming the remedy (OA2140), and never does a later
// request answer 400. The same users on the shm and redis stores are all
// served. OAuth2GroupsFilter keeps the groups a site uses; a connection
// that keeps a verified cookie session still sees a back-channel logout.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProvider } from './lib/provider.mjs';
import { createApache, configtest } from './lib/apache.mjs';
import { startRedis } from './lib/redis.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { freePort } from './lib/ports.mjs';
import { SECRET } from './lib/stack.mjs';

const API = { headers: { Accept: 'application/json' } };

/* Group i of a user, an LDAP DN padded to len characters, as Entra ID
 * and Active Directory tenants send them. */
function group(i, len, prefix = 'grp') {
    const head = `CN=${prefix}-${String(i).padStart(4, '0')},OU=Groups`;
    const tail = ',DC=example,DC=com';
    return head + 'x'.repeat(Math.max(0, len - head.length - tail.length)) + tail;
}
const groups = (n, len, prefix) => Array.from({ length: n }, (_, i) => group(i, len, prefix));

/* The users: 10 groups of 85 characters, 40, 100 and 400 of 60. */
const USERS = [
    { id: 'g10', groups: groups(10, 85) },
    { id: 'g40', groups: groups(40, 60) },
    { id: 'g100', groups: groups(100, 60) },
    { id: 'g400', groups: groups(400, 60) },
];

let op;
const ports = [];
before(async () => {
    for (let i = 0; i < 6; i++) ports.push(await freePort());
    op = await startProvider({
        backchannelLogout: true,
        accounts: [
            ...USERS.map((u) => ({ id: u.id, email: `${u.id}@example.com`, email_verified: true, groups: u.groups })),
            // 400 groups, 3 of them the site's own ("app-...")
            { id: 'mixed', email: 'mixed@example.com', email_verified: true, groups: [...groups(397, 60), ...groups(3, 60, 'app')] },
        ],
        clients: [{
            client_id: 'app',
            client_secret: 'app-secret',
            redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/oauth2/callback`),
            post_logout_redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/`),
            backchannel_logout_uri: `http://127.0.0.1:${ports[0]}/oauth2/backchannel-logout`,
        }],
    });
});
after(async () => op?.stop());

function config({ store, extra = '' }) {
    return `
OAuth2Provider ${op.issuer}
OAuth2ClientID app
OAuth2ClientSecret app-secret
OAuth2Secret ${SECRET}
OAuth2SessionStore ${store}
${extra}
<Location /app>
    AuthType oauth2
    Require valid-user
</Location>
<Location /app/admins>
    AuthType oauth2
    Require oauth2-group ${group(1, 60, 'app')}
</Location>
<Location /app/hr>
    AuthType oauth2
    Require oauth2-group ${group(5, 60)}
</Location>
`;
}

async function instance(port, opts) {
    const a = await createApache({
        withModule: true,
        port,
        modules: ['socache_redis'],
        logLevel: 'info auth_oauth2:debug',
        config: () => config(opts),
        files: { 'htdocs/app/index.html': 'app\n', 'htdocs/app/admins/index.html': 'admins\n', 'htdocs/app/hr/index.html': 'hr\n' },
    });
    await a.start();
    return a;
}

/* The groups of the browser's session (userinfo), or the status. */
async function sessionGroups(b, a) {
    const r = await b.get(a.href('/oauth2/userinfo'), API);
    return r.status === 200 ? r.json().groups : r.status;
}

/* The bytes of the Cookie header the browser sends to a. */
const cookieBytes = (b, a) => Buffer.byteLength(b.cookieHeader(a.href('/app/')) ?? '');

/* Logs user in on a. Either served (the groups all there, the Cookie
 * header under the limit) or refused on the clear page with OA2140; in
 * both cases the next requests answer 200 or a login, never 400. */
async function loginAs(a, user, { expect, limit = 8190 }) {
    const b = newBrowser();
    const mark = a.mark();
    const res = await login(b, a.href('/app/'), { username: user.id });
    if (expect === 'served') {
        assert.equal(res.final.status, 200, `${user.id}: ${res.final.body.slice(0, 300)}`);
        assert.deepEqual(await sessionGroups(b, a), user.groups, `${user.id}: every group kept`);
    } else {
        assert.equal(res.callback.status, 500, `${user.id}: the clear page`);
        assert.match(res.callback.body, /OAuth2SessionStore shm or redis/);
        assert.match(res.callback.body, /OAuth2GroupsFilter/);
        assert.equal(res.callback.setCookie.filter((c) => c.startsWith('oauth2_session')).length, 0, 'no session cookie written');
        const line = await a.waitForLog(/OA2140: login of /, { since: mark });
        assert.match(line, new RegExp(`login of ${user.id} refused: the session needs \\d+ bytes of cookies, more than the 6142`));
        assert.match(line, /OAuth2GroupsFilter/);
    }
    assert.ok(cookieBytes(b, a) < limit * 0.75, `${user.id}: Cookie header ${cookieBytes(b, a)} bytes`);
    for (let i = 0; i < 3; i++) {
        const r = await b.get(a.href('/app/'));
        assert.notEqual(r.status, 400, `${user.id}: request ${i} after the login`);
        assert.equal(r.status, expect === 'served' ? 200 : 302);
    }
    return b;
}

describe('cookie store, default LimitRequestFieldSize 8190', () => {
    let A;
    before(async () => {
        A = await instance(ports[0], { store: 'cookie' });
    });
    after(async () => A?.stop());

    it('serves 10 groups of 85 characters in one cookie, its ID token left out', async () => {
        const mark = A.mark();
        const b = await loginAs(A, USERS[0], { expect: 'served' });
        const mine = b.cookies(A.href('/')).filter((c) => c.name.startsWith('oauth2_session'));
        assert.equal(mine.length, 1, 'one cookie (three before issue 16)');
        assert.ok(mine[0].value.length < 3800, `${mine[0].value.length} characters`);
        // The ID token (the claims again) would take a second cookie.
        assert.match(A.errorLog({ since: mark }), /OA2141: the cookie session of g10 leaves its ID token out \(the session needs more than 1 cookie of 3800 characters\)/);
    });

    it('serves 40 groups of 60 characters (2.4 KB) without a 400', async () => {
        await loginAs(A, USERS[1], { expect: 'served' });
    });

    it('ends the login of 100 groups on the page naming the remedy (OA2140)', async () => {
        await loginAs(A, USERS[2], { expect: 'page' });
    });

    it('ends the login of 400 groups on the page naming the remedy (OA2140)', async () => {
        await loginAs(A, USERS[3], { expect: 'page' });
    });

    it('keeps a verified session on a kept connection and still sees a back-channel logout', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const origin = new URL(A.href('/')).origin;
        try {
            const b = newBrowser({ agents: { [origin]: agent } });
            await login(b, A.href('/app/'), { username: 'g10' });
            for (let i = 0; i < 5; i++) assert.equal((await b.get(A.href('/app/'))).status, 200);
            const mark = A.mark();
            await op.sendBackchannelLogout({ sub: 'g10' });
            await A.waitForLog(/OA2216: back-channel logout of (sid|sub)/, { since: mark });
            const r = await b.get(A.href('/app/'), API);
            assert.equal(r.status, 401, 'the revoked session is refused on the same connection');
        } finally {
            agent.destroy();
        }
    });
});

describe('cookie store with LimitRequestFieldSize 16384', () => {
    let A;
    before(async () => {
        A = await instance(ports[1], { store: 'cookie', extra: 'LimitRequestFieldSize 16384' });
    });
    after(async () => A?.stop());

    it('takes the server limit into account: 100 groups fit, 400 do not', async () => {
        await loginAs(A, USERS[2], { expect: 'served', limit: 16384 });
        const b = newBrowser();
        const mark = A.mark();
        const res = await login(b, A.href('/app/'), { username: 'g400' });
        assert.equal(res.callback.status, 500);
        assert.match(await A.waitForLog(/OA2140/, { since: mark }), /more than the 12288 a cookie session may take \(75 % of LimitRequestFieldSize 16384\)/);
        assert.equal((await b.get(A.href('/app/'))).status, 302);
    });
});

describe('OAuth2GroupsFilter', () => {
    let A;
    before(async () => {
        A = await instance(ports[2], { store: 'cookie', extra: 'OAuth2GroupsFilter "^CN=app-"' });
    });
    after(async () => A?.stop());

    it('keeps only the matching groups: 400 groups log in on the cookie store', async () => {
        const b = newBrowser();
        const res = await login(b, A.href('/app/'), { username: 'mixed' });
        assert.equal(res.final.status, 200);
        assert.deepEqual(await sessionGroups(b, A), groups(3, 60, 'app'));
        assert.equal((await b.get(A.href('/app/admins/'))).status, 200, 'a kept group is a group');
        assert.equal((await b.get(A.href('/app/hr/'))).status, 403, 'a dropped one is not');
    });

    it('is refused by apache2 -t when the expression does not compile', async () => {
        const base = `OAuth2Provider ${op.issuer}\nOAuth2ClientID app\nOAuth2ClientSecret s\nOAuth2Secret ${SECRET}\n`;
        const bad = await configtest(`${base}OAuth2GroupsFilter "(unclosed"\n`, { withModule: true });
        assert.notEqual(bad.code, 0);
        assert.match(bad.output, /OAuth2GroupsFilter/);
        const empty = await configtest(`${base}OAuth2GroupsFilter ""\n`, { withModule: true });
        assert.notEqual(empty.code, 0);
        assert.match(empty.output, /OAuth2GroupsFilter.*regular expression/);
        const good = await configtest(`${base}OAuth2GroupsFilter "^CN=app-"\n`, { withModule: true });
        assert.equal(good.code, 0, good.output);
    });
});

/* Server-side stores: size only costs store space (a record holds at most
 * 64 KiB; a session at most 1,024 groups or 48 KiB of their names). */
for (const kind of ['shm', 'redis']) {
    describe(`${kind} store`, () => {
        let A;
        let redis;
        before(async () => {
            let store = 'shm';
            if (kind === 'redis') {
                redis = await startRedis();
                store = redis.spec;
            }
            A = await instance(ports[kind === 'shm' ? 3 : 4], { store });
        });
        after(async () => {
            await A?.stop();
            await redis?.stop();
        });

        for (const u of USERS) {
            it(`serves ${u.groups.length} groups of ${u.groups[0].length} characters`, async () => {
                const b = await loginAs(A, u, { expect: 'served' });
                assert.ok(cookieBytes(b, A) < 200, 'one small cookie');
            });
        }
    });
}
