// groups.test.mjs: group rules from provider APIs end to end through Apache
// (issue 18): Google Workspace groups (Admin SDK Directory API, service
// account with domain-wide delegation), GitLab projects and GitHub
// repositories in `Require oauth2-group`, against faithful local
// simulations (lib/google.mjs, lib/gitlab.mjs, lib/github.mjs) and the real
// oidc-provider for the OpenID Connect logins of the google and gitlab
// presets.
//
// One Apache (prefork, so that concurrent logins run in several processes:
// the Google token is shared through the session store), one virtual host
// per set-up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApache, configtest, REPO_ROOT } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startProvider } from './lib/provider.mjs';
import { startGitHub } from './lib/github.mjs';
import { startGitLab } from './lib/gitlab.mjs';
import { startGoogle, GROUP_SCOPE } from './lib/google.mjs';
import { freePort, waitFor } from './lib/ports.mjs';
import { newBrowser, login, request } from './lib/http.mjs';

const SECRET = 'groups-test-secret-0123456789abcdefghijklmnopqrs';

/* ------------------------------------------------------------ accounts */

// OpenID Connect accounts: Google-shaped (verified email, hd) and
// GitLab-shaped (numeric sub, username).
const OIDC_ACCOUNTS = [
    { id: '1001', email: 'alice@example.com', email_verified: true, hd: 'example.com', name: 'Alice' },
    { id: '1002', email: 'bob@partner.example', email_verified: true, name: 'Bob Partner' },
    { id: '1003', email: 'carol@example.com', email_verified: true, hd: 'example.com' },
    { id: '1004', email: 'dave@example.com', email_verified: true, hd: 'example.com' },
    { id: '1005', email: 'eve@example.com', email_verified: false, hd: 'example.com' },
    { id: '1006', email: 'frank@example.com', email_verified: true, hd: 'example.com' },
    { id: '4101', preferred_username: 'gl-dev', email: 'dev@example.com', email_verified: true, groups_direct: ['acme/dev'] },
    { id: '4102', preferred_username: 'gl-lead', email: 'lead@example.com', email_verified: true, groups_direct: ['acme'] },
    { id: '4103', preferred_username: 'gl-guest', email: 'guest@example.com', email_verified: true, groups_direct: [] },
    { id: '4104', preferred_username: 'gl-out', email: 'out@example.com', email_verified: true, groups_direct: [] },
];

const G = { alice: '1001', bob: '1002', carol: '1003', dave: '1004', eve: '1005', frank: '1006' };
const GL = { dev: '4101', lead: '4102', guest: '4103', out: '4104' };

const GOOGLE = {
    users: [
        { email: 'admin@example.com', admin: true },
        { email: 'helpdesk@example.com' },
        { email: 'alice@example.com' }, { email: 'carol@example.com' }, { email: 'dave@example.com' },
        { email: 'eve@example.com' }, { email: 'frank@example.com' },
    ],
    groups: [
        { email: 'eng@example.com', name: 'Engineering', members: ['alice@example.com', 'dave@example.com', 'eve@example.com'] },
        // alice is in all-staff through eng (nested twice: eng in ops-all in all-staff)
        { email: 'all-staff@example.com', members: ['ops-all@example.com', 'carol@example.com'] },
        { email: 'ops-all@example.com', members: ['eng@example.com'] },
        { email: 'partners@example.com', members: ['bob@partner.example'] },
        { email: 'partner-leads@example.com', members: ['partners@example.com'] },
        ...['g1', 'g2', 'g3', 'g4', 'g5'].map((n) => ({ email: `${n}@example.com`, members: ['dave@example.com'] })),
        { email: 'frank-team@example.com', members: ['frank@example.com'] },
    ],
    serviceAccounts: [{ name: 'groups-reader' }, { name: 'no-delegation', delegated: [] }, { name: 'deleted-key' }],
    pageSize: 2,
};

const GITLAB = {
    users: [{ id: 4101, username: 'gl-dev' }, { id: 4102, username: 'gl-lead' }, { id: 4103, username: 'gl-guest' }, { id: 4104, username: 'gl-out' }],
    groups: [
        { path: 'acme', members: { 'gl-lead': 50 } },
        { path: 'acme/dev', members: { 'gl-dev': 30 } },
    ],
    projects: [
        { path: 'acme/dev/app', visibility: 'private', members: { 'gl-guest': 10 } },
        { path: 'acme/dev/tools', visibility: 'private', members: {} },
        { path: 'acme/secret', visibility: 'private', members: {} },
        { path: 'acme/handbook', visibility: 'internal', members: {} },
    ],
};

const GITHUB_USERS = [
    { login: 'octocat', id: 583231, emails: [{ email: 'octocat@example.com', primary: true, verified: true }], orgs: ['acme'], teams: [{ org: 'acme', slug: 'devs' }] },
    { login: 'monalisa', id: 2001, emails: [{ email: 'mona@example.com', primary: true, verified: true }], orgs: ['acme'], teams: [{ org: 'acme', slug: 'ops' }] },
    { login: 'hubot', id: 2, emails: [{ email: 'hubot@example.com', primary: true, verified: true }], orgs: [], teams: [] },
];

const GITHUB_REPOS = [
    { owner: 'acme', name: 'app', visibility: 'private', collaborators: { octocat: 'write' }, teams: { 'acme:ops': 'maintain' } },
    { owner: 'acme', name: 'public-lib', visibility: 'public', collaborators: { octocat: 'read', hubot: 'write' } },
    { owner: 'acme', name: 'tools', visibility: 'private', collaborators: { octocat: 'admin' } },
];

/* -------------------------------------------------------------- config */

const SITES = ['google', 'gnodeleg', 'gnotadmin', 'gbadkey', 'gitlab', 'glplain', 'glcookie', 'github', 'ghnorepo'];

