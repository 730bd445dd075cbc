// attacks-review.test.mjs: the findings of the independent security review
// of b9a3905 (issue 12), each reproduced through the real Apache as the
// review did, and each refused now. (Finding 4, Connection names ended by
// ';', is in attacks-identity.test.mjs; findings 3, 8 and 9, the shared-
// memory table, in sessions-capacity.test.mjs and tests/unit/test_store_shm.c.)
//
// One Apache, three virtual hosts on their own ports, all inheriting the
// server's provider, OAuth2Secret and `OAuth2SessionStore cookie`:
//   A  client app,   cookie sessions     (findings 1, 2, 5)
//   B  client admin, cookie sessions     (finding 2: A's cookie is no login here)
//   C  client app,   OAuth2SessionStore shm, bearer tokens, back-channel
//      logout                            (findings 1, 5, 6, 7)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProvider } from './lib/provider.mjs';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { freePort } from './lib/ports.mjs';
import { SECRET } from './lib/stack.mjs';
import { assertNoBackendBody } from './lib/attacks.mjs';

const HTML = { Accept: 'text/html' };
const API = { Accept: 'application/json' };
// 40 groups of 85 characters: a cookie session in two chunks (three
// cookies: oauth2_session=~2 and the chunks; 10 groups took that before
// issue 16, and fit in one cookie now), within the budget of Apache's
// default LimitRequestFieldSize.
const BIG_GROUPS = Array.from({ length: 40 }, (_, i) => `group-${String(i).padStart(2, '0')}-${'x'.repeat(76)}`);

const env = {};
const href = (site, p) => `http://127.0.0.1:${env.ports[site]}${p}`;

