// attacks-identity.test.mjs: identity spoofing (issue 6, attack catalog).
// A client's own X-Forwarded-User/-Email/-Groups/-Preferred-Username/
// -Access-Token and OAuth2-Claim-* headers, in any case and with '_' for '-',
// never reach the backend: on protected, public, `OAuth2UnauthAction pass`
// and OPTIONS requests, on the second request of a keep-alive connection,
// in numbers, and through `Connection: X-Forwarded-User` (which would have
// mod_proxy drop the module's own header as hop-by-hop). Claims carrying
// CR/LF, NUL or HTML never split a header, truncate into another identity
// or script a page.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import net from 'node:net';
import { newBrowser, login, request } from './lib/http.mjs';
import { cgiEnvScript, parseCgiEnv } from './lib/backend.mjs';
import { assertNoBackendBody, assertServing } from './lib/attacks.mjs';

const ACCOUNTS = [
    {
        id: 'alice',
        email: 'alice@example.com',
        email_verified: true,
        preferred_username: 'alice',
        groups: ['staff', 'admins'],
    },
    {
        id: 'crlf',
        name: 'Evil\r\nX-Injected: yes',
        email: 'crlf@example.com\r\nX-Injected: 1',
        email_verified: true,
        preferred_username: 'crlf\nX-Injected: 2',
        groups: ['g1\r\nX-Injected-Group: 1', 'staff'],
    },
    {
        // Truncated at the NUL, these would be admin, admin@example.com,
        // the group admins and the claim role=admin.
        id: 'nul',
        email: 'admin@example.com\u0000.evil.com',
        email_verified: true,
        preferred_username: 'admin\u0000evil',
        groups: ['admins\u0000-not', 'users'],
        role: 'admin\u0000x',
    },
    { id: 'root\u0000evil', email: 'root@example.com', email_verified: true, groups: ['admins'] },
    { id: '<img src=x onerror=alert(1)>"\'', email: 'x@example.com', groups: [] },
];

// Every spoofable name, in several spellings.
const SPOOFED = [
    'X-Forwarded-User', 'evil',
    'x-forwarded-user', 'evil2',
    'X-FORWARDED-USER', 'evil3',
    'X_Forwarded_User', 'evil4',
    'x_forwarded-user', 'evil5',
    'X-Forwarded-Email', 'evil@evil.com',
    'x_forwarded_email', 'evil@evil.com',
    'X-Forwarded-Groups', 'admins',
    'X_FORWARDED_GROUPS', 'admins',
    'X-Forwarded-Preferred-Username', 'root',
    'x_forwarded_preferred_username', 'root',
    'X-Forwarded-Access-Token', 'forged',
    'x_forwarded_access_token', 'forged',
    'OAuth2-Claim-role', 'admin',
    'oauth2-claim-sub', 'root',
    'OAUTH2_CLAIM_groups', 'admins',
    'Oauth2_Claim-email', 'root@example.com',
];

/* Writes pipelined requests on one connection; everything read until the
 * server closes it (Connection: close on the last one). */
function pipelined(port, text) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        const sock = net.connect({ port, host: '127.0.0.1' }, () => sock.write(text));
        const timer = setTimeout(() => sock.destroy(new Error('pipelined requests timed out')), 5000);
        sock.on('data', (c) => chunks.push(c));
        sock.on('close', () => {
            clearTimeout(timer);
            resolve(Buffer.concat(chunks).toString('latin1'));
        });
        sock.on('error', reject);
    });
}

const IDENTITY = /^(x[-_]forwarded[-_](user|email|groups|preferred[-_]username|access[-_]token)|oauth2[-_]claim[-_])/i;

/* The identity headers the backend received: [[name, value], ...]. */
function identityHeaders(seen) {
    const out = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2) {
        if (IDENTITY.test(seen.rawHeaders[i])) out.push([seen.rawHeaders[i], seen.rawHeaders[i + 1]]);
    }
    return out;
}