function protect(backend, place, require, extra = '') {
    return `
    <Location ${place}>
        AuthType oauth2
        ${require}
        ${extra}
        ProxyPass ${backend.url}${place}
    </Location>`;
}

function siteConfig(env, name) {
    const { gh, gl, g, op, backend } = env;
    const port = env.ports[name];
    const client = (id) => `OAuth2ClientID ${id}\n    OAuth2ClientSecret ${id}-secret`;
    const google = (sa, admin) => `
    OAuth2Provider google ${op.issuer}
    ${client(`${name}-app`)}
    OAuth2GoogleServiceAccount file:${env.keys[sa]}
    OAuth2GoogleAdminEmail ${admin}
    OAuth2Endpoint google_directory ${g.url}/
    OAuth2HTTPTimeout 3`;
    const byName = {
        google: `${google('groups-reader', 'admin@example.com')}
    ${protect(backend, '/eng', 'Require oauth2-group eng@example.com')}
    ${protect(backend, '/eng-case', 'Require oauth2-group Eng@Example.COM')}
    ${protect(backend, '/staff', 'Require oauth2-group all-staff@example.com')}
    ${protect(backend, '/partner-leads', 'Require oauth2-group partner-leads@example.com')}
    ${protect(backend, '/partners', 'Require oauth2-group partners@example.com')}
    ${protect(backend, '/nosuch', 'Require oauth2-group nosuch@example.com')}
    ${protect(backend, '/tok', 'Require oauth2-group frank-team@example.com', 'OAuth2PassAccessToken On')}`,
        gnodeleg: `${google('no-delegation', 'admin@example.com')}`,
        gnotadmin: `${google('groups-reader', 'helpdesk@example.com')}`,
        gbadkey: `${google('deleted-key', 'admin@example.com')}`,
        gitlab: `
    OAuth2Provider gitlab ${op.issuer}/
    OAuth2Endpoint gitlab_api ${gl.apiUrl}
    ${client('gitlab-app')}
    OAuth2HTTPTimeout 3
    ${protect(backend, '/proj/app', 'Require oauth2-group project:acme/dev/app')}
    ${protect(backend, '/proj/app-dev', 'Require oauth2-group project:acme/dev/app=developer')}
    ${protect(backend, '/proj/app-owner', 'Require oauth2-group project:Acme/Dev/App=50')}
    ${protect(backend, '/proj/secret', 'Require oauth2-group project:acme/secret=guest')}
    ${protect(backend, '/proj/handbook', 'Require oauth2-group project:acme/handbook=guest')}
    ${protect(backend, '/proj/any', 'Require oauth2-group project:acme/secret acme/dev')}`,
        glplain: `
    OAuth2Provider gitlab ${op.issuer}/
    OAuth2Endpoint gitlab_api ${gl.apiUrl}
    ${client('glplain-app')}`,
        glcookie: `
    OAuth2Provider gitlab ${op.issuer}/
    OAuth2Endpoint gitlab_api ${gl.apiUrl}
    OAuth2SessionStore cookie
    ${client('glcookie-app')}
    ${protect(backend, '/proj/app', 'Require oauth2-group project:acme/dev/app=developer')}`,
        github: `
    OAuth2Provider github
    OAuth2Endpoint authorization ${gh.endpoints.authorization}
    OAuth2Endpoint token ${gh.endpoints.token}
    OAuth2Endpoint github_api ${gh.endpoints.api}
    ${client('gh-app')}
    OAuth2HTTPTimeout 3
    ${protect(backend, '/repo/app', 'Require oauth2-group repo:acme/app')}
    ${protect(backend, '/repo/app-maintain', 'Require oauth2-group repo:acme/app=maintain')}
    ${protect(backend, '/repo/app-admin', 'Require oauth2-group repo:acme/app=admin')}
    ${protect(backend, '/repo/lib', 'Require oauth2-group repo:acme/public-lib')}
    ${protect(backend, '/repo/lib-pull', 'Require oauth2-group repo:acme/public-lib=pull')}`,
        ghnorepo: `
    OAuth2Provider github
    OAuth2Endpoint authorization ${gh.endpoints.authorization}
    OAuth2Endpoint token ${gh.endpoints.token}
    OAuth2Endpoint github_api ${gh.endpoints.api}
    OAuth2Scope "read:user user:email read:org"
    ${client('ghnorepo-app')}
    ${protect(backend, '/repo/app', 'Require oauth2-group repo:acme/app')}`,
    };
    return `
Listen 127.0.0.1:${port}
<VirtualHost 127.0.0.1:${port}>
    ServerName 127.0.0.1:${port}
    OAuth2Secret ${SECRET}
    OAuth2Cookie oa2_${name}
    ${byName[name]}
    ${protect(backend, '/app', 'Require valid-user')}
</VirtualHost>
`;
}

/* ---------------------------------------------------------------- set-up */

const env = {};

function site(name) {
    return (p) => `http://127.0.0.1:${env.ports[name]}${p}`;
}

async function loginAt(name, user, place = '/app/') {
    const b = newBrowser();
    const res = await login(b, site(name)(place), { username: user });
    return { b, res };
}

async function statusAs(b, name, place) {
    return (await b.get(site(name)(place))).status;
}

function writeKey(dir, name) {
    const p = path.join(dir, `${name}.json`);
    fs.writeFileSync(p, env.g.keyFile(name), { mode: 0o600 });
    return p;
}