function siteConfig(site, client, extra = '') {
    return `
Listen 127.0.0.1:${env.ports[site]}
<VirtualHost 127.0.0.1:${env.ports[site]}>
    ServerName 127.0.0.1
    OAuth2ClientID ${client}
    OAuth2ClientSecret ${client}-secret
    ${extra}
    <Location /app>
        AuthType oauth2
        Require valid-user
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
    const uris = (sites) => sites.map((s) => href(s, '/oauth2/callback'));
    env.op = await startProvider({
        backchannelLogout: true,
        accounts: [
            { id: 'alice', email: 'alice@example.com', email_verified: true, groups: ['staff'] },
            { id: 'big', email: 'big@example.com', email_verified: true, groups: BIG_GROUPS },
            { id: 'dave', email: 'dave@example.com', email_verified: true, groups: ['staff'] },
        ],
        clients: [
            {
                client_id: 'app',
                client_secret: 'app-secret',
                redirect_uris: uris(['A', 'C']),
                backchannel_logout_uri: href('C', '/oauth2/backchannel-logout'),
            },
            { client_id: 'admin', client_secret: 'admin-secret', redirect_uris: uris(['B']) },
        ],
    });
    env.apache = await createApache({
        withModule: true,
        logLevel: 'info auth_oauth2:debug',
        config: () => `
OAuth2Provider ${env.op.issuer}
OAuth2ClientID app
OAuth2ClientSecret app-secret
OAuth2Secret ${SECRET}
OAuth2SessionStore cookie
${siteConfig('A', 'app')}
${siteConfig('B', 'admin')}
${siteConfig('C', 'app', `OAuth2SessionStore shm
    <Location /claims>
        AuthType oauth2
        Require valid-user
        OAuth2PassClaims headers
        ProxyPass ${env.backend.url}/claims
    </Location>
    <Location /api>
        AuthType oauth2
        Require valid-user
        OAuth2AcceptBearer On
        OAuth2BearerAudience app
        ProxyPass ${env.backend.url}/api
    </Location>
    <Location /api-untyped>
        AuthType oauth2
        Require valid-user
        OAuth2AcceptBearer On
        OAuth2BearerAudience app
        OAuth2BearerAllowUntyped On
        ProxyPass ${env.backend.url}/api-untyped
    </Location>`)}
`,
    });
    await env.apache.start();
});

after(async () => {
    await env.apache?.stop();
    await env.op?.stop();
    await env.backend?.stop();
});

/* The Cookie header the backend received (empty when none). */
const backendCookie = (r) => r.json().headers.cookie ?? '';

/* Our cookie names: the session, its chunks, login states. */
const OURS = /(^|[;,]\s*)(oauth2_session(_\d+)?|oauth2_state_[^=]*)\s*=/;

describe('finding 1: cookie-session chunks never reach a backend', () => {
    let big;
    before(async () => {
        big = newBrowser();
        const res = await login(big, href('A', '/app/big'), { username: 'big' });
        assert.equal(res.final.status, 200);
    });

    it('splits this user\'s session into chunks (the set-up of the finding)', () => {
        assert.match(big.cookie('oauth2_session', href('A', '/')), /^~[2-9]$/);
        assert.ok(big.cookie('oauth2_session_2', href('A', '/')), 'a second chunk');
    });

    it('strips every chunk on the protected and the public path', async () => {
        for (const p of ['/app/x', '/public/x']) {
            const r = await big.get(href('A', p));
            assert.equal(r.status, 200, p);
            // (assert.ok: the message would quote 8 KB of cookies)
            assert.ok(!/oauth2_/.test(backendCookie(r)), `${p}: the backend got our cookies`);
        }
    });

    it('strips chunks, states and sessions sent by anyone, in any number, in any store', async () => {
        const crafted = ['a=1', 'oauth2_session=~3', 'oauth2_session_1=AAAA', 'b=2', 'oauth2_session_2 = "BBBB"',
            'oauth2_session_3=CCCC', 'oauth2_session_17=x', 'oauth2_state_abc=DDDD', 'oauth2_sessionX=keep',
            'oauth2_session_=keep2', 'c=3'].join('; ');
        for (const site of ['A', 'C']) {
            for (const p of ['/public/crafted', '/app/crafted']) {
                const r = await request(href(site, p), { headers: { ...HTML, Cookie: crafted } });
                if (p.startsWith('/app')) {
                    assert.equal(r.status, 302, `${site}${p}: no session`);
                    continue;
                }
                assert.equal(r.status, 200);
                assert.equal(backendCookie(r), 'a=1; b=2; oauth2_sessionX=keep; oauth2_session_=keep2; c=3', `${site}${p}`);
            }
        }
    });

    it('strips chunks from Cookie lines that reach Apache separately (merged with commas)', async () => {
        const { rawRequest } = await import('./lib/http.mjs');
        const raw = await rawRequest(env.ports.A, 'GET /public/lines HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            + 'Cookie: a=1\r\nCookie: oauth2_session_1=AAAA; b=2\r\nCookie: oauth2_session_2=BBBB\r\nConnection: close\r\n\r\n');
        assert.equal(raw.status, 200);
        assert.doesNotMatch(raw.body, /oauth2_session_\d/);
        assert.match(raw.body, /a=1/);
    });
});

describe('finding 2: a cookie session is bound to the virtual host\'s client', () => {
    it('refuses virtual host A\'s cookie session at virtual host B (another client): a login there', async () => {
        const b = newBrowser();
        await login(b, href('A', '/app/a'));
        assert.equal((await b.get(href('A', '/app/a'))).status, 200);
        // Ports do not separate cookies: the browser sends A's cookie to B.
        const mark = env.apache.mark();
        const r = await b.get(href('B', '/app/b'));
        assert.equal(r.status, 302, 'B sends the browser to log in');
        assert.equal(new URL(r.headers.location).searchParams.get('client_id'), 'admin');
        assertNoBackendBody(r);
        await env.apache.waitForLog(/OA2104/, { since: mark });
        const api = await b.get(href('B', '/app/b'), { headers: API });
        assert.equal(api.status, 401);
    });

    it('still serves the cookie session where it was made, and a login at B makes B\'s own', async () => {
        const b = newBrowser();
        await login(b, href('B', '/app/b'));
        const r = await b.get(href('B', '/app/b'));
        assert.equal(r.status, 200);
        assert.equal(r.json().headers['x-forwarded-user'], 'alice');
    });
});

describe('finding 5: five or more copies of the session cookie', () => {
    let sid;
    before(async () => {
        const b = newBrowser();
        await login(b, href('C', '/app/c'));
        sid = b.cookie('oauth2_session', href('C', '/'));
        assert.match(sid, /^[A-Za-z0-9_-]{43}$/);
    });

    it('never shows the real session id to a backend, however many decoys come first', async () => {
        for (const decoys of [4, 5, 8, 30]) {
            const junk = Array.from({ length: decoys }, (_, i) => `oauth2_session=decoy${i}`);
            for (const p of ['/public/five', '/app/five']) {
                const r = await request(href('C', p), { headers: { ...HTML, Cookie: [...junk, 'x=1', `oauth2_session=${sid}`].join('; ') } });
                if (r.status === 200) {
                    assert.ok(!backendCookie(r).includes(sid), `${decoys} decoys, ${p}: the real id reached the backend`);
                    assert.doesNotMatch(backendCookie(r), OURS, `${decoys} decoys, ${p}`);
                    assert.equal(backendCookie(r), 'x=1');
                }
                else {
                    assert.equal(r.status, 302, `${decoys} decoys, ${p}`);
                }
            }
        }
    });

    it('serves the session among the first four copies and strips the rest too', async () => {
        const cookie = [`oauth2_session=${sid}`, ...Array.from({ length: 6 }, (_, i) => `oauth2_session=d${i}`), 'y=2'].join('; ');
        const r = await request(href('C', '/app/first'), { headers: { ...HTML, Cookie: cookie } });
        assert.equal(r.status, 200);
        assert.equal(r.json().headers['x-forwarded-user'], 'alice');
        assert.equal(backendCookie(r), 'y=2');
    });
});

describe('finding 6: a bearer token must be an access token', () => {
    const bearer = (p, token) => request(href('C', p), { headers: { ...API, Authorization: `Bearer ${token}` } });
    const now = () => Math.floor(Date.now() / 1000);
    const logoutClaims = () => ({
        iss: env.op.issuer, aud: 'app', iat: now(), jti: `j-${Math.random()}`, sub: 'alice',
        sid: 's-1', events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });

    it('accepts an at+jwt access token (RFC 9068)', async () => {
        const r = await bearer('/api/ok', await env.op.accessToken({ aud: 'app' }));
        assert.equal(r.status, 200);
        assert.equal(r.json().headers['x-forwarded-user'], 'alice');
    });

    it('refuses an ID token and a back-channel logout token (401 invalid_token, OA2303)', async () => {
        const tokens = {
            'ID token (typ JWT)': await env.op.idToken({ aud: 'app', nonce: 'n-1' }),
            'ID token without typ': await env.op.idToken({ aud: 'app', nonce: 'n-2' }, { header: { typ: null } }),
            'ID token without a nonce': await env.op.idToken({ aud: 'app' }),
            'logout token (logout+jwt)': await env.op.signJwt({ ...logoutClaims(), exp: now() + 300 }, { header: { typ: 'logout+jwt' } }),
            'logout token, typed application/logout+jwt': await env.op.signJwt({ ...logoutClaims(), exp: now() + 300 }, { header: { typ: 'application/logout+jwt' } }),
        };
        for (const [what, token] of Object.entries(tokens)) {
            for (const p of ['/api/x', '/api-untyped/x']) {
                if (p === '/api-untyped/x' && what === 'ID token without a nonce') continue;
                const mark = env.apache.mark();
                const r = await bearer(p, token);
                assert.equal(r.status, 401, `${what} at ${p}`);
                assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
                assertNoBackendBody(r);
                await env.apache.waitForLog(/OA2303: bearer token refused: .*(type|claim)/, { since: mark });
            }
        }
    });

    // Found by the re-review: a token bound to a key (RFC 9449 DPoP cnf.jkt,
    // RFC 8705 cnf.x5t#S256) is good only with its proof; sent as a plain
    // Bearer (a stolen one) it must not open an API.
    it('refuses DPoP-bound and certificate-bound access tokens sent as Bearer', async () => {
        for (const cnf of [{ jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' }, { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }]) {
            for (const p of ['/api/cnf', '/api-untyped/cnf']) {
                const r = await bearer(p, await env.op.accessToken({ aud: 'app', cnf }));
                assert.equal(r.status, 401, `${p}: cnf ${Object.keys(cnf)[0]}`);
                assertNoBackendBody(r);
            }
        }
    });

    it('accepts untyped access tokens only where OAuth2BearerAllowUntyped is On, and not ID-token shaped ones', async () => {
        const untyped = await env.op.accessToken({ aud: 'app' }, { header: { typ: 'JWT' } });
        assert.equal((await bearer('/api/u', untyped)).status, 401, 'strict by default');
        const ok = await bearer('/api-untyped/u', untyped);
        assert.equal(ok.status, 200);
        assert.equal(ok.json().headers['x-forwarded-user'], 'alice');
        for (const extra of [{ nonce: 'n' }, { at_hash: 'x' }, { typ: 'ID' }]) {
            const t = await env.op.accessToken({ aud: 'app', ...extra }, { header: { typ: null } });
            assert.equal((await bearer('/api-untyped/s', t)).status, 401, JSON.stringify(extra));
        }
    });
});

describe('finding 7: back-channel logout ends every session of the sid or sub', () => {
    const now = () => Math.floor(Date.now() / 1000);
    let jti = 0;
    async function backchannel(claims) {
        const token = await env.op.signJwt({
            iss: env.op.issuer, aud: 'app', iat: now(), jti: `review-${process.pid}-${++jti}`,
            events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, ...claims,
        }, { header: { typ: 'logout+jwt' } });
        const mark = env.apache.mark();
        const r = await request(href('C', '/oauth2/backchannel-logout'), {
            method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `logout_token=${token}`,
        });
        assert.equal(r.status, 200);
        const line = await env.apache.waitForLog(/OA2216: back-channel logout of/, { since: mark });
        return Number(/: (\d+) session\(s\)/.exec(line)[1]);
    }
    /* The user a session id is served as, or the status. */
    async function userOf(sid) {
        const r = await request(href('C', '/app/who'), { headers: { ...API, Cookie: `oauth2_session=${sid}` } });
        return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
    }

    it('ends both sessions of two logins in one browser (same provider sid)', async () => {
        const b = newBrowser();
        const first = await login(b, href('C', '/claims/1'));
        const sid = first.final.json().headers['oauth2-claim-sid'];
        assert.ok(sid, 'the provider sends a sid');
        const s1 = b.cookie('oauth2_session', href('C', '/'));
        b.deleteCookie('oauth2_session');
        const second = await login(b, href('C', '/claims/2'));
        assert.equal(second.final.json().headers['oauth2-claim-sid'], sid, 'the same provider session');
        const s2 = b.cookie('oauth2_session', href('C', '/'));
        assert.notEqual(s1, s2);
        assert.equal(await userOf(s1), 'alice');
        assert.equal(await userOf(s2), 'alice');
        assert.equal(await backchannel({ sid }), 2);
        assert.equal(await userOf(s1), 401, 'the first session ended');
        assert.equal(await userOf(s2), 401, 'the second session ended');
    });

    it('ends all of 20 sessions of a sub, and nobody else\'s', async () => {
        const alice = newBrowser();
        await login(alice, href('C', '/app/alice'));
        const sids = [];
        for (let i = 0; i < 20; i++) {
            const b = newBrowser();
            await login(b, href('C', `/app/dave${i}`), { username: 'dave' });
            sids.push(b.cookie('oauth2_session', href('C', '/')));
        }
        for (const sid of [sids[0], sids[16], sids[19]]) assert.equal(await userOf(sid), 'dave');
        assert.equal(await backchannel({ sub: 'dave' }), 20);
        for (const [i, sid] of sids.entries()) assert.equal(await userOf(sid), 401, `session ${i + 1} of 20 ended`);
        assert.equal((await alice.get(href('C', '/app/alice'), { headers: API })).status, 200, 'alice is still logged in');
        // A new login of that sub is indexed afresh and can be ended again.
        const b = newBrowser();
        await login(b, href('C', '/app/again'), { username: 'dave' });
        assert.equal(await backchannel({ sub: 'dave' }), 1);
        assert.equal((await b.get(href('C', '/app/again'), { headers: API })).status, 401);
    });
});