describe('attacks: identity spoofing', () => {
    let s;
    let alice;

    before(async () => {
        s = await startStack({
            provider: { accounts: ACCOUNTS },
            apache: { files: { 'cgi-bin/env.cgi': { content: cgiEnvScript(), mode: 0o755 } } },
            locations: (st) => `
<Location /pass>
    AuthType oauth2
    Require valid-user
    OAuth2UnauthAction pass
    ProxyPass ${st.backend.url}/pass
</Location>
<Location /claims>
    AuthType oauth2
    Require valid-user
    OAuth2PassClaims headers
    OAuth2PassAccessToken On
    ProxyPass ${st.backend.url}/claims
</Location>
<Location /admins>
    AuthType oauth2
    Require oauth2-group admins
    ProxyPass ${st.backend.url}/admins
</Location>
<Location /domain>
    AuthType oauth2
    Require oauth2-email-domain example.com
    ProxyPass ${st.backend.url}/domain
</Location>
<Location /role>
    AuthType oauth2
    Require oauth2-claim role:admin
    ProxyPass ${st.backend.url}/role
</Location>`,
        });
        alice = newBrowser();
        await login(alice, s.url('/app/'));
    });
    after(async () => s?.stop());

    function assertNoIdentity(seen, what) {
        assert.deepEqual(identityHeaders(seen), [], `${what}: no identity header reaches the backend`);
    }

    /* alice's own headers and nothing else. */
    function assertAlice(seen, what, { claims = false } = {}) {
        const ids = identityHeaders(seen);
        const names = ids.map(([n]) => n.toLowerCase());
        assert.equal(new Set(names).size, names.length, `${what}: one of each (${names})`);
        const get = (n) => ids.find(([k]) => k.toLowerCase() === n)?.[1];
        assert.equal(get('x-forwarded-user'), 'alice', what);
        assert.equal(get('x-forwarded-email'), 'alice@example.com', what);
        assert.equal(get('x-forwarded-groups'), 'staff,admins', what);
        assert.equal(get('x-forwarded-preferred-username'), 'alice', what);
        assert.ok(ids.every(([n]) => /^oauth2-claim-/i.test(n) || !/_/.test(n)), `${what}: no underscore names`);
        if (!claims) {
            assert.equal(get('x-forwarded-access-token'), undefined, `${what}: no access token`);
            assert.ok(!names.some((n) => n.startsWith('oauth2-claim')), `${what}: no claims`);
        }
        else {
            assert.notEqual(get('x-forwarded-access-token'), 'forged');
            assert.equal(get('oauth2-claim-sub'), 'alice');
            assert.equal(get('oauth2-claim-role'), undefined, `${what}: no client-sent claim`);
        }
    }

    it('strips spoofed identity headers on a public path', async () => {
        const r = await request(s.url('/public/spoof'), { headers: SPOOFED });
        assert.equal(r.status, 200);
        assertNoIdentity(r.json(), 'public');
    });

    it('replaces spoofed identity headers on a protected path with the user\'s own', async () => {
        const r = await alice.get(s.url('/app/spoof'), { headers: SPOOFED });
        assertAlice(r.json(), 'protected');
    });

    it('replaces spoofed claims and access token where they are passed', async () => {
        const r = await alice.get(s.url('/claims/spoof'), { headers: SPOOFED });
        assertAlice(r.json(), '/claims', { claims: true });
    });

    it('never sends a spoofed identity to log in or to the backend from a protected path without a session', async () => {
        const before = s.backend.requests.length;
        const r = await request(s.url('/app/spoof'), { headers: [...SPOOFED, 'Accept', 'text/html'] });
        assert.equal(r.status, 302);
        assertNoBackendBody(r);
        const api = await request(s.url('/app/spoof'), { headers: [...SPOOFED, 'Accept', 'application/json'] });
        assert.equal(api.status, 401);
        assert.equal(s.backend.requests.length, before, 'the backend saw nothing');
    });

    it('strips spoofed identity headers where OAuth2UnauthAction pass lets anonymous requests through', async () => {
        const anon = await request(s.url('/pass/spoof'), { headers: SPOOFED });
        assert.equal(anon.status, 200);
        assertNoIdentity(anon.json(), 'pass, anonymous');
        const r = await alice.get(s.url('/pass/spoof'), { headers: SPOOFED });
        assertAlice(r.json(), 'pass, logged in');
    });

    it('strips spoofed identity headers on OPTIONS requests', async () => {
        const pub = await request(s.url('/public/opt'), { method: 'OPTIONS', headers: SPOOFED });
        assert.equal(pub.status, 200);
        assertNoIdentity(pub.json(), 'OPTIONS public');
        const pass = await request(s.url('/pass/opt'), { method: 'OPTIONS', headers: SPOOFED });
        assert.equal(pass.status, 200);
        assertNoIdentity(pass.json(), 'OPTIONS pass');
        const prot = await alice.request(s.url('/app/opt'), { method: 'OPTIONS', headers: SPOOFED });
        assert.equal(prot.status, 200);
        assertAlice(prot.json(), 'OPTIONS protected');
        const anon = await request(s.url('/app/opt'), { method: 'OPTIONS', headers: SPOOFED });
        assert.equal(anon.status, 401);
        assertNoBackendBody(anon);
    });

    it('keeps the module\'s headers when Connection names them (hop-by-hop trick)', async () => {
        const conn = 'keep-alive, X-Forwarded-User, x_forwarded_email, X-FORWARDED-GROUPS, '
            + 'X-Forwarded-Preferred-Username, OAuth2-Claim-sub, X-Forwarded-Access-Token';
        const r = await alice.get(s.url('/claims/conn'), { headers: [...SPOOFED, 'Connection', conn] });
        assertAlice(r.json(), 'Connection: X-Forwarded-User', { claims: true });
        const mark = s.apache.mark();
        const pass = await request(s.url('/pass/conn'), { headers: [...SPOOFED, 'Connection', conn] });
        assertNoIdentity(pass.json(), 'pass + Connection');
        assert.ok(s.apache.errorLog({ since: mark }).length < 20000, 'a bounded log');
    });

    // mod_proxy ends a Connection name at ';' too (ap_get_token), so
    // "X-Forwarded-User;x" named the module's header (review finding 4).
    it('keeps the module\'s headers whatever separates the names in Connection', async () => {
        const values = [
            'X-Forwarded-User;x',
            'keep-alive;X-Forwarded-User',
            'x;X-Forwarded-Email;y, X-Forwarded-Groups;q=1',
            'foo ;X-Forwarded-Preferred-Username',
            'close;;X-Forwarded-Access-Token,OAuth2-Claim-sub;v',
            'a,b;c,X-Forwarded-User;x,X-Forwarded-Email;x,X-Forwarded-Groups;x,'
                + 'X-Forwarded-Preferred-Username;x,X-Forwarded-Access-Token;x,OAuth2-Claim-sub;x',
            '"q";X-Forwarded-User',
            '\tX-Forwarded-User\t;\tX-Forwarded-Groups',
        ];
        for (const [i, conn] of values.entries()) {
            const r = await alice.get(s.url(`/claims/semi${i}`), { headers: ['Connection', conn] });
            assert.equal(r.status, 200, conn);
            const seen = r.json();
            const ids = identityHeaders(seen);
            const get = (n) => ids.find(([k]) => k.toLowerCase() === n)?.[1];
            assert.equal(get('x-forwarded-user'), 'alice', `Connection: ${conn}`);
            assert.equal(get('x-forwarded-email'), 'alice@example.com', `Connection: ${conn}`);
            assert.equal(get('x-forwarded-groups'), 'staff,admins', `Connection: ${conn}`);
            assert.equal(get('x-forwarded-preferred-username'), 'alice', `Connection: ${conn}`);
            assert.ok(get('x-forwarded-access-token'), `Connection: ${conn}: access token`);
            assert.equal(get('oauth2-claim-sub'), 'alice', `Connection: ${conn}: claims`);
        }
    });

    it('strips 60 spoofed headers (more than one batch)', async () => {
        const many = [];
        for (let i = 0; i < 60; i++) many.push(i % 2 ? 'X-Forwarded-User' : `OAuth2-Claim-c${i}`, `evil${i}`);
        const pub = await request(s.url('/public/many'), { headers: many });
        assertNoIdentity(pub.json(), '60 headers, public');
        const prot = await alice.get(s.url('/app/many'), { headers: many });
        assertAlice(prot.json(), '60 headers, protected');
    });

    it('strips spoofed headers on every request of a keep-alive connection', async () => {
        const sid = alice.cookie('oauth2_session', s.url('/'));
        const one = (path, last) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: oauth2_session=${sid}\r\n`
            + 'X-Forwarded-User: evil\r\nx_forwarded_groups: admins\r\nOAuth2-Claim-role: admin\r\n'
            + `${last ? 'Connection: close\r\n' : ''}\r\n`;
        const raw = await pipelined(s.apache.port, one('/public/k1', false) + one('/app/k2', false) + one('/public/k3', true));
        // Three chunked answers, each body one JSON line.
        const bodies = raw.split('\r\n').filter((l) => l.startsWith('{'));
        assert.equal(bodies.length, 3, 'three answers');
        const seen = bodies.map((b) => JSON.parse(b));
        assert.deepEqual(seen.map((x) => x.url), ['/public/k1', '/app/k2', '/public/k3']);
        assertNoIdentity(seen[0], 'first, public');
        assertAlice(seen[1], 'second, protected');
        assertNoIdentity(seen[2], 'third, public');
    });

    it('never hands a CGI script a spoofed identity', async () => {
        const r = await request(s.url('/cgi-bin/env.cgi'), { headers: SPOOFED });
        assert.equal(r.status, 200);
        const env = parseCgiEnv(r.body);
        const leaked = Object.keys(env).filter((k) => /^(HTTP_X_FORWARDED_(USER|EMAIL|GROUPS|PREFERRED_USERNAME|ACCESS_TOKEN)|HTTP_OAUTH2_CLAIM|REMOTE_USER|AUTH_TYPE|OAUTH2_CLAIM)/.test(k));
        assert.deepEqual(leaked, []);
    });

    it('turns CR/LF in claims into spaces: no header is split or injected', async () => {
        const b = newBrowser();
        const res = await login(b, s.url('/claims/crlf'), { username: 'crlf' });
        assert.equal(res.final.status, 200);
        const seen = res.final.json();
        const names = seen.rawHeaders.filter((_, i) => i % 2 === 0);
        assert.ok(!names.some((n) => /inject/i.test(n)), `no injected header: ${names}`);
        for (const [n, v] of identityHeaders(seen)) assert.doesNotMatch(v, /[\r\n\0]/, n);
        const get = (n) => identityHeaders(seen).find(([k]) => k.toLowerCase() === n)?.[1];
        assert.equal(get('x-forwarded-email'), 'crlf@example.com  X-Injected: 1');
        assert.equal(get('x-forwarded-preferred-username'), 'crlf X-Injected: 2');
        assert.equal(get('x-forwarded-groups'), 'g1  X-Injected-Group: 1,staff');
        assert.equal(get('oauth2-claim-name'), 'Evil  X-Injected: yes');
        const ui = await b.get(s.url('/oauth2/userinfo'));
        assert.equal(ui.json().email, 'crlf@example.com  X-Injected: 1');
        await s.apache.waitForLog(/GET \/oauth2\/userinfo /, { log: 'access' });
        assert.doesNotMatch(s.apache.accessLog(), /^X-Injected/m, 'the access log has no injected line');
    });

    it('never truncates a claim at a NUL into another identity, group, domain or claim value', async () => {
        const b = newBrowser();
        const res = await login(b, s.url('/claims/nul'), { username: 'nul' });
        assert.equal(res.final.status, 200);
        const ids = identityHeaders(res.final.json());
        for (const [n, v] of ids) {
            assert.doesNotMatch(v, /^admin(@example\.com)?$|\badmins\b|\0/, `${n}: ${JSON.stringify(v)}`);
        }
        for (const path of ['/admins/x', '/domain/x', '/role/x']) {
            const r = await b.get(s.url(path));
            assert.equal(r.status, 403, `${path}: a NUL-truncated value must not pass`);
            assertNoBackendBody(r);
        }
        const ui = await b.get(s.url('/oauth2/userinfo'));
        assert.doesNotMatch(ui.body, /"admin|admins"/);
    });

    it('refuses a subject with a NUL byte at login (401, OA2207)', async () => {
        const b = newBrowser();
        const mark = s.apache.mark();
        const res = await login(b, s.url('/admins/sub'), { username: 'root\u0000evil' });
        assert.equal(res.callback.status, 401);
        assertNoBackendBody(res.callback);
        assert.equal(b.cookie('oauth2_session', s.url('/')), undefined);
        await s.apache.waitForLog(/OA2207: login failed/, { since: mark });
        await assertServing(s, alice);
    });

    it('escapes a user name with HTML in the 403 page, userinfo and the logs', async () => {
        const b = newBrowser();
        const user = ACCOUNTS.at(-1).id;
        await login(b, s.url('/app/html'), { username: user });
        const r = await b.get(s.url('/admins/html'));
        assert.equal(r.status, 403);
        assert.ok(!r.body.includes('<img'), 'no markup from the claim');
        assert.match(r.body, /&lt;img src=x onerror=alert\(1\)&gt;&quot;/);
        assert.match(r.headers['content-type'], /^text\/html/);
        const ui = await b.get(s.url('/oauth2/userinfo'));
        assert.equal(ui.json().user, user);
        assert.match(ui.headers['content-type'], /^application\/json/);
    });
});