before(async () => {
    env.ports = {};
    for (const name of SITES) env.ports[name] = await freePort();
    const callback = (name) => `http://127.0.0.1:${env.ports[name]}/oauth2/callback`;
    env.backend = await startBackend();
    env.g = await startGoogle(GOOGLE);
    env.keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mao2-google-keys-'));
    env.keys = Object.fromEntries(['groups-reader', 'no-delegation', 'deleted-key'].map((n) => [n, writeKey(env.keyDir, n)]));
    env.g.deleteKeys('deleted-key');
    env.op = await startProvider({
        accounts: OIDC_ACCOUNTS,
        scopes: ['read_api'],
        refreshTokens: true,
        // The google site's access tokens live 4 s: its session refreshes.
        ttl: { AccessToken: (ctx, token, client) => (client?.clientId === 'google-app' ? 4 : 600) },
        clients: ['google', 'gnodeleg', 'gnotadmin', 'gbadkey', 'gitlab', 'glplain', 'glcookie'].map((name) => ({
            client_id: `${name}-app`,
            client_secret: `${name}-app-secret`,
            redirect_uris: [callback(name)],
        })),
    });
    env.gl = await startGitLab({
        ...GITLAB,
        // GitLab's API takes the tokens its own OAuth server issued.
        tokenOwner: async (token) => {
            const at = await env.op.provider.AccessToken.find(token);
            return at && !at.isExpired ? { userId: at.accountId, scopes: String(at.scope ?? '').split(' ') } : undefined;
        },
    });
    env.gh = await startGitHub({
        users: GITHUB_USERS,
        repos: GITHUB_REPOS,
        clients: [['gh-app', 'github'], ['ghnorepo-app', 'ghnorepo']].map(([id, name]) => ({ client_id: id, client_secret: `${id}-secret`, callback_url: callback(name) })),
    });
    env.apache = await createApache({
        withModule: true,
        mpm: 'prefork',
        mpmConfig: 'StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\nServerLimit 16\nMaxRequestWorkers 16',
        logLevel: 'info auth_oauth2:debug',
        files: {
            'htdocs/gl-lazy/.htaccess': 'AuthType oauth2\nRequire oauth2-group project:acme/dev/tools=guest project:acme/dev/app=maintainer\n',
            'htdocs/gl-lazy/index.html': '<!doctype html><title>lazy</title>gitlab lazy\n',
            'htdocs/gh-lazy/.htaccess': 'AuthType oauth2\nRequire oauth2-group repo:acme/tools=push\n',
            // Everyone but acme/handbook's developers: an API failure must
            // not turn the <RequireNone> into access.
            'htdocs/gl-none/.htaccess': 'AuthType oauth2\n<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire oauth2-group project:acme/handbook=developer project:acme/dev/none\n</RequireNone>\n</RequireAll>\n',
            'htdocs/gl-none/index.html': '<!doctype html><title>none</title>not for handbook developers\n',
            'htdocs/gh-lazy/index.html': '<!doctype html><title>lazy</title>github lazy\n',
        },
        config: () => SITES.map((name) => siteConfig(env, name)).join('\n'),
    });
    await env.apache.start();
});

after(async () => {
    await env.apache?.stop();
    await env.gh?.stop();
    await env.gl?.stop();
    await env.g?.stop();
    await env.op?.stop();
    await env.backend?.stop();
    if (env.keyDir) fs.rmSync(env.keyDir, { recursive: true, force: true });
});

/* --------------------------------------------------------------- Google */

