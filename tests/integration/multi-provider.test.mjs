// multi-provider.test.mjs: several providers on one server (issue 14), end
// to end with the real apache2, two oidc-provider instances (staff: A,
// partner: B) and the GitHub simulation (contractors), all started once for
// the file:
//   - apache2 -t: the sections, OAuth2Use and their refusals;
//   - per-place selection, the sign-in page and the remembered choice;
//   - a session is the user only at a place that uses its provider;
//   - Require oauth2-provider qualifies group rules (an OIDC group and a
//     GitHub organisation of the same name);
//   - mix-up attempts (RFC 9700 §4.4, RFC 9207): a state, an iss or a code
//     of one provider at another's callback;
//   - logout and back-channel logout per provider;
//   - one provider down (a second virtual host whose partner is a dead
//     port) while the other serves;
//   - no owned cookie reaches the backend.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createApache, configtest } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startProvider } from './lib/provider.mjs';
import { startGitHub } from './lib/github.mjs';
import { freePort } from './lib/ports.mjs';
import { newBrowser, login, request, rawRequest, parseSetCookie } from './lib/http.mjs';

const SECRET = 'multi-provider-secret-0123456789abcdefghijklmnopq';
const API = { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' };
const BCL_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const CHOICE = 'oauth2_session-provider';
const COOKIE = { staff: 'oauth2_session_staff', partner: 'oauth2_session_partner', contractors: 'oauth2_session_contractors' };

// alice is a user of both OIDC providers (the same sub at each); carol of
// A only, with a group called like a GitHub organisation; bob of B only,
// with the groups A's admins have.
const ACCOUNTS_A = [
    { id: 'alice', email: 'alice@staff.example', email_verified: true, preferred_username: 'alice', groups: ['staff', 'admins'] },
    { id: 'carol', email: 'carol@staff.example', email_verified: true, preferred_username: 'carol', groups: ['acme'] },
];
const ACCOUNTS_B = [
    { id: 'alice', email: 'alice@partner.example', email_verified: true, preferred_username: 'alice', groups: ['partners'] },
    { id: 'bob', email: 'bob@partner.example', email_verified: true, preferred_username: 'bob', groups: ['admins', 'acme'] },
];
const GITHUB_USERS = [
    {
        login: 'octocat',
        id: 583231,
        name: 'The Octocat',
        emails: [{ email: 'octocat@example.com', primary: true, verified: true, visibility: 'private' }],
        orgs: ['acme'],
        teams: [{ org: 'acme', slug: 'devs', name: 'Devs' }],
    },
];

const env = {};
const href = (p, port = env.port) => `http://127.0.0.1:${port}${p}`;

/* ------------------------------------------------------------- config */

function place(path, body) {
    return `
<Location ${path}>
    AuthType oauth2
    ${body}
    ProxyPass ${env.backend.url}${path}
</Location>`;
}

function sections(opA, opB, gh, deadPort) {
    return `
OAuth2Secret ${SECRET}
<OAuth2Provider staff>
    OAuth2Provider ${opA.issuer}
    OAuth2ClientID staff-app
    OAuth2ClientSecret staff-secret
</OAuth2Provider>
<OAuth2Provider partner>
    OAuth2Provider ${opB.issuer}
    OAuth2ClientID partner-app
    OAuth2ClientSecret partner-secret
</OAuth2Provider>
<OAuth2Provider contractors>
    OAuth2Provider github ${gh.url}/
    OAuth2ClientID gh-app
    OAuth2ClientSecret gh-app-secret
</OAuth2Provider>
${place('/staff', 'OAuth2Use staff\n    Require valid-user')}
${place('/partner', 'OAuth2Use partner\n    Require valid-user')}
${place('/any', 'OAuth2Use staff partner\n    Require valid-user')}
${place('/admins', 'OAuth2Use staff partner\n    <RequireAll>\n        Require oauth2-provider staff\n        Require oauth2-group admins\n    </RequireAll>')}
${place('/admins-any', 'OAuth2Use staff partner\n    Require oauth2-group admins')}
${place('/acme', 'OAuth2Use contractors staff\n    <RequireAll>\n        Require oauth2-provider contractors\n        Require oauth2-group acme\n    </RequireAll>')}
${place('/acme-any', 'OAuth2Use contractors staff\n    Require oauth2-group acme')}
<Location /public>
    ProxyPass ${env.backend.url}/public
</Location>
<Location /status>
    SetHandler oauth2-status
</Location>
${place('/ghost', 'OAuth2Use elsewhere\n    Require valid-user')}

Listen 127.0.0.1:${env.port2}
<VirtualHost 127.0.0.1:${env.port2}>
    ServerName 127.0.0.1:${env.port2}
    <OAuth2Provider partner>
        OAuth2Provider http://127.0.0.1:${deadPort}
        OAuth2ClientID partner-app
        OAuth2ClientSecret partner-secret
    </OAuth2Provider>
    ${place('/any', 'OAuth2Use staff partner\n    Require valid-user')}
    ${place('/staff', 'OAuth2Use staff\n    Require valid-user')}
</VirtualHost>

Listen 127.0.0.1:${env.port3}
<VirtualHost 127.0.0.1:${env.port3}>
    ServerName 127.0.0.1:${env.port3}
    OAuth2Cookie mixed
    OAuth2Provider ${opA.issuer}
    OAuth2ClientID staff-app
    OAuth2ClientSecret staff-secret
    <OAuth2Provider elsewhere>
        OAuth2Provider http://127.0.0.1:${deadPort}
        OAuth2ClientID x
        OAuth2ClientSecret y
    </OAuth2Provider>
    ${place('/own', 'Require valid-user')}
    ${place('/partner', 'OAuth2Use partner\n    Require valid-user')}
</VirtualHost>
`;
}

// The README-like example of the issue: staff with Entra ID, contractors
// with GitHub, a partner with its Keycloak (apache2 -t needs no network).
const README_EXAMPLE = `
OAuth2Secret ${SECRET}
<OAuth2Provider staff>
    OAuth2Provider microsoft 72f988bf-86f1-41af-91ab-2d7cd011db47
    OAuth2ClientID 00000000-0000-0000-0000-000000000001
    OAuth2ClientSecret staff-secret
</OAuth2Provider>
<OAuth2Provider contractors>
    OAuth2Provider github
    OAuth2ClientID Iv1.0123456789abcdef
    OAuth2ClientSecret contractors-secret
</OAuth2Provider>
<OAuth2Provider partner>
    OAuth2Provider keycloak https://sso.partner.example/realms/main
    OAuth2ClientID portal
    OAuth2ClientSecret partner-secret
    OAuth2GroupsClaim realm_access.roles
</OAuth2Provider>
<Location /intranet>
    AuthType oauth2
    OAuth2Use staff
    Require oauth2-group 11111111-2222-3333-4444-555555555555
</Location>
<Location /code>
    AuthType oauth2
    OAuth2Use staff contractors
    <RequireAny>
        Require oauth2-provider staff
        <RequireAll>
            Require oauth2-provider contractors
            Require oauth2-group acme
        </RequireAll>
    </RequireAny>
</Location>
<Location /portal>
    AuthType oauth2
    OAuth2Use staff partner
    Require valid-user
</Location>
`;

/* ------------------------------------------------------------ helpers */

/** The user a Cookie header is at a place (an API request), or the status. */
async function userAt(cookie, path, port = env.port) {
    const r = await request(href(path, port), { headers: { ...API, Cookie: cookie } });
    return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
}

/** A browser logged in through /oauth2/NAME/start (rd: a place). */
async function loginWith(name, username, rd, b = newBrowser()) {
    const res = await login(b, href(`/oauth2/${name}/start?rd=${encodeURIComponent(rd)}`), { username });
    return { b, res };
}

function cookieOf(b, name) {
    return b.cookie(name, href('/'));
}

/** The Set-Cookie of name in a response, parsed, or undefined. */
function setCookieOf(r, name) {
    return r.setCookie.map(parseSetCookie).find((c) => c && c.name === name);
}

function sessionCookiesSet(r) {
    return r.setCookie.map(parseSetCookie).filter((c) => c && /^oauth2_session/.test(c.name) && c.name !== CHOICE && c.value !== '');
}

/** Starts a login at NAME without following it: the state and its cookie. */
async function startAt(name, rd = '/any/') {
    const r = await request(href(`/oauth2/${name}/start?rd=${encodeURIComponent(rd)}`), { headers: { Accept: 'text/html' } });
    assert.equal(r.status, 302);
    const state = new URL(r.location).searchParams.get('state');
    const c = setCookieOf(r, `oauth2_state_${state}`);
    assert.ok(state && c, 'a state and its cookie');
    return { state, cookie: `${c.name}=${c.value}`, location: r.location, path: c.attrs.path };
}

/* ------------------------------------------------------------- set-up */

before(async () => {
    env.port = await freePort();
    env.port2 = await freePort();
    env.port3 = await freePort();
    env.deadPort = await freePort();
    const cb = (name, port = env.port) => `http://127.0.0.1:${port}/oauth2/${name}/callback`;
    env.backend = await startBackend();
    env.opA = await startProvider({
        accounts: ACCOUNTS_A,
        backchannelLogout: true,
        clients: [{
            client_id: 'staff-app',
            client_secret: 'staff-secret',
            redirect_uris: [cb('staff'), cb('staff', env.port2), `http://127.0.0.1:${env.port3}/oauth2/callback`],
            backchannel_logout_uri: 'http://127.0.0.1:9/unused',
        }],
    });
    env.opB = await startProvider({
        accounts: ACCOUNTS_B,
        backchannelLogout: true,
        clients: [{
            client_id: 'partner-app',
            client_secret: 'partner-secret',
            redirect_uris: [cb('partner'), cb('partner', env.port3)],
            backchannel_logout_uri: 'http://127.0.0.1:9/unused',
        }],
    });
    env.gh = await startGitHub({
        users: GITHUB_USERS,
        clients: [{ client_id: 'gh-app', client_secret: 'gh-app-secret', callback_url: cb('contractors') }],
    });
    env.apache = await createApache({
        withModule: true,
        port: env.port,
        logLevel: 'info auth_oauth2:debug',
        config: () => sections(env.opA, env.opB, env.gh, env.deadPort),
    });
    await env.apache.start();
});

after(async () => {
    await env.apache?.stop();
    await env.opA?.stop();
    await env.opB?.stop();
    await env.gh?.stop();
    await env.backend?.stop();
});

/* ------------------------------------------------------- 1. apache2 -t */

describe('apache2 -t: <OAuth2Provider NAME> sections and OAuth2Use', () => {
    const section = (name, body) => `<OAuth2Provider ${name}>\n    OAuth2Provider https://idp.example\n    OAuth2ClientID app\n    OAuth2ClientSecret s\n${body}\n</OAuth2Provider>`;
    const t = (text) => configtest(`OAuth2Secret ${SECRET}\n${text}`, { withModule: true });

    it('accepts this file\'s configuration and the README-like example', async () => {
        const mine = await env.apache.configtest();
        assert.equal(mine.code, 0, mine.output);
        assert.match(mine.output, /Syntax OK/);
        const example = await configtest(README_EXAMPLE, { withModule: true });
        assert.equal(example.code, 0, example.output);
    });

    const refused = [
        ['a vhost-level OAuth2 directive inside a section', section('staff', '    OAuth2SessionTimeout 600'),
            /OAuth2SessionTimeout cannot be inside <OAuth2Provider staff>/],
        ['a non-module directive (ServerName) inside a section', section('staff', '    ServerName evil.example'),
            /OA2013.*only the provider's own directives/],
        ['a section without OAuth2Provider inside', '<OAuth2Provider staff>\n    OAuth2ClientID app\n    OAuth2ClientSecret s\n</OAuth2Provider>',
            /<OAuth2Provider staff>: needs OAuth2Provider/],
        ['a name starting with a digit', section('1x', ''), /"1x" is not a provider name/],
        ['a name with a space', section('a b', ''), /is not a provider name/],
        ['a name with a slash', section('a/b', ''), /"a\/b" is not a provider name/],
        ['the same name twice', `${section('staff', '')}\n${section('staff', '')}`, /<OAuth2Provider staff> is there twice/],
        ['the same name twice in another case', `${section('staff', '')}\n${section('Staff', '')}`, /<OAuth2Provider Staff> is there twice/],
        ['a section inside a section', section('outer', section('inner', '')), /cannot be inside another <OAuth2Provider> section/],
        ['OAuth2Use naming an unknown provider', `${section('staff', '')}\n<Location /x>\n    AuthType oauth2\n    OAuth2Use staff nope\n    Require valid-user\n</Location>`,
            /OA2013.*no <OAuth2Provider nope> section is configured/],
        ['<OAuth2Provider> inside <Location>', `<Location /x>\n${section('staff', '')}\n</Location>`, /<OAuth2Provider not allowed (here|in <Location> context)/],
    ];
    for (const [what, text, message] of refused) {
        it(`refuses ${what}`, async () => {
            const r = await t(text);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, message);
        });
    }
});

/* ------------------------------------------ 2. per-Location selection */

describe('per-place selection', () => {
    it('a place with OAuth2Use staff goes straight to A, and the backend gets A\'s user', async () => {
        const b = newBrowser();
        const first = await b.get(href('/staff/one'));
        assert.equal(first.status, 302);
        assert.ok(first.location.startsWith(`${env.opA.issuer}/auth?`), first.location);
        assert.equal(new URL(first.location).searchParams.get('redirect_uri'), href('/oauth2/staff/callback'));
        assert.equal(new URL(first.location).searchParams.get('client_id'), 'staff-app');
        const res = await login(b, href('/staff/one'), { username: 'carol' });
        assert.equal(res.final.status, 200);
        const seen = res.final.json();
        assert.equal(seen.url, '/staff/one');
        assert.equal(seen.headers['x-forwarded-user'], 'carol');
        assert.equal(seen.headers['x-forwarded-email'], 'carol@staff.example');
        assert.ok(cookieOf(b, COOKIE.staff), 'A\'s session cookie');
        assert.equal(cookieOf(b, COOKIE.partner), undefined);
        assert.equal(cookieOf(b, 'oauth2_session'), undefined, 'no host-level session cookie');
    });

    it('the GitHub section logs in through the simulation at its own callback', async () => {
        const { b, res } = await loginWith('contractors', 'octocat', '/acme-any/gh');
        assert.equal(res.authorization && new URL(res.authorization.url).origin, env.gh.url);
        assert.equal(new URL(res.authorization.url).searchParams.get('redirect_uri'), href('/oauth2/contractors/callback'));
        assert.equal(res.final.status, 200, res.final.body.slice(0, 300));
        assert.equal(res.final.json().headers['x-forwarded-user'], 'octocat');
        assert.ok(cookieOf(b, COOKIE.contractors));
    });
});

/* ------------------------------- 3. the sign-in page and the choice */

describe('a place with several providers: the sign-in page and the remembered choice', () => {
    it('shows the page to a browser (200, no-store, a link per provider) and 401 to an API', async () => {
        const r = await newBrowser().get(href('/any/page?x=1&y=2'));
        assert.equal(r.status, 200);
        assert.match(r.headers['cache-control'] ?? '', /no-store/);
        assert.match(r.headers['content-type'], /text\/html/);
        const links = [...r.body.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
        const starts = links.filter((l) => l.startsWith('/oauth2/'));
        assert.equal(starts.length, 2, r.body);
        for (const [i, name] of ['staff', 'partner'].entries()) {
            const u = new URL(starts[i], href('/'));
            assert.equal(u.pathname, `/oauth2/${name}/start`);
            assert.equal(u.searchParams.get('rd'), '/any/page?x=1&y=2', starts[i]);
        }
        assert.doesNotMatch(r.body, /contractors/, 'only the place\'s providers');
        // Markup in the URL (sent raw, as a hand-made link would) stays text.
        const raw = await rawRequest(env.port, `GET /any/p?q="><script>alert(1)</script>&a='b HTTP/1.1\r\nHost: 127.0.0.1:${env.port}\r\nAccept: text/html\r\nConnection: close\r\n\r\n`);
        assert.equal(raw.status, 200, raw.raw.slice(0, 300));
        assert.doesNotMatch(raw.body, /<script>/);
        assert.doesNotMatch(raw.body, /href="[^"]*'/);
        const hrefs = [...raw.body.matchAll(/<a href="(\/oauth2\/[^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
        assert.equal(hrefs.length, 2, raw.body);
        assert.equal(new URL(hrefs[0], href('/')).searchParams.get('rd'), `/any/p?q="><script>alert(1)</script>&a='b`);
        const api = await request(href('/any/page'), { headers: API });
        assert.equal(api.status, 401);
        assert.match(api.headers['www-authenticate'] ?? '', /^Bearer/);
        assert.equal(api.setCookie.length, 0);
    });

    it('a link logs in there and returns to the place; the choice is remembered', async () => {
        const b = newBrowser();
        const page = await b.get(href('/any/chosen?z=2'));
        assert.equal(page.status, 200);
        const link = /<a href="(\/oauth2\/partner\/start[^"]*)"/.exec(page.body)[1].replace(/&amp;/g, '&');
        const res = await login(b, href(link), { username: 'bob' });
        assert.ok(res.authorization.url.startsWith(`${env.opB.issuer}/auth?`));
        assert.equal(res.final.status, 200);
        assert.equal(res.final.json().url, '/any/chosen?z=2');
        assert.equal(res.final.json().headers['x-forwarded-user'], 'bob');
        assert.equal(cookieOf(b, CHOICE), 'partner');
        const choice = b.cookies(href('/')).find((c) => c.name === CHOICE);
        assert.ok(choice.expires > Date.now() + 80 * 24 * 3600 * 1000, 'kept for months');
        assert.ok(choice.httpOnly, 'HttpOnly');
        // The session gone (its cookie only): straight to the remembered one.
        b.deleteCookie(COOKIE.partner);
        const again = await b.get(href('/any/chosen'));
        assert.equal(again.status, 302);
        assert.ok(again.location.startsWith(`${env.opB.issuer}/auth?`), again.location);
        // And it logs in without a page.
        const res2 = await login(b, href('/any/chosen'), { username: 'bob' });
        assert.equal(res2.final.json().headers['x-forwarded-user'], 'bob');
    });

    it('remembers the choice only when its login ends in a session, and forgets it at the host\'s logout', async () => {
        const b = newBrowser();
        // A start that never comes back, and a login the user cancels: no choice.
        const started = await b.get(href('/oauth2/partner/start?rd=/any/c'));
        assert.equal(started.status, 302);
        assert.equal(cookieOf(b, CHOICE), undefined);
        const cancelled = await b.get(href(`/oauth2/partner/callback?error=access_denied&state=${new URL(started.location).searchParams.get('state')}`));
        assert.equal(cancelled.status, 403);
        assert.equal(cookieOf(b, CHOICE), undefined);
        // A login that ends in a session: the choice.
        await login(b, href('/oauth2/partner/start?rd=/any/c'), { username: 'bob' });
        assert.equal(cookieOf(b, CHOICE), 'partner');
        // The provider's own logout keeps it; the host's forgets it.
        const one = await b.get(href('/oauth2/partner/logout?rd=/public/bye'));
        assert.equal(one.status, 302);
        assert.equal(cookieOf(b, CHOICE), 'partner');
        const all = await b.get(href('/oauth2/logout?rd=/public/bye'));
        assert.equal(all.status, 302);
        assert.equal(cookieOf(b, CHOICE), undefined);
        // The next login at a place with several providers: the page again.
        const page = await b.get(href('/any/c'));
        assert.equal(page.status, 200);
        assert.match(page.body, /\/oauth2\/partner\/start/);
    });

    it('ignores a remembered choice that is not among the place\'s providers, or tampered with', async () => {
        for (const value of ['contractors', 'nope', '%3Cscript%3E', 'staff%00', 'x'.repeat(4000), 'staff partner', 'staff,partner']) {
            const r = await request(href('/any/t'), { headers: { Accept: 'text/html', Cookie: `${CHOICE}=${value}` } });
            assert.equal(r.status, 200, `page for ${value.slice(0, 20)}`);
            assert.match(r.body, /\/oauth2\/staff\/start/);
            assert.match(r.body, /\/oauth2\/partner\/start/);
        }
        // Another name among the place's providers is only a choice: the
        // browser is sent there, not let in.
        const other = await request(href('/any/t'), { headers: { Accept: 'text/html', Cookie: `${CHOICE}=staff` } });
        assert.equal(other.status, 302);
        assert.ok(other.location.startsWith(`${env.opA.issuer}/auth?`));
        // At a place with one provider the choice means nothing.
        const one = await request(href('/partner/t'), { headers: { Accept: 'text/html', Cookie: `${CHOICE}=staff` } });
        assert.equal(one.status, 302);
        assert.ok(one.location.startsWith(`${env.opB.issuer}/auth?`));
        // The server is fine.
        assert.equal((await request(href('/public/ok'))).status, 200);
    });
});

describe('the sign-in page: other requests and endpoints', () => {
    it('a POST or a HEAD to a place with several providers: 401, and the page without a body', async () => {
        const post = await request(href('/any/form'), { method: 'POST', headers: { Accept: 'text/html' }, form: { a: '1' } });
        assert.equal(post.status, 401);
        const head = await request(href('/any/h'), { method: 'HEAD', headers: { Accept: 'text/html' } });
        assert.equal(head.status, 200);
        assert.equal(head.body, '');
        assert.match(head.headers['cache-control'] ?? '', /no-store/);
    });

    it('/oauth2/start and /oauth2/choose of a host with named providers only list them all', async () => {
        for (const p of ['/oauth2/start?rd=/any/s', '/oauth2/choose?rd=/any/s']) {
            const r = await request(href(p), { headers: { Accept: 'text/html' } });
            assert.equal(r.status, 200, p);
            assert.match(r.headers['cache-control'] ?? '', /no-store/);
            const links = [...r.body.matchAll(/<a href="(\/oauth2\/[^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
            assert.deepEqual(links.map((l) => l.split('?')[0]), ['/oauth2/staff/start', '/oauth2/partner/start', '/oauth2/contractors/start'], p);
            assert.equal(new URL(links[0], href('/')).searchParams.get('rd'), '/any/s');
        }
        // Without a provider of its own the host has no callback.
        const cb = await request(href('/oauth2/callback?code=x&state=y'));
        assert.equal(cb.status, 404);
    });

    it('a start with a foreign return URL still returns on this host only', async () => {
        const b = newBrowser();
        const res = await login(b, href(`/oauth2/staff/start?rd=${encodeURIComponent('https://evil.example/x')}`), { username: 'alice' });
        const back = res.hops.find((h) => h.url.startsWith(href('/oauth2/staff/callback')));
        assert.ok(back, 'the callback');
        assert.equal(back.status, 302);
        assert.ok(!back.location.includes('evil.example'), back.location);
        assert.equal(new URL(back.location).origin, new URL(href('/')).origin);
    });

    it('/oauth2/NAME/userinfo answers for NAME\'s session only', async () => {
        const { b } = await loginWith('partner', 'bob', '/partner/');
        const ui = await b.get(href('/oauth2/partner/userinfo'), { headers: API });
        assert.equal(ui.status, 200);
        assert.equal(ui.json().user, 'bob');
        assert.equal((await b.get(href('/oauth2/staff/userinfo'), { headers: API })).status, 401);
        assert.equal((await b.get(href('/oauth2/userinfo'), { headers: API })).json().user, 'bob');
    });
});

/* ---------------------------------------- 4. cross-provider refusal */

describe('a session is the user only where its provider is used', () => {
    it('B\'s session is not accepted at a place using only A (sent to A), and is at a place listing B', async () => {
        const { b } = await loginWith('partner', 'alice', '/partner/x');
        const cookie = `${COOKIE.partner}=${cookieOf(b, COOKIE.partner)}`;
        assert.equal(await userAt(cookie, '/partner/x'), 'alice');
        assert.equal(await userAt(cookie, '/any/x'), 'alice');
        assert.equal(await userAt(cookie, '/staff/x'), 401, 'B\'s session at A\'s place');
        const nav = await b.get(href('/staff/x'));
        assert.equal(nav.status, 302);
        assert.ok(nav.location.startsWith(`${env.opA.issuer}/auth?`), nav.location);
        // The same value under A's cookie name is no session of A either.
        assert.equal(await userAt(`${COOKIE.staff}=${cookieOf(b, COOKIE.partner)}`, '/staff/x'), 401);
    });
});

/* ----------------------------------------- 5. rule qualification */

describe('Require oauth2-provider qualifies the other rules', () => {
    it('an OIDC group: A\'s admins pass, B\'s user with the group admins gets 403', async () => {
        const { b: a } = await loginWith('staff', 'alice', '/admins/');
        const { b: bob } = await loginWith('partner', 'bob', '/partner/');
        assert.equal((await a.get(href('/admins/x'))).status, 200);
        const mark = env.apache.mark();
        const refused = await bob.get(href('/admins/x'));
        assert.equal(refused.status, 403);
        await env.apache.waitForLog(/OA2301: user bob does not satisfy Require oauth2-provider staff.*signed in with partner/, { since: mark });
        // The group alone would let bob in: the provider rule refused him.
        assert.equal((await bob.get(href('/admins-any/x'))).status, 200);
    });

    it('a GitHub organisation: octocat in acme passes, an OIDC user with a group acme gets 403', async () => {
        const { b: gh } = await loginWith('contractors', 'octocat', '/acme/');
        const r = await gh.get(href('/acme/x'));
        assert.equal(r.status, 200);
        assert.equal(r.json().headers['x-forwarded-user'], 'octocat');
        const { b: carol } = await loginWith('staff', 'carol', '/staff/');
        assert.equal((await carol.get(href('/acme/x'))).status, 403);
        assert.equal((await carol.get(href('/acme-any/x'))).status, 200, 'the group alone matches carol');
    });
});

/* --------------------------------------------------------- 6. mix-up */

describe('mix-up attempts (RFC 9700 §4.4, RFC 9207)', () => {
    it('refuses a state made at A delivered to B\'s callback (400, OA2203), with no session and no token request', async () => {
        const a = await startAt('staff');
        assert.equal(a.path, '/oauth2/staff/callback');
        env.opB.resetCounts();
        const mark = env.apache.mark();
        const r = await request(href(`/oauth2/partner/callback?code=any-code&state=${a.state}`), { headers: { Accept: 'text/html', Cookie: a.cookie } });
        assert.equal(r.status, 400);
        await env.apache.waitForLog(/OA2203: state cookie refused/, { since: mark });
        assert.deepEqual(sessionCookiesSet(r), []);
        assert.equal(env.opB.counts.token ?? 0, 0, 'no code redeemed at B');
    });

    it('refuses a callback at A that carries B\'s issuer (400, OA2211)', async () => {
        const a = await startAt('staff');
        env.opA.resetCounts();
        const mark = env.apache.mark();
        const r = await request(href(`/oauth2/staff/callback?code=any-code&state=${a.state}&iss=${encodeURIComponent(env.opB.issuer)}`), { headers: { Accept: 'text/html', Cookie: a.cookie } });
        assert.equal(r.status, 400);
        await env.apache.waitForLog(/OA2211: callback from another issuer/, { since: mark });
        assert.deepEqual(sessionCookiesSet(r), []);
        assert.equal(env.opA.counts.token ?? 0, 0);
    });

    it('a code from B at A\'s callback with A\'s valid state: A refuses it, no session (OA2220)', async () => {
        // B's code, stopped before it reaches Apache.
        const got = await login(newBrowser(), href('/oauth2/partner/start?rd=/partner/'), {
            username: 'bob',
            onRedirect: (url) => (url.startsWith(href('/oauth2/partner/callback')) ? false : undefined),
        });
        const codeB = new URL(got.stoppedAt).searchParams.get('code');
        assert.ok(codeB, 'a code from B');
        const a = await startAt('staff', '/staff/mixed');
        env.opA.resetCounts();
        env.opB.resetCounts();
        const mark = env.apache.mark();
        const r = await request(href(`/oauth2/staff/callback?code=${encodeURIComponent(codeB)}&state=${a.state}`), { headers: { Accept: 'text/html', Cookie: a.cookie } });
        await env.apache.waitForLog(/OA2220: the provider refused the code/, { since: mark });
        assert.deepEqual(sessionCookiesSet(r), [], 'no session');
        // It went to A's token endpoint (the only one A's callback knows),
        // which refused it; B never saw it again.
        const sent = env.opA.requests.filter((q) => q.endpoint === 'token');
        assert.equal(sent.length, 1);
        assert.equal(new URLSearchParams(sent[0].body).get('code'), codeB);
        assert.equal(sent[0].status, 400);
        assert.equal(env.opB.counts.token ?? 0, 0);
        // The answer: a fresh login at A, not a session.
        assert.equal(r.status, 302);
        assert.ok(r.location.startsWith(`${env.opA.issuer}/auth?`), r.location);
    });
});

/* --------------------------------------------------------- 7. logout */

async function twoSessions(userA = 'alice', userB = 'alice') {
    const b = newBrowser();
    await loginWith('staff', userA, '/staff/', b);
    await loginWith('partner', userB, '/partner/', b);
    const staff = `${COOKIE.staff}=${cookieOf(b, COOKIE.staff)}`;
    const partner = `${COOKIE.partner}=${cookieOf(b, COOKIE.partner)}`;
    assert.equal(await userAt(staff, '/staff/'), userA);
    assert.equal(await userAt(partner, '/partner/'), userB);
    return { b, staff, partner };
}

function deleted(r, name) {
    const c = setCookieOf(r, name);
    return !!c && (c.value === '' || c.attrs['max-age'] === '0' || Date.parse(c.attrs.expires) < Date.now());
}

describe('logout per provider', () => {
    it('/oauth2/logout ends the sessions of both providers and continues at the first one\'s end_session', async () => {
        const { b, staff, partner } = await twoSessions();
        const r = await b.get(href('/oauth2/logout'));
        assert.equal(r.status, 302);
        assert.ok(r.location.startsWith(env.opA.metadata.end_session_endpoint), r.location);
        assert.ok(deleted(r, COOKIE.staff), 'A\'s cookie deleted');
        assert.ok(deleted(r, COOKIE.partner), 'B\'s cookie deleted');
        assert.equal(await userAt(staff, '/staff/'), 401, 'A\'s session ended');
        assert.equal(await userAt(partner, '/partner/'), 401, 'B\'s session ended');
    });

    it('/oauth2/partner/logout ends B\'s session only', async () => {
        const { b, staff, partner } = await twoSessions();
        const r = await b.get(href('/oauth2/partner/logout'));
        assert.equal(r.status, 302);
        assert.ok(r.location.startsWith(env.opB.metadata.end_session_endpoint), r.location);
        assert.ok(deleted(r, COOKIE.partner));
        assert.equal(setCookieOf(r, COOKIE.staff), undefined, 'A\'s cookie untouched');
        assert.equal(await userAt(partner, '/partner/'), 401);
        assert.equal(await userAt(staff, '/staff/'), 'alice', 'A\'s session lives');
    });
});

/* -------------------------------------- 8. back-channel logout */

describe('back-channel logout per provider', () => {
    const now = () => Math.floor(Date.now() / 1000);
    let jti = 0;
    const tokenOf = (op, aud, claims) => op.signJwt({
        iss: op.issuer, aud, iat: now(), jti: `multi-${process.pid}-${++jti}`, sub: 'alice', events: BCL_EVENT, ...claims,
    }, { header: { typ: 'logout+jwt' } });
    const post = (name, token) => request(href(`/oauth2/${name}/backchannel-logout`), {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `logout_token=${token}`,
    });

    it('A\'s token ends A\'s session of alice at A\'s endpoint, is refused at B\'s, and B\'s session of alice stays', async () => {
        const { staff, partner } = await twoSessions('alice', 'alice');
        const token = await tokenOf(env.opA, 'staff-app');
        let mark = env.apache.mark();
        const atB = await post('partner', token);
        assert.equal(atB.status, 400);
        await env.apache.waitForLog(/back-channel logout/i, { since: mark });
        assert.equal(await userAt(staff, '/staff/'), 'alice', 'refused at B: A\'s session lives');
        assert.equal(await userAt(partner, '/partner/'), 'alice');
        mark = env.apache.mark();
        const atA = await post('staff', token);
        assert.equal(atA.status, 200, atA.body);
        await env.apache.waitForLog(/OA2216: back-channel logout of/, { since: mark });
        assert.equal(await userAt(staff, '/staff/'), 401, 'A\'s session of alice ended');
        assert.equal(await userAt(partner, '/partner/'), 'alice', 'B\'s session of the same sub stays');
    });

    it('B\'s token at A\'s endpoint is refused; at B\'s it ends only B\'s session', async () => {
        const { staff, partner } = await twoSessions('alice', 'alice');
        const token = await tokenOf(env.opB, 'partner-app');
        assert.equal((await post('staff', token)).status, 400);
        assert.equal(await userAt(partner, '/partner/'), 'alice');
        assert.equal((await post('partner', token)).status, 200);
        assert.equal(await userAt(partner, '/partner/'), 401);
        assert.equal(await userAt(staff, '/staff/'), 'alice');
    });

    it('a vhost with named providers only has no /oauth2/backchannel-logout of its own', async () => {
        const token = await tokenOf(env.opA, 'staff-app');
        assert.equal((await post('nope', token)).status, 404, 'no such provider');
        const own = await request(href('/oauth2/backchannel-logout'), {
            method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `logout_token=${token}`,
        });
        assert.equal(own.status, 404);
    });
});

/* ------------------------------------------------ 9. one provider down */

describe('one provider down', () => {
    it('logins at A go on while B\'s discovery fails (502 at /oauth2/partner/start)', async () => {
        const mark = env.apache.mark();
        const down = await request(href('/oauth2/partner/start?rd=/any/', env.port2), { headers: { Accept: 'text/html' } });
        assert.equal(down.status, 502);
        assert.match(down.headers['content-type'], /text\/html/);
        await env.apache.waitForLog(new RegExp(`127\\.0\\.0\\.1:${env.deadPort}`), { since: mark });
        // The sign-in page still lists both; A's login works there.
        const page = await request(href('/any/', env.port2), { headers: { Accept: 'text/html' } });
        assert.equal(page.status, 200);
        const b = newBrowser();
        const res = await login(b, href('/staff/up', env.port2), { username: 'alice' });
        assert.equal(res.final.status, 200);
        assert.equal(res.final.json().headers['x-forwarded-user'], 'alice');
        const again = await request(href('/oauth2/partner/start?rd=/any/', env.port2), { headers: { Accept: 'text/html' } });
        assert.equal(again.status, 502, 'B still down');
        // The main host's B is a different provider, and fine.
        const fine = await request(href('/oauth2/partner/start?rd=/any/'), { headers: { Accept: 'text/html' } });
        assert.equal(fine.status, 302);
    });

    it('the status page answers for a host with named providers only (per-provider counters when labelled)', async (t) => {
        const r = await request(href('/status'));
        assert.equal(r.status, 200);
        assert.match(r.body, /^oauth2_logins_total/m);
        const labelled = [...r.body.matchAll(/^oauth2_discovery_fetches_total\{provider="([^"]+)"\} (\d+)$/gm)];
        if (labelled.length === 0) {
            t.diagnostic('no oauth2_discovery_fetches_total{provider=...} on the status page yet');
            return;
        }
        const by = Object.fromEntries(labelled.map((m) => [m[1], Number(m[2])]));
        assert.ok(by.staff >= 1, r.body);
        assert.ok(by.partner >= 1, r.body);
        // The second host's partner is down (the test above): its failures
        // are counted under its name, and A's are not.
        const down = await request(href('/status', env.port2));
        assert.equal(down.status, 200);
        const failures = Object.fromEntries([...down.body.matchAll(/^oauth2_fetch_failures_total\{provider="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
        assert.ok(failures.partner >= 1, down.body);
        assert.equal(failures.staff, 0, down.body);
    });
});

/* ------------------------------------ 10. no owned cookie to the backend */

describe('no owned cookie reaches the backend', () => {
    it('strips both sessions, the choice and a state cookie at A\'s, both\'s and a public place', async () => {
        const { staff, partner } = await twoSessions('carol', 'bob');
        const st = await startAt('partner');
        const all = [staff, partner, `${CHOICE}=staff`, st.cookie, 'client=mine', `${COOKIE.staff}_1=junk`].join('; ');
        for (const [path, user] of [['/staff/c', 'carol'], ['/any/c', 'carol'], ['/partner/c', 'bob'], ['/public/c', undefined]]) {
            env.backend.reset();
            const r = await request(href(path), { headers: { ...API, Cookie: all } });
            assert.equal(r.status, 200, path);
            const seen = r.json();
            assert.equal(seen.headers['x-forwarded-user'], user, path);
            assert.equal(seen.headers.cookie, 'client=mine', path);
        }
    });
});

/* ------------------- a host's own provider next to named ones (port3) */

describe('a virtual host with a provider of its own and named ones', () => {
    const at = (p) => href(p, env.port3);
    async function both() {
        const b = newBrowser();
        const own = await login(b, at('/own/x'), { username: 'carol' });
        assert.equal(own.final.status, 200, `${own.hops.map((h) => `${h.status} ${h.url}`).join('\n')}\n${own.final.body}`);
        assert.ok(own.authorization.url.startsWith(`${env.opA.issuer}/auth?`));
        assert.equal(new URL(own.authorization.url).searchParams.get('redirect_uri'), at('/oauth2/callback'));
        assert.equal(own.final.json().headers['x-forwarded-user'], 'carol');
        const named = await login(b, at('/oauth2/partner/start?rd=/partner/x'), { username: 'bob' });
        assert.equal(named.final.json().headers['x-forwarded-user'], 'bob');
        return {
            b,
            own: `mixed=${b.cookie('mixed', at('/'))}`,
            partner: `mixed_partner=${b.cookie('mixed_partner', at('/'))}`,
        };
    }

    it('each session is the user only at its own places; no owned cookie reaches the backend', async () => {
        const { own, partner } = await both();
        assert.equal(await userAt(own, '/own/x', env.port3), 'carol');
        assert.equal(await userAt(partner, '/partner/x', env.port3), 'bob');
        assert.equal(await userAt(own, '/partner/x', env.port3), 401, 'the host\'s own session at a place using partner');
        assert.equal(await userAt(partner, '/own/x', env.port3), 401, 'partner\'s session at a place using the host\'s own');
        const nav = await request(at('/own/x'), { headers: { Accept: 'text/html', Cookie: partner } });
        assert.equal(nav.status, 302);
        assert.ok(nav.location.startsWith(`${env.opA.issuer}/auth?`), nav.location);
        const all = [own, partner, 'mixed-provider=partner', 'client=mine', 'mixed_1=x'].join('; ');
        for (const [p, user] of [['/own/c', 'carol'], ['/partner/c', 'bob']]) {
            const r = await request(at(p), { headers: { ...API, Cookie: all } });
            assert.equal(r.status, 200, p);
            assert.equal(r.json().headers['x-forwarded-user'], user, p);
            assert.equal(r.json().headers.cookie, 'client=mine', p);
        }
    });

    it('/oauth2/choose lists the host\'s own provider first, then the named ones', async () => {
        const r = await request(at('/oauth2/choose?rd=/own/'), { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 200);
        const paths = [...r.body.matchAll(/<a href="(\/oauth2\/[^"?]*)\?/g)].map((m) => m[1]);
        assert.deepEqual(paths, ['/oauth2/start', '/oauth2/staff/start', '/oauth2/partner/start', '/oauth2/contractors/start', '/oauth2/elsewhere/start']);
    });

    it('/oauth2/logout ends the own and the named session', async () => {
        const { b, own, partner } = await both();
        const r = await b.get(at('/oauth2/logout'));
        assert.equal(r.status, 302);
        assert.ok(r.location.startsWith(env.opA.metadata.end_session_endpoint), r.location);
        assert.ok(deleted(r, 'mixed') && deleted(r, 'mixed_partner'));
        assert.equal(await userAt(own, '/own/x', env.port3), 401);
        assert.equal(await userAt(partner, '/partner/x', env.port3), 401);
    });

    it('OAuth2Use naming a provider of another virtual host only: 500 and OA2013 at run time', async () => {
        const mark = env.apache.mark();
        const r = await request(href('/ghost/x'), { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 500);
        await env.apache.waitForLog(/OA2013: OAuth2Use elsewhere at \/ghost\/x, but this virtual host has no <OAuth2Provider elsewhere>/, { since: mark });
    });
});
