// authz.test.mjs: Require oauth2-group / oauth2-claim / oauth2-email-domain
// (alone, in RequireAll/Any/None, in .htaccess), OAuth2UnauthAction for
// scripts and APIs, bearer tokens, claims passed to a CGI script and to the
// proxied backend, and header injection through claim values (issue 3).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { cgiEnvScript, parseCgiEnv } from './lib/backend.mjs';

const ACCOUNTS = [
    {
        id: 'alice',
        email: 'alice@example.com',
        email_verified: true,
        preferred_username: 'alice',
        groups: ['staff', 'admins'],
        department: 'sales',
        level: 3,
        vip: true,
        realm_access: { roles: ['editor', 'viewer'] },
        'https://example.com/roles': ['ops:lead'],
    },
    { id: 'bob', email: 'bob@example.com', email_verified: true, groups: ['users'], department: 'r&d', level: 1, vip: false },
    { id: 'carol', email: 'carol@EXAMPLE.COM', email_verified: true, groups: ['contractors', 'staff'] },
    { id: 'dave', email: 'dave@example.com', email_verified: false, groups: ['staff'] },
    // A provider that sends no email_verified at all (Entra ID, issue 17).
    { id: 'frank', email: 'frank@example.com', groups: ['staff'] },
    // A ',' and a '%' in group names; empty profile values (issue 17).
    { id: 'gina', email: 'gina@example.com', email_verified: true, groups: ['staff,admins', '100%', 'ops'], preferred_username: '', name: '' },
    { id: 'mallory', email: 'a@evil.com@example.com', email_verified: true, groups: [] },
    { id: 'eve', email: 'user@example.com.evil.com', email_verified: true, groups: [] },
    {
        id: 'inject',
        email: 'inject@example.com',
        email_verified: true,
        name: 'Evil\r\nX-Injected: yes\r\n\r\nbody',
        nickname: 'nul\u0000byte',
        groups: ['a\r\nX-Injected-Group: 1'],
        long: 'L'.repeat(5000),
    },
];

const HTACCESS = 'AuthType oauth2\nRequire oauth2-group admins\n';

function locations(s) {
    const prot = (path, require, extra = '') => `
<Location ${path}>
    AuthType oauth2
    ${require}
    ${extra}
    ProxyPass ${s.backend.url}${path}
</Location>`;
    return [
        prot('/grp/admins', 'Require oauth2-group admins'),
        prot('/grp/any', 'Require oauth2-group nobody "staff"'),
        prot('/grp/comma', 'Require oauth2-group "staff,admins"'),
        prot('/claim/eq', 'Require oauth2-claim department:sales'),
        prot('/claim/re', 'Require oauth2-claim "email~^[a-z]+@example\\.com$"'),
        prot('/claim/nested', 'Require oauth2-claim realm_access.roles:editor'),
        prot('/claim/num', 'Require oauth2-claim level:3'),
        prot('/claim/bool', 'Require oauth2-claim vip:true'),
        prot('/claim/url', 'Require oauth2-claim https://example.com/roles:ops:lead'),
        prot('/domain', 'Require oauth2-email-domain example.com'),
        prot('/all', '<RequireAll>\nRequire oauth2-group staff\nRequire oauth2-email-domain example.com\n</RequireAll>'),
        prot('/any', '<RequireAny>\nRequire oauth2-group admins\nRequire oauth2-claim department:r&d\n</RequireAny>'),
        prot('/none', '<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire oauth2-group contractors\n</RequireNone>\n</RequireAll>'),
        prot('/claims', 'Require valid-user', 'OAuth2PassClaims headers'),
        prot('/pass', 'Require valid-user', 'OAuth2UnauthAction pass'),
        prot('/u401', 'Require valid-user', 'OAuth2UnauthAction 401'),
        prot('/u403', 'Require valid-user', 'OAuth2UnauthAction 403'),
        prot('/ulogin', 'Require valid-user', 'OAuth2UnauthAction login'),
        prot('/api', 'Require valid-user', 'OAuth2AcceptBearer On\n    OAuth2BearerAudience https://api.example'),
        prot('/api/admins', 'Require oauth2-group admins', 'OAuth2AcceptBearer On\n    OAuth2BearerAudience https://api.example'),
        // The site's error documents (issue 15): a refused user gets 403 and
        // the site's 403 page, never the 401 one.
        prot('/ed/both', 'Require oauth2-group admins', 'ErrorDocument 403 /errors/403.html\n    ErrorDocument 401 /errors/401.html'),
        prot('/ed/only401', 'Require oauth2-group admins', 'ErrorDocument 401 /errors/401.html'),
        prot('/ed/text', 'Require oauth2-group admins', 'ErrorDocument 403 "Custom forbidden text"\n    ErrorDocument 401 /errors/401.html'),
        `
<Location /cgi-bin/>
    AuthType oauth2
    Require valid-user
    OAuth2PassClaims env
</Location>`,
    ].join('\n');
}