describe('Google Workspace groups (Directory API simulation)', () => {
    it('signs one assertion for all processes at once; the token is cached and shared', async () => {
        // The first logins of the server, at once, in several processes,
        // while the token endpoint is slow: one exchange.
        env.g.resetCounts();
        env.g.fail('token', { mode: 'delay', ms: 600, times: 1 });
        const users = [G.alice, G.carol, G.dave, G.alice, G.carol, G.dave];
        const results = await Promise.all(users.map((u) => loginAt('google', u)));
        for (const { res } of results) assert.equal(res.final.status, 200);
        assert.equal(env.g.counts.token, 1, `token requests: ${env.g.counts.token}`);
        const pids = new Set(env.apache.accessLog().split('\n').filter((l) => l.includes('/oauth2/callback')).map((l) => /pid=(\d+)/.exec(l)?.[1]));
        assert.ok(pids.size >= 2, `callbacks ran in ${pids.size} process(es)`);
        // The assertion Google received: RS256 with the key's kid; iss, sub,
        // scope, aud, one hour.
        const { header, claims } = env.g.requests.find((r) => r.endpoint === 'token').assertion;
        const sa = env.g.account('groups-reader');
        assert.equal(header.alg, 'RS256');
        assert.ok(sa.keys.has(header.kid), 'kid is the key id');
        assert.equal(claims.iss, sa.email);
        assert.equal(claims.sub, 'admin@example.com');
        assert.equal(claims.scope, GROUP_SCOPE);
        assert.equal(claims.aud, env.g.tokenUrl);
        assert.equal(claims.exp - claims.iat, 3600);
        // Later logins use the cached token.
        await loginAt('google', G.alice);
        assert.equal(env.g.counts.token, 1);
    });

    it('admits direct members, members through nested groups, and case-insensitive addresses', async () => {
        const alice = await loginAt('google', G.alice);
        assert.equal(alice.res.final.status, 200);
        const ui = (await alice.b.get(site('google')('/oauth2/userinfo'))).json();
        assert.ok(ui.groups.includes('eng@example.com'), JSON.stringify(ui.groups));
        assert.ok(ui.groups.includes('all-staff@example.com'), 'the nested group the rules name');
        assert.ok(!ui.groups.includes('ops-all@example.com'), 'only named groups are checked for nesting');
        assert.equal(await statusAs(alice.b, 'google', '/eng/x'), 200);
        assert.equal(await statusAs(alice.b, 'google', '/eng-case/x'), 200);
        assert.equal(await statusAs(alice.b, 'google', '/staff/x'), 200);
        assert.equal(await statusAs(alice.b, 'google', '/partners/x'), 403);
        assert.equal(await statusAs(alice.b, 'google', '/nosuch/x'), 403);
        const seen = (await alice.b.get(site('google')('/app/h'))).json();
        assert.match(seen.headers['x-forwarded-groups'], /(^|,)eng@example\.com(,|$)/);
        const carol = await loginAt('google', G.carol);
        assert.equal(await statusAs(carol.b, 'google', '/staff/x'), 200, 'a direct member of all-staff');
        assert.equal(await statusAs(carol.b, 'google', '/eng/x'), 403);
    });

    it('an address of another domain: direct membership counts, nesting across domains does not', async () => {
        env.g.resetCounts();
        const bob = await loginAt('google', G.bob);
        assert.equal(bob.res.final.status, 200);
        assert.equal(await statusAs(bob.b, 'google', '/partners/x'), 200);
        assert.equal(await statusAs(bob.b, 'google', '/partner-leads/x'), 403);
        // hasMember answered "Invalid Input: memberKey"; members.get was asked.
        const hm = env.g.requests.filter((r) => r.endpoint === 'has_member');
        assert.ok(hm.some((r) => r.status === 400));
        assert.ok(env.g.requests.some((r) => r.endpoint === 'members_get' && r.status === 404));
    });

    it('follows pageToken through every page of a user\'s groups', async () => {
        env.g.resetCounts();
        const dave = await loginAt('google', G.dave);
        const ui = (await dave.b.get(site('google')('/oauth2/userinfo'))).json();
        for (const gname of ['eng', 'g1', 'g2', 'g3', 'g4', 'g5']) assert.ok(ui.groups.includes(`${gname}@example.com`), gname);
        const pages = env.g.requests.filter((r) => r.endpoint === 'groups_list');
        assert.equal(pages.length, 3, 'six groups, two to a page');
        assert.equal(pages[0].query.userKey, 'dave@example.com');
        assert.equal(pages[0].query.maxResults, '200');
        assert.ok(pages[1].query.pageToken && pages[2].query.pageToken);
    });

    it('asks nothing for an unverified address (no groups)', async () => {
        env.g.resetCounts();
        const eve = await loginAt('google', G.eve);
        assert.equal(eve.res.final.status, 200);
        assert.equal(await statusAs(eve.b, 'google', '/eng/x'), 403, 'eve is in eng at Google, but her address is unverified');
        assert.equal(env.g.counts.groups_list, undefined);
    });

    it('calls no API on ordinary requests after the login', async () => {
        const alice = await loginAt('google', G.alice);
        env.g.resetCounts();
        for (let i = 0; i < 5; i++) {
            assert.equal(await statusAs(alice.b, 'google', '/staff/x'), 200);
            assert.equal(await statusAs(alice.b, 'google', '/partners/x'), 403);
        }
        assert.deepEqual(env.g.counts, {});
    });

    it('reads the groups again when the session is refreshed', async () => {
        const frank = await loginAt('google', G.frank);
        assert.equal(await statusAs(frank.b, 'google', '/tok/x'), 200);
        const team = env.g.groups.get('frank-team@example.com');
        team.members = [];
        try {
            const mark = env.apache.mark();
            // The access token lives 4 s; until then the session says 200.
            await waitFor(async () => (await statusAs(frank.b, 'google', '/tok/x')) === 403, { timeout: 15000, interval: 250, what: 'the refresh to drop frank-team' });
            await env.apache.waitForLog(/OA2121: access token of 1006 refreshed/, { since: mark });
        } finally {
            team.members = ['frank@example.com'];
        }
    });

    const failures = [
        ['no domain-wide delegation (unauthorized_client)', 'gnodeleg', null,
            /OA2219: login failed: Google token endpoint answered HTTP 401, error 'unauthorized_client': Client is unauthorized .* \(grant domain-wide delegation to client ID \d+ with the scope https:\/\/www\.googleapis\.com\/auth\/admin\.directory\.group\.readonly\)/],
        ['an admin email that is no administrator (403 Not Authorized)', 'gnotadmin', null,
            /OA2219: login failed: Google Directory API groups\.list: HTTP 403 forbidden, not authorized: .*: Not Authorized to access this resource\/api/],
        ['a key Google refuses (deleted: Invalid JWT Signature)', 'gbadkey', null,
            /OA2219: login failed: Google token endpoint answered HTTP 400, error 'invalid_grant': Invalid JWT Signature\./],
        ['a rate limit (403 rateLimitExceeded)', 'google', ['groups_list', { mode: 'ratelimit', status: 403, times: 1 }],
            /OA2219: login failed: Google Directory API groups\.list: HTTP 403 rateLimitExceeded, rate limit: Quota exceeded/],
        ['a rate limit (429)', 'google', ['has_member', { mode: 'ratelimit', status: 429, times: 1 }],
            /OA2219: login failed: Google Directory API members\.hasMember: HTTP 429 rateLimitExceeded, rate limit/],
        ['a Directory API that hangs past OAuth2HTTPTimeout', 'google', ['groups_list', { mode: 'hang', ms: 8000, times: 1 }],
            /OA2219: login failed: Google Directory API groups\.list: .*(timed out|Timeout)/i],
        ['a token endpoint that answers garbage', 'gbadkey', ['token', { mode: 'garbage', times: 1 }],
            /OA2219: login failed: Google token endpoint: /],
    ];
    for (const [what, name, fault, logged] of failures) {
        it(`fails closed on ${what}: a clean 502 page, no session, OA2219`, async () => {
            if (fault) env.g.fail(...fault);
            const mark = env.apache.mark();
            const b = newBrowser();
            const res = await login(b, site(name)('/app/x'), { username: G.alice });
            env.g.clearFaults();
            assert.equal(res.final.status, 502);
            assert.match(res.final.body, /Login failed/);
            assert.doesNotMatch(res.final.body, /Google|ya29|Directory/);
            assert.equal(b.cookie(`oa2_${name}`, site(name)('/')), undefined, 'no session cookie');
            const line = await env.apache.waitForLog(/OA2219/, { since: mark });
            assert.match(line, logged);
            assert.doesNotMatch(env.apache.errorLog({ since: mark }), /ya29\./, 'no Google token in the log');
        });
    }

    it('drops a token the Directory API refuses (401): the next login exchanges a new one', async () => {
        env.g.revokeTokens();
        env.g.resetCounts();
        const mark = env.apache.mark();
        const first = await loginAt('google', G.alice);
        assert.equal(first.res.final.status, 502);
        assert.match(await env.apache.waitForLog(/OA2219/, { since: mark }), /HTTP 401 authError, the access token was refused; it is dropped from the cache/);
        const again = await loginAt('google', G.alice);
        assert.equal(again.res.final.status, 200);
        assert.equal(env.g.counts.token, 1);
    });
});

/* --------------------------------------------------------------- GitLab */

describe('GitLab projects (API simulation)', () => {
    it('asks for read_api only where rules name projects', async () => {
        const { res } = await loginAt('gitlab', GL.dev);
        assert.equal(new URL(res.authorization.url).searchParams.get('scope'), 'openid email profile read_api');
        const plain = await loginAt('glplain', GL.dev);
        assert.equal(new URL(plain.res.authorization.url).searchParams.get('scope'), 'openid email profile');
    });

    it('admits by project access: direct, through the group, through an ancestor group; the level decides', async () => {
        env.gl.resetCounts();
        const table = [
            // place, allowed, denied
            ['/proj/app', ['dev', 'lead'], ['guest', 'out']],
            ['/proj/app-dev', ['dev', 'lead'], ['guest', 'out']],
            ['/proj/app-owner', ['lead'], ['dev', 'guest']],
            ['/proj/secret', ['lead'], ['dev', 'out']],
            ['/proj/handbook', [], ['dev', 'out']],
            ['/proj/any', ['lead', 'dev'], ['guest']],
        ];
        const b = {};
        for (const u of ['dev', 'lead', 'guest', 'out']) b[u] = (await loginAt('gitlab', GL[u])).b;
        // At login: one call per project the rules name, path URL-encoded.
        const calls = env.gl.requests.filter((r) => r.endpoint === 'project');
        assert.equal(calls.length, 4 * 3, calls.map((c) => c.rawId).join(' '));
        assert.deepEqual([...new Set(calls.map((c) => c.rawId))].sort(), ['acme%2Fdev%2Fapp', 'acme%2Fhandbook', 'acme%2Fsecret']);
        assert.ok(calls.every((c) => /^Bearer \S+$/.test(c.headers.authorization)));
        env.gl.resetCounts();
        for (const [place, allowed, denied] of table) {
            for (const u of allowed) assert.equal(await statusAs(b[u], 'gitlab', `${place}/x`), 200, `${u} at ${place}`);
            for (const u of denied) assert.equal(await statusAs(b[u], 'gitlab', `${place}/x`), 403, `${u} at ${place}`);
        }
        assert.deepEqual(env.gl.counts, {}, 'no API call per request');
        const ui = (await b.dev.get(site('gitlab')('/oauth2/userinfo'))).json();
        assert.deepEqual(ui.resources, { 'project:acme/dev/app': 'developer', 'project:acme/secret': 'none', 'project:acme/handbook': 'none' });
    });

    it('resolves a rule first met in .htaccess on its first use, then keeps it in the session', async () => {
        const dev = await loginAt('gitlab', GL.dev);
        const out = await loginAt('gitlab', GL.out);
        env.gl.resetCounts();
        assert.equal(await statusAs(dev.b, 'gitlab', '/gl-lazy/'), 200, 'acme/dev/tools through acme/dev');
        assert.equal(env.gl.counts.project, 1, 'only the unresolved project: acme/dev/app is known from the login');
        assert.equal(await statusAs(out.b, 'gitlab', '/gl-lazy/'), 403);
        assert.equal(env.gl.counts.project, 2);
        env.gl.resetCounts();
        for (let i = 0; i < 3; i++) {
            assert.equal(await statusAs(dev.b, 'gitlab', '/gl-lazy/'), 200);
            assert.equal(await statusAs(out.b, 'gitlab', '/gl-lazy/'), 403);
        }
        assert.deepEqual(env.gl.counts, {}, 'kept in the session, the refusal too');
        const ui = (await dev.b.get(site('gitlab')('/oauth2/userinfo'))).json();
        assert.equal(ui.resources['project:acme/dev/tools'], 'developer');
    });

    it('cookie sessions keep what login and first use found in the sealed cookie', async () => {
        const dev = await loginAt('glcookie', GL.dev);
        assert.equal(await statusAs(dev.b, 'glcookie', '/proj/app/x'), 200);
        env.gl.resetCounts();
        const first = await dev.b.get(site('glcookie')('/gl-lazy/'));
        assert.equal(first.status, 200);
        assert.equal(env.gl.counts.project, 1);
        assert.ok(first.setCookie.some((c) => c.startsWith('oa2_glcookie=')), 'the session cookie is written again');
        for (let i = 0; i < 3; i++) assert.equal(await statusAs(dev.b, 'glcookie', '/gl-lazy/'), 200);
        assert.equal(env.gl.counts.project, 1, 'kept in the cookie');
    });

    it('a token GitLab revoked: the lazy rule answers a clean 502, logged as OA2304', async () => {
        const guest = await loginAt('gitlab', GL.guest);
        const token = env.gl.requests.filter((r) => r.endpoint === 'project').at(-1).headers.authorization.split(' ')[1];
        env.gl.revoke(token);
        const mark = env.apache.mark();
        const r = await guest.b.get(site('gitlab')('/gl-lazy/'));
        assert.equal(r.status, 502);
        assert.match(r.body, /Access not checked/);
        const line = await env.apache.waitForLog(/OA2304/, { since: mark });
        assert.match(line, /GitLab API project acme\/dev\/tools: HTTP 401, the access token was refused/);
        assert.ok(!env.apache.errorLog({ since: mark }).includes(token));
    });

    it('an API failure inside <RequireNone> refuses (502), it never admits', async () => {
        const out = await loginAt('gitlab', GL.out);
        env.gl.fail('project', { mode: 'status', status: 500, times: 1 });
        const mark = env.apache.mark();
        const r = await out.b.get(site('gitlab')('/gl-none/'));
        env.gl.clearFaults();
        assert.equal(r.status, 502);
        assert.doesNotMatch(r.body, /not for handbook developers/);
        await env.apache.waitForLog(/OA2304/, { since: mark });
        // Once GitLab answers, the user (no access to either project) is in.
        assert.equal(await statusAs(out.b, 'gitlab', '/gl-none/'), 200);
    });

    const failures = [
        ['a 500', { mode: 'status', status: 500 }, /GitLab API project acme\/dev\/app: HTTP 500/],
        ['a rate limit (429)', { mode: 'ratelimit' }, /HTTP 429, rate limited \(Retry-After: 60\)/],
        ['garbage', { mode: 'garbage' }, /GitLab API project acme\/dev\/app: /],
        ['an API that hangs', { mode: 'hang', ms: 8000 }, /(timed out|Timeout)/i],
        ['insufficient_scope (403)', { mode: 'status', status: 403, body: { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope: 'api read_api' } }, /HTTP 403, insufficient_scope: the token lacks read_api/],
    ];
    for (const [what, fault, logged] of failures) {
        it(`fails the login closed on ${what}: 502, no session, OA2219`, async () => {
            env.gl.fail('project', { ...fault, times: 1 });
            const mark = env.apache.mark();
            const b = newBrowser();
            const res = await login(b, site('gitlab')('/app/x'), { username: GL.dev });
            env.gl.clearFaults();
            assert.equal(res.final.status, 502);
            assert.equal(b.cookie('oa2_gitlab', site('gitlab')('/')), undefined);
            assert.match(await env.apache.waitForLog(/OA2219/, { since: mark }), logged);
        });
    }
});