describe('authorization', () => {
    let s;
    const browsers = {};
    async function as(user) {
        if (!browsers[user]) {
            const b = newBrowser();
            await login(b, s.url('/app/'), { username: user });
            browsers[user] = b;
        }
        return browsers[user];
    }
    async function status(user, path) {
        return (await (await as(user)).get(s.url(path))).status;
    }

    before(async () => {
        s = await startStack({
            provider: { accounts: ACCOUNTS },
            locations,
            apache: {
                files: {
                    'htdocs/ht/.htaccess': HTACCESS,
                    'htdocs/ht/index.html': '<!doctype html><title>ht</title>secret page\n',
                    'htdocs/errors/403.html': '<!doctype html><title>403</title>the site\'s own 403 page\n',
                    'htdocs/errors/401.html': '<!doctype html><title>401</title>the site\'s own 401 page\n',
                    'cgi-bin/env.cgi': { content: cgiEnvScript(), mode: 0o755 },
                },
            },
        });
    });
    after(async () => s?.stop());

    const table = [
        // path, allowed users, denied users
        ['/grp/admins', ['alice'], ['bob', 'carol']],
        ['/grp/any', ['alice', 'carol', 'dave'], ['bob']],
        ['/claim/eq', ['alice'], ['bob']],
        ['/claim/re', ['alice', 'bob'], ['carol']],
        ['/claim/nested', ['alice'], ['bob']],
        ['/claim/num', ['alice'], ['bob']],
        ['/claim/bool', ['alice'], ['bob']],
        ['/claim/url', ['alice'], ['bob']],
        ['/domain', ['alice', 'bob', 'carol'], ['dave', 'mallory', 'eve']],
        ['/all', ['alice', 'carol'], ['bob', 'dave']],
        ['/any', ['alice', 'bob'], ['carol']],
        ['/none', ['alice', 'bob'], ['carol']],
        ['/ht/', ['alice'], ['bob']],
    ];
    for (const [path, allowed, denied] of table) {
        it(`${path}: allows ${allowed.join(', ')}; denies ${denied.join(', ')}`, async () => {
            for (const u of allowed) assert.equal(await status(u, path), 200, `${u} at ${path}`);
            for (const u of denied) {
                const r = await (await as(u)).get(s.url(path));
                assert.equal(r.status, 403, `${u} at ${path}`);
                assert.match(r.body, /Access denied/);
                assert.match(r.body, new RegExp(`logged in as ${u},`));
                // Log out / switch account: the logout ends on the signed-out page.
                assert.match(r.body, /<a href="\/oauth2\/logout">Log out to use another account<\/a>/);
                assert.equal(r.headers['www-authenticate'], undefined);
            }
            const anon = await request(s.url(path), { headers: { Accept: 'text/html' } });
            assert.equal(anon.status, 302, `anonymous at ${path} is sent to log in`);
            assert.ok(anon.headers.location.startsWith(s.op.issuer));
        });
    }

    it('answers a refused user with 403 and the site\'s ErrorDocument 403, never its 401 page', async () => {
        const bob = await as('bob');
        const both = await bob.get(s.url('/ed/both'));
        assert.equal(both.status, 403);
        assert.match(both.body, /the site's own 403 page/);
        assert.equal(both.headers['www-authenticate'], undefined);
        const only401 = await bob.get(s.url('/ed/only401'));
        assert.equal(only401.status, 403);
        assert.match(only401.body, /Access denied/);
        assert.doesNotMatch(only401.body, /401 page/);
        const text = await bob.get(s.url('/ed/text'));
        assert.equal(text.status, 403);
        assert.match(text.body, /Custom forbidden text/);
        // alice may, and an anonymous API client still gets the site's 401.
        assert.equal(await status('alice', '/ed/both'), 200);
        const anon = await request(s.url('/ed/both'), { headers: { Accept: 'application/json' } });
        assert.equal(anon.status, 401);
        assert.match(anon.body, /the site's own 401 page/);
    });

    it('logs a refused rule with its tag', async () => {
        const mark = s.apache.mark();
        await status('bob', '/grp/admins');
        await s.apache.waitForLog(/OA2301: user bob does not satisfy Require oauth2-group admins/, { since: mark });
    });

    it('names the rule and the reason of each refusal in the log (issue 17)', async () => {
        const cases = [
            ['frank', '/domain', /OA2301: user frank does not satisfy Require oauth2-email-domain example\.com: the provider did not send email_verified true for frank@example\.com/],
            ['dave', '/domain', /OA2301: user dave does not satisfy Require oauth2-email-domain example\.com: the provider did not send email_verified true for dave@example\.com/],
            ['mallory', '/domain', /OA2301: user mallory does not satisfy Require oauth2-email-domain example\.com: the email a@evil\.com@example\.com is in another domain/],
            ['bob', '/grp/admins', /OA2301: user bob does not satisfy Require oauth2-group admins: the user's groups are: users$/m],
            ['bob', '/claim/eq', /OA2301: user bob does not satisfy Require oauth2-claim department:sales: no value of the claim matches: department: "r&d"$/m],
            ['carol', '/claim/nested', /OA2301: user carol does not satisfy Require oauth2-claim realm_access\.roles:editor: no value of the claim matches: realm_access\.roles: absent$/m],
        ];
        for (const [user, path, want] of cases) {
            const mark = s.apache.mark();
            assert.equal(await status(user, path), 403, `${user} at ${path}`);
            await s.apache.waitForLog(want, { since: mark });
        }
        // The users' tokens and cookies never reach the line.
        assert.doesNotMatch(s.apache.errorLog(), /OA2301:.*(eyJ|oauth2_session=)/);
    });

    it('refuses a syntax error in a Require line at configtest', async () => {
        for (const [line, want] of [
            ['Require oauth2-group', /Require oauth2-group: needs at least one argument/],
            ['Require oauth2-claim department', /Require oauth2-claim: 'department' is not NAME:VALUE/],
            ['Require oauth2-claim "x~("', /Require oauth2-claim: '\(' is not a regular expression/],
            ['Require oauth2-email-domain "exa mple.com"', /Require oauth2-email-domain: 'exa mple.com' is not a domain/],
        ]) {
            const r = await s.apache.configtest(`${s.apache.configText()}\n<Location /bad>\nAuthType oauth2\n${line}\n</Location>\n`);
            assert.notEqual(r.code, 0, line);
            assert.match(r.output, want);
        }
    });

    it('answers scripts and APIs 401 without a state cookie', async () => {
        const cases = [
            { headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: '*/*' } },
            { headers: { Accept: 'application/json' } },
            { method: 'POST', headers: { Accept: 'text/html', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1' },
            { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'cors' } },
            { headers: { Accept: '*/*', 'Sec-Fetch-Mode': 'no-cors' } },
        ];
        for (const c of cases) {
            const r = await request(s.url('/grp/admins'), c);
            assert.equal(r.status, 401, JSON.stringify(c));
            assert.match(r.headers['www-authenticate'], /^Bearer realm="/);
            assert.equal(r.setCookie.length, 0, `no cookie for ${JSON.stringify(c)}`);
        }
        const nav = await request(s.url('/grp/admins'), { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } });
        assert.equal(nav.status, 302);
    });

    it('applies OAuth2UnauthAction 401, 403, login and pass', async () => {
        const api = { headers: { Accept: 'application/json' } };
        assert.equal((await request(s.url('/u401'), { headers: { Accept: 'text/html' } })).status, 401);
        assert.equal((await request(s.url('/u403'), { headers: { Accept: 'text/html' } })).status, 403);
        assert.equal((await request(s.url('/ulogin'), api)).status, 302);
        const pass = await request(s.url('/pass'), { headers: { 'X-Forwarded-User': 'evil' } });
        assert.equal(pass.status, 200);
        const seen = pass.json();
        assert.equal(seen.headers['x-forwarded-user'], undefined);
        assert.equal(seen.headers['x-forwarded-email'], undefined);
        const logged = await (await as('alice')).get(s.url('/pass'));
        assert.equal(logged.json().headers['x-forwarded-user'], 'alice');
    });

    it('passes claims to the proxied backend as headers', async () => {
        const seen = (await (await as('alice')).get(s.url('/claims'))).json().headers;
        assert.equal(seen['oauth2-claim-department'], 'sales');
        assert.equal(seen['oauth2-claim-level'], '3');
        assert.equal(seen['oauth2-claim-vip'], 'true');
        assert.equal(seen['oauth2-claim-realm_access.roles'], 'editor,viewer');
        assert.equal(seen['oauth2-claim-email'], 'alice@example.com');
    });

    it('passes claims and REMOTE_USER to a CGI script', async () => {
        const r = await (await as('alice')).get(s.url('/cgi-bin/env.cgi'));
        assert.equal(r.status, 200);
        const env = parseCgiEnv(r.body);
        assert.equal(env.REMOTE_USER, 'alice');
        assert.equal(env.AUTH_TYPE, 'oauth2');
        assert.equal(env.OAUTH2_CLAIM_department, 'sales');
        assert.equal(env.OAUTH2_CLAIM_realm_access_roles, 'editor,viewer');
        assert.equal(env.HTTP_X_FORWARDED_USER, 'alice');
    });

    it('joins groups with "," everywhere and percent-encodes "," and "%" in a group name (issue 17)', async () => {
        const gina = await as('gina');
        const seen = (await gina.get(s.url('/claims'))).json().headers;
        assert.equal(seen['x-forwarded-groups'], 'staff%2Cadmins,100%25,ops');
        assert.equal(seen['oauth2-claim-groups'], 'staff%2Cadmins,100%25,ops');
        const alice = (await (await as('alice')).get(s.url('/claims'))).json().headers;
        assert.equal(alice['x-forwarded-groups'], 'staff,admins');
        assert.equal(alice['oauth2-claim-groups'], 'staff,admins');
        const env = parseCgiEnv((await gina.get(s.url('/cgi-bin/env.cgi'))).body);
        assert.equal(env.OAUTH2_CLAIM_groups, 'staff%2Cadmins,100%25,ops');
        assert.equal(env.HTTP_X_FORWARDED_GROUPS, 'staff%2Cadmins,100%25,ops');
        // The rules compare the names as the provider sent them.
        assert.equal(await status('gina', '/grp/comma'), 200);
        assert.equal(await status('gina', '/grp/admins'), 403);
        assert.equal(await status('alice', '/grp/comma'), 403);
    });

    it('leaves an absent or empty identity value out instead of sending an empty header (issue 17)', async () => {
        for (const user of ['gina', 'frank']) {
            const r = await (await as(user)).get(s.url('/claims'));
            const names = r.json().rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
            for (const h of ['x-forwarded-preferred-username', 'oauth2-claim-preferred_username', 'oauth2-claim-name']) {
                assert.ok(!names.includes(h), `${user}: no ${h} header`);
            }
            assert.equal(r.json().headers['x-forwarded-email'], `${user}@example.com`);
            const env = parseCgiEnv((await (await as(user)).get(s.url('/cgi-bin/env.cgi'))).body);
            for (const v of ['OAUTH2_CLAIM_preferred_username', 'OAUTH2_CLAIM_name', 'HTTP_X_FORWARDED_PREFERRED_USERNAME']) {
                assert.ok(!(v in env), `${user}: no ${v}`);
            }
            assert.equal(env.OAUTH2_CLAIM_email, `${user}@example.com`);
        }
    });

    it('never lets a claim value split or inject a header', async () => {
        const r = await (await as('inject')).get(s.url('/claims'));
        assert.equal(r.status, 200);
        const seen = r.json();
        const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        assert.ok(!names.includes('x-injected'), 'no injected header');
        assert.ok(!names.includes('x-injected-group'), 'no injected group header');
        for (let i = 1; i < seen.rawHeaders.length; i += 2) {
            assert.doesNotMatch(seen.rawHeaders[i], /[\r\n\0]/, `control character in ${seen.rawHeaders[i - 1]}`);
        }
        assert.equal(seen.headers['oauth2-claim-name'], 'Evil  X-Injected: yes    body');
        assert.equal(seen.headers['x-forwarded-groups'], 'a  X-Injected-Group: 1');
        assert.equal(seen.headers['oauth2-claim-long'].length, 5000);
    });

    describe('bearer tokens', () => {
        const API = 'https://api.example';
        async function call(token, path = '/api') {
            return request(s.url(path), { headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
        }
        function refused(r) {
            assert.equal(r.status, 401);
            assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
            assert.equal(r.setCookie.length, 0);
        }

        it('accepts a valid token issued by the provider', async () => {
            const token = await s.op.accessToken({ aud: API, sub: 'svc-1', groups: ['admins'] });
            const r = await call(token);
            assert.equal(r.status, 200);
            assert.equal(r.json().headers['x-forwarded-user'], 'svc-1');
            assert.equal((await call(token, '/api/admins')).status, 200);
            const mark = s.apache.mark();
            assert.equal((await call(token)).status, 200, 'a repeated token is served from the cache');
            assert.doesNotMatch(s.apache.errorLog({ since: mark }), /OA2303/);
        });

        it('applies Require rules to the token claims', async () => {
            const token = await s.op.accessToken({ aud: API, sub: 'svc-2', groups: ['users'] });
            assert.equal((await call(token)).status, 200);
            const r = await call(token, '/api/admins');
            assert.equal(r.status, 403);
        });

        it('refuses expired, unexpiring, misaddressed and foreign tokens', async () => {
            const now = Math.floor(Date.now() / 1000);
            refused(await call(await s.op.accessToken({ aud: API, exp: now - 3600, iat: now - 7200 })));
            refused(await call(await s.op.accessToken({ aud: API, exp: null })));
            refused(await call(await s.op.accessToken({ aud: 'https://other.example' })));
            refused(await call(await s.op.accessToken({ aud: API, iss: 'https://evil.example' })));
            refused(await call(await s.op.accessToken({ aud: API, nbf: now + 3600 })));
            refused(await call(await s.op.accessToken({ aud: API }, { foreign: true })));
            refused(await call(await s.op.accessToken({ aud: API }, { foreign: true, kid: s.op.kid('RS256') })));
        });

        it('refuses alg none, HMAC with the public key, and a stripped signature', async () => {
            refused(await call(await s.op.accessToken({ aud: API }, { alg: 'none' })));
            const jwk = s.op.jwks.keys.find((k) => k.kty === 'RSA');
            const pem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
            refused(await call(await s.op.accessToken({ aud: API }, { alg: 'HS256', key: pem, kid: jwk.kid })));
            const good = await s.op.accessToken({ aud: API });
            refused(await call(good.split('.').slice(0, 2).join('.') + '.'));
            refused(await call('not-a-jwt'));
            const r = await request(s.url('/api'), { headers: { Accept: 'application/json', Authorization: 'Bearer a b' } });
            refused(r);
        });

        it('ignores bearer tokens where OAuth2AcceptBearer is off', async () => {
            const token = await s.op.accessToken({ aud: API });
            const r = await call(token, '/grp/admins');
            assert.equal(r.status, 401);
            assert.doesNotMatch(r.headers['www-authenticate'], /invalid_token/);
        });
    });
});