/* --------------------------------------------------------------- GitHub */

describe('GitHub repositories (API simulation)', () => {
    it('asks for the repo scope where rules name repositories', async () => {
        const { res } = await loginAt('github', 'octocat');
        assert.equal(new URL(res.authorization.url).searchParams.get('scope'), 'read:user user:email read:org repo');
    });

    it('admits collaborators by their permission; pull on a public repository is nobody\'s proof', async () => {
        env.gh.resetCounts();
        const b = {};
        for (const u of ['octocat', 'monalisa', 'hubot']) b[u] = (await loginAt('github', u)).b;
        const calls = env.gh.requests.filter((r) => r.endpoint === 'repo');
        assert.equal(calls.length, 3 * 2);
        assert.ok(calls.every((c) => c.headers['x-github-api-version'] === '2022-11-28'));
        env.gh.resetCounts();
        const table = [
            ['/repo/app', ['octocat', 'monalisa'], ['hubot']],
            ['/repo/app-maintain', ['monalisa'], ['octocat', 'hubot']],
            ['/repo/app-admin', [], ['octocat', 'monalisa']],
            ['/repo/lib', ['hubot'], ['octocat', 'monalisa']],
            ['/repo/lib-pull', ['hubot'], ['octocat', 'monalisa']],
        ];
        for (const [place, allowed, denied] of table) {
            for (const u of allowed) assert.equal(await statusAs(b[u], 'github', `${place}/x`), 200, `${u} at ${place}`);
            for (const u of denied) assert.equal(await statusAs(b[u], 'github', `${place}/x`), 403, `${u} at ${place}`);
        }
        assert.deepEqual(env.gh.counts, {}, 'no API call per request');
        const ui = (await b.monalisa.get(site('github')('/oauth2/userinfo'))).json();
        assert.deepEqual(ui.resources, { 'repo:acme/app': 'maintain', 'repo:acme/public-lib': 'none' });
    });

    it('resolves an .htaccess rule on first use and keeps it', async () => {
        const octo = await loginAt('github', 'octocat');
        const hubot = await loginAt('github', 'hubot');
        env.gh.resetCounts();
        assert.equal(await statusAs(octo.b, 'github', '/gh-lazy/'), 200);
        assert.equal(await statusAs(hubot.b, 'github', '/gh-lazy/'), 403, 'a private repository hubot cannot see');
        assert.equal(env.gh.counts.repo, 2);
        for (let i = 0; i < 3; i++) {
            assert.equal(await statusAs(octo.b, 'github', '/gh-lazy/'), 200);
            assert.equal(await statusAs(hubot.b, 'github', '/gh-lazy/'), 403);
        }
        assert.equal(env.gh.counts.repo, 2);
    });

    it('without the repo scope a private repository is invisible (404): its rule denies', async () => {
        const { b, res } = await loginAt('ghnorepo', 'octocat');
        assert.equal(new URL(res.authorization.url).searchParams.get('scope'), 'read:user user:email read:org');
        assert.equal(await statusAs(b, 'ghnorepo', '/repo/app/x'), 403);
    });

    it('fails the login closed on a rate limit: 502, OA2219', async () => {
        env.gh.fail('repo', { mode: 'ratelimit', times: 1 });
        const mark = env.apache.mark();
        const b = newBrowser();
        const res = await login(b, site('github')('/app/x'), { username: 'octocat' });
        env.gh.clearFaults();
        assert.equal(res.final.status, 502);
        assert.match(await env.apache.waitForLog(/OA2219/, { since: mark }), /GitHub API \/repos\/acme\/app: HTTP 403, rate limit exhausted/);
    });
});

/* ------------------------------------------------------ the simulations */

describe('the simulations answer as the real APIs document', () => {
    it('Google token endpoint: checks the assertion (signature, iss, sub, scope, aud, exp)', async () => {
        const { g } = env;
        const sa = g.account('groups-reader');
        const [kid, { privateKey }] = [...sa.keys][0];
        const now = Math.floor(Date.now() / 1000);
        const sign = (claims, key = privateKey, header = { alg: 'RS256', typ: 'JWT', kid }) => {
            const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
            const input = `${enc(header)}.${enc(claims)}`;
            return `${input}.${crypto.sign('RSA-SHA256', Buffer.from(input), key).toString('base64url')}`;
        };
        const base = { iss: sa.email, sub: 'admin@example.com', scope: GROUP_SCOPE, aud: g.tokenUrl, iat: now, exp: now + 3600 };
        const ask = (assertion) => request(g.tokenUrl, { method: 'POST', form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion } });
        const ok = await ask(sign(base));
        assert.equal(ok.status, 200);
        assert.match(ok.json().access_token, /^ya29\./);
        assert.equal(ok.json().token_type, 'Bearer');
        const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
        const cases = [
            [sign(base, other), 400, 'invalid_grant', /Invalid JWT Signature/],
            [sign({ ...base, iss: 'nobody@x.iam.gserviceaccount.com' }), 400, 'invalid_grant', /account not found/],
            [sign({ ...base, aud: 'https://oauth2.googleapis.com/token' }), 400, 'invalid_grant', /Failed audience check/],
            [sign({ ...base, exp: now + 7200 }), 400, 'invalid_grant', /short-lived token/],
            [sign({ ...base, iat: now - 7200, exp: now - 3600 }), 400, 'invalid_grant', /short-lived token/],
            [sign({ ...base, scope: '' }), 400, 'invalid_scope', /Empty or missing scope/],
            [sign({ ...base, sub: 'ghost@example.com' }), 400, 'invalid_grant', /Invalid email or User ID/],
            [sign({ ...base, scope: 'https://www.googleapis.com/auth/admin.directory.user.readonly' }), 401, 'unauthorized_client', /Client is unauthorized/],
        ];
        for (const [assertion, status, error, description] of cases) {
            const r = await ask(assertion);
            assert.equal(r.status, status, r.body);
            assert.equal(r.json().error, error);
            assert.match(r.json().error_description, description);
        }
    });

    it('Directory API: 401 without a token, 403 for a token acting as no administrator, hasMember nesting', async () => {
        const { g } = env;
        const list = `${g.url}/admin/directory/v1/groups?userKey=alice%40example.com`;
        const none = await request(list);
        assert.equal(none.status, 401);
        assert.equal(none.json().error.status, 'UNAUTHENTICATED');
        // A token without sub acts as the service account itself.
        const sa = g.account('groups-reader');
        const [kid, { privateKey }] = [...sa.keys][0];
        const now = Math.floor(Date.now() / 1000);
        const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const input = `${enc({ alg: 'RS256', kid })}.${enc({ iss: sa.email, scope: GROUP_SCOPE, aud: g.tokenUrl, iat: now, exp: now + 600 })}`;
        const jwt = `${input}.${crypto.sign('RSA-SHA256', Buffer.from(input), privateKey).toString('base64url')}`;
        const tok = (await request(g.tokenUrl, { method: 'POST', form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt } })).json().access_token;
        const forbidden = await request(list, { headers: { Authorization: `Bearer ${tok}` } });
        assert.equal(forbidden.status, 403);
        assert.equal(forbidden.json().error.message, 'Not Authorized to access this resource/api');
        assert.equal(forbidden.json().error.errors[0].reason, 'forbidden');
    });

    it('GitLab API: 404 for an invisible project, 401 for an unknown token, 403 insufficient_scope, the path must be encoded', async () => {
        const { gl } = env;
        const dev = gl.issueToken('gl-dev');
        const h = (t) => ({ headers: { Authorization: `Bearer ${t}` } });
        const app = await request(`${gl.apiUrl}/projects/acme%2Fdev%2Fapp`, h(dev));
        assert.equal(app.status, 200);
        assert.deepEqual(app.json().permissions, { project_access: null, group_access: { access_level: 30, notification_level: 3 } });
        assert.equal((await request(`${gl.apiUrl}/projects/acme%2Fsecret`, h(dev))).json().message, '404 Project Not Found');
        assert.equal((await request(`${gl.apiUrl}/projects/acme/dev/app`, h(dev))).status, 404, 'an unencoded path is another route');
        assert.equal((await request(`${gl.apiUrl}/projects/acme%2Fdev%2Fapp`, h('nope'))).status, 401);
        const narrow = gl.issueToken('gl-dev', { scopes: ['read_user'] });
        const r = await request(`${gl.apiUrl}/projects/acme%2Fdev%2Fapp`, h(narrow));
        assert.equal(r.status, 403);
        assert.equal(r.json().error, 'insufficient_scope');
    });

    it('GitHub API: a public repository\'s permission endpoint needs push access', async () => {
        const { gh } = env;
        const t = gh.issueToken('octocat', { scopes: ['read:user', 'repo'] });
        const h = { headers: { 'User-Agent': 'groups-test', Authorization: `Bearer ${t}` } };
        const repo = await request(`${gh.apiUrl}/repos/acme/public-lib`, h);
        assert.deepEqual(repo.json().permissions, { admin: false, maintain: false, push: false, triage: false, pull: true });
        const perm = await request(`${gh.apiUrl}/repos/acme/public-lib/collaborators/octocat/permission`, h);
        assert.equal(perm.status, 403);
        assert.match(perm.json().message, /Must have push access/);
        const priv = await request(`${gh.apiUrl}/repos/acme/app/collaborators/monalisa/permission`, h);
        assert.equal(priv.json().permission, 'write');
        assert.equal(priv.json().role_name, 'maintain');
        const narrow = gh.issueToken('octocat', { scopes: ['read:user'] });
        assert.equal((await request(`${gh.apiUrl}/repos/acme/app`, { headers: { 'User-Agent': 'x', Authorization: `Bearer ${narrow}` } })).status, 404);
    });
});

/* ------------------------------------------------------- configuration */

describe('configuration (apache2 -t)', () => {
    const OK = 'OAuth2ClientID a\nOAuth2ClientSecret s\nOAuth2Secret 0123456789abcdef0123456789abcdef-secret';
    const withKey = (text) => text.replace('KEY', env.keys['groups-reader']);

    it('accepts the Google directives and the endpoints', async () => {
        const r = await configtest(withKey(`OAuth2Provider google\n${OK}\nOAuth2GoogleServiceAccount file:KEY\nOAuth2GoogleAdminEmail admin@example.com\nOAuth2Endpoint google_directory https://directory.example.com\n<Location />\nAuthType oauth2\nRequire oauth2-group eng@example.com\n</Location>\n`), { withModule: true });
        assert.equal(r.code, 0, r.output);
    });

    const bad = [
        ['a literal value', 'OAuth2Provider google\nOAuth2GoogleServiceAccount {"type":"service_account"}\nOAuth2GoogleAdminEmail a@example.com', /OAuth2GoogleServiceAccount: takes file:\/path\/key\.json/],
        ['a missing file', 'OAuth2Provider google\nOAuth2GoogleServiceAccount file:/nonexistent/key.json\nOAuth2GoogleAdminEmail a@example.com', /OAuth2GoogleServiceAccount: cannot read \/nonexistent\/key\.json/],
        ['no admin', 'OAuth2Provider google\nOAuth2GoogleServiceAccount file:KEY', /OAuth2GoogleAdminEmail: required with OAuth2GoogleServiceAccount/],
        ['an admin without a key', 'OAuth2Provider google\nOAuth2GoogleAdminEmail admin@example.com', /OAuth2GoogleServiceAccount: required with OAuth2GoogleAdminEmail/],
        ['a bad admin address', 'OAuth2Provider google\nOAuth2GoogleServiceAccount file:KEY\nOAuth2GoogleAdminEmail admin', /OAuth2GoogleAdminEmail: 'admin' is not an email address/],
        ['another provider', 'OAuth2Provider https://sso.example.com\nOAuth2GoogleServiceAccount file:KEY\nOAuth2GoogleAdminEmail admin@example.com', /OAuth2GoogleServiceAccount: needs OAuth2Provider google/],
        ['a GitLab scope without read_api', 'OAuth2Provider gitlab\nOAuth2Scope "openid email"\n<Location />\nAuthType oauth2\nRequire oauth2-group project:acme/app\n</Location>', /OAuth2Scope: Require oauth2-group project:\.\.\. reads GitLab's API: add read_api/],
        ['a project with one segment', 'OAuth2Provider gitlab\n<Location />\nAuthType oauth2\nRequire oauth2-group project:acme\n</Location>', /Require oauth2-group: 'project:acme' is not project:GROUP\/PROJECT/],
        ['an unknown GitLab level', 'OAuth2Provider gitlab\n<Location />\nAuthType oauth2\nRequire oauth2-group project:acme/app=superuser\n</Location>', /'project:acme\/app=superuser' is not/],
        ['a repository path of three segments', 'OAuth2Provider github\n<Location />\nAuthType oauth2\nRequire oauth2-group repo:acme/app/x\n</Location>', /'repo:acme\/app\/x' is not repo:OWNER\/NAME/],
        ['an unknown GitHub level', 'OAuth2Provider github\n<Location />\nAuthType oauth2\nRequire oauth2-group repo:acme/app=owner\n</Location>', /'repo:acme\/app=owner' is not/],
    ];
    for (const [what, text, want] of bad) {
        it(`refuses ${what}`, async () => {
            const r = await configtest(withKey(`${text}\n${OK}\n`), { withModule: true });
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, want);
        });
    }

    it('refuses key files that are not service account keys', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mao2-badkeys-'));
        try {
            const good = JSON.parse(env.g.keyFile('groups-reader'));
            const variants = [
                ['not JSON', 'not json at all', /not a JSON key file/],
                ['an OAuth client secret file', JSON.stringify({ web: { client_id: 'x' } }), /not a service account key \("type" is 'absent'/],
                ['a user credential', JSON.stringify({ ...good, type: 'authorized_user' }), /"type" is 'authorized_user'/],
                ['no private key', JSON.stringify({ ...good, private_key: undefined }), /the key has no "private_key"/],
                ['a broken private key', JSON.stringify({ ...good, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), /private_key: not a PEM private key/],
                ['no token_uri', JSON.stringify({ ...good, token_uri: undefined }), /the key has no "token_uri"/],
            ];
            for (const [what, content, want] of variants) {
                const p = path.join(dir, 'k.json');
                fs.writeFileSync(p, content);
                const r = await configtest(`OAuth2Provider google\n${OK}\nOAuth2GoogleServiceAccount file:${p}\nOAuth2GoogleAdminEmail a@example.com\n`, { withModule: true });
                assert.notEqual(r.code, 0, what);
                assert.match(r.output, want, what);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('conf/examples/google.conf passes apache2 -t with a key file', async () => {
        const text = fs.readFileSync(path.join(REPO_ROOT, 'conf', 'examples', 'google.conf'), 'utf8')
            .replace(/OAuth2GoogleServiceAccount file:\S+/, `OAuth2GoogleServiceAccount key:${env.keys['groups-reader']}`)
            .replace(/file:\S+/g, 'example-value-0123456789abcdefghijklmnopqrstuvwxyz')
            .replace(/ key:(\S+)/, ' file:$1');
        assert.match(text, /^OAuth2GoogleServiceAccount file:/m);
        assert.match(text, /^OAuth2GoogleAdminEmail /m);
        assert.match(text, /Require oauth2-group \S+@/);
        const r = await configtest(text, { withModule: true });
        assert.equal(r.code, 0, r.output);
    });
});
