// providers.test.mjs: the presets end to end through Apache (issue 5).
//
// One Apache, one virtual host (own port, own cookie) per provider set-up,
// started once for the file, with:
//   - the GitHub simulation (lib/github.mjs) behind `OAuth2Provider github`
//     with OAuth2Endpoint overrides (github.com style: the API on its own
//     origin), and behind `OAuth2Provider github <base URL>` alone (GitHub
//     Enterprise Server: the API under /api/v3);
//   - oidc-provider (lib/provider.mjs) emitting Google-, GitLab-, Entra ID-
//     and Keycloak-shaped claims, driving `OAuth2Provider <preset> <issuer>`;
//   - a plain OAuth 2.0 client (no `openid` scope) whose identity comes from
//     a userinfo endpoint (GitHub's GET /user, a classic example);
//   - presets pointing at the real providers, for what can be checked
//     without the network (the authorization redirect).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createApache, configtest } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startProvider } from './lib/provider.mjs';
import { startGitHub } from './lib/github.mjs';
import { freePort } from './lib/ports.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import fs from 'node:fs';

// The module's version is AC_INIT's in configure.ac (written nowhere else).
const VERSION = fs.readFileSync(new URL('../../configure.ac', import.meta.url), 'utf8')
    .match(/^AC_INIT\(\[mod_auth_oauth2\], \[([^\]]+)\]/m)[1];

const SECRET = 'providers-test-secret-0123456789abcdefghijklmnop';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const GROUP_ENG = 'a1b2c3d4-0000-4000-8000-00000000e001';
const GROUP_OPS = 'a1b2c3d4-0000-4000-8000-00000000e002';

/* ------------------------------------------------------------ accounts */

const GITHUB_USERS = [
    {
        login: 'octocat',
        id: 583231,
        name: 'The Octocat',
        email: 'octocat@public.example',
        emails: [
            { email: 'octocat@example.com', primary: true, verified: true, visibility: 'private' },
            { email: 'octocat@unverified.example', primary: false, verified: false, visibility: null },
        ],
        orgs: ['acme'],
        teams: [{ org: 'acme', slug: 'devs', name: 'Devs' }],
    },
    {
        // Seven organisations and four teams: three pages of each at the
        // simulation's page size of 3; acme and its team on the last page.
        login: 'monalisa',
        id: 2001,
        name: 'Mona Lisa',
        emails: [{ email: 'mona@example.com', primary: true, verified: true }],
        orgs: ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'acme'],
        teams: [
            { org: 'o1', slug: 't1' }, { org: 'o2', slug: 't2' }, { org: 'o3', slug: 't3' },
            { org: 'acme', slug: 'ops' },
        ],
    },
    {
        // Verified primary elsewhere; example.com only as an unverified
        // secondary address.
        login: 'mallory',
        id: 666,
        name: null,
        emails: [
            { email: 'mallory@other.example', primary: true, verified: true },
            { email: 'mallory@example.com', primary: false, verified: false },
        ],
        orgs: [],
        teams: [],
    },
    { login: 'hubot', id: 2, emails: [{ email: 'hubot@example.com', primary: true, verified: true }], orgs: [], teams: [] },
];

const OIDC_ACCOUNTS = [
    // Google: numeric sub, hd for Workspace accounts only.
    { id: '109876543210987654321', email: 'alice@example.com', email_verified: true, hd: 'example.com', name: 'Alice Example', given_name: 'Alice', family_name: 'Example', locale: 'en' },
    { id: '100000000000000000002', email: 'bob@gmail.com', email_verified: true, name: 'Bob Gmail' },
    { id: '100000000000000000003', email: 'carol@other.example', email_verified: true, hd: 'other.example', name: 'Carol Other' },
    // GitLab: groups_direct (ID token) and groups (userinfo; inherited
    // subgroups included), full paths.
    { id: '4101', preferred_username: 'gl-dev', nickname: 'gl-dev', email: 'dev@example.com', email_verified: true, groups_direct: ['acme/dev'], groups: ['acme/dev', 'acme/dev/infra'] },
    { id: '4102', preferred_username: 'gl-lead', nickname: 'gl-lead', email: 'lead@example.com', email_verified: true, groups_direct: ['acme'], groups: ['acme', 'acme/dev', 'acme/dev/infra'] },
    // Entra ID: pairwise sub, oid, tid, object-id groups, app roles, no
    // email_verified; one user over the groups limit (overage).
    { id: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', oid: '00000000-0000-0000-66f3-3332eca7ea81', tid: TENANT, preferred_username: 'eve@contoso.onmicrosoft.com', email: 'eve@contoso.com', name: 'Eve Engineer', groups: [GROUP_ENG], roles: ['Reports.Read'] },
    { id: 'BBBBBBBBBBBBBBBBBBBBBIkzqFVrSaSaFHy782bbtaQ', oid: '00000000-0000-0000-66f3-3332eca7ea82', tid: TENANT, preferred_username: 'otto@contoso.onmicrosoft.com', name: 'Otto Ops', groups: [GROUP_OPS] },
    { id: 'CCCCCCCCCCCCCCCCCCCCCIkzqFVrSaSaFHy782bbtaQ', oid: '00000000-0000-0000-66f3-3332eca7ea83', tid: TENANT, preferred_username: 'max@contoso.onmicrosoft.com', name: 'Max Member', _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/00000000-0000-0000-66f3-3332eca7ea83/getMemberObjects' } } },
    // Keycloak: realm and client roles, nested.
    { id: '5f1c1e2a-0000-4000-8000-00000000kc01', preferred_username: 'kc-alice', email: 'kc-alice@example.com', email_verified: true, realm_access: { roles: ['editor', 'offline_access', 'uma_authorization'] }, resource_access: { app: { roles: ['admin', 'reader'] }, account: { roles: ['manage-account'] } }, groups: ['/staff'] },
    { id: '5f1c1e2a-0000-4000-8000-00000000kc02', preferred_username: 'kc-bob', email: 'kc-bob@example.com', email_verified: true, realm_access: { roles: ['viewer'] }, resource_access: { account: { roles: ['manage-account'] } } },
];

const GOOGLE = { alice: '109876543210987654321', bob: '100000000000000000002', carol: '100000000000000000003' };
const ENTRA = { eve: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', otto: 'BBBBBBBBBBBBBBBBBBBBBIkzqFVrSaSaFHy782bbtaQ', max: 'CCCCCCCCCCCCCCCCCCCCCIkzqFVrSaSaFHy782bbtaQ' };
const KC = { alice: '5f1c1e2a-0000-4000-8000-00000000kc01', bob: '5f1c1e2a-0000-4000-8000-00000000kc02' };

/* -------------------------------------------------------------- config */

const SITES = ['github', 'ghes', 'plain', 'google', 'gitlab', 'entra', 'entraname', 'kcrealm', 'kcclient', 'ghcom', 'gheremote'];

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
    const { gh, op, backend } = env;
    const port = env.ports[name];
    const client = (id) => `OAuth2ClientID ${id}\n    OAuth2ClientSecret ${id}-secret`;
    const ghLocations = [
        protect(backend, '/org/acme', 'Require oauth2-group acme'),
        protect(backend, '/org/other', 'Require oauth2-group other-org'),
        protect(backend, '/team/devs', 'Require oauth2-group acme:devs'),
        protect(backend, '/team/ops', 'Require oauth2-group acme:ops'),
        protect(backend, '/team/any', 'Require oauth2-group acme:devs acme:ops'),
        protect(backend, '/email', 'Require oauth2-email-domain example.com'),
        protect(backend, '/token', 'Require valid-user', 'OAuth2PassAccessToken On'),
        protect(backend, '/claims', 'Require valid-user', 'OAuth2PassClaims headers'),
    ].join('');
    const byName = {
        github: `
    OAuth2Provider github
    OAuth2Endpoint authorization ${gh.endpoints.authorization}
    OAuth2Endpoint token ${gh.endpoints.token}
    OAuth2Endpoint github_api ${gh.endpoints.api}
    ${client('gh-app')}
    OAuth2HTTPTimeout 3
    ${ghLocations}`,
        ghes: `
    OAuth2Provider github ${gh.url}/
    ${client('ghes-app')}
    ${ghLocations}`,
        ghcom: `
    OAuth2Provider github
    ${client('ghcom-app')}`,
        gheremote: `
    OAuth2Provider github https://ghe.example.com
    ${client('gheremote-app')}`,
        plain: `
    # plain OAuth 2.0: no openid scope, no ID token, no discovery; identity
    # from the userinfo endpoint (GitHub's GET /user here)
    OAuth2Provider ${gh.url}
    OAuth2Scope read:user
    OAuth2Endpoint authorization ${gh.endpoints.authorization}
    OAuth2Endpoint token ${gh.endpoints.token}
    OAuth2Endpoint userinfo ${gh.endpoints.api}/user
    OAuth2RemoteUserClaim login
    ${client('plain-app')}`,
        google: `
    OAuth2Provider google ${op.issuer}
    ${client('google-app')}
    OAuth2AuthParams hd=example.com
    ${protect(backend, '/workspace', 'Require oauth2-claim hd:example.com')}`,
        gitlab: `
    OAuth2Provider gitlab ${op.issuer}/
    ${client('gitlab-app')}
    ${protect(backend, '/grp/direct', 'Require oauth2-group acme/dev')}
    ${protect(backend, '/grp/inherited', 'Require oauth2-claim groups:acme/dev')}`,
        entra: `
    OAuth2Provider microsoft ${op.issuer}
    ${client('entra-app')}
    OAuth2RemoteUserClaim preferred_username
    ${protect(backend, '/grp/eng', `Require oauth2-group ${GROUP_ENG}`)}
    ${protect(backend, '/tenant', `Require oauth2-claim tid:${TENANT}`)}
    ${protect(backend, '/role', 'Require oauth2-claim roles:Reports.Read')}
    ${protect(backend, '/email', 'Require oauth2-email-domain contoso.com')}`,
        // The provider under another name than its issuer (as a tenant's
        // domain name instead of its ID would be): discovery names the
        // real issuer, which does not match.
        entraname: `
    OAuth2Provider microsoft http://localhost:${op.port}
    ${client('entra-app')}`,
        kcrealm: `
    OAuth2Provider keycloak ${op.issuer}
    ${client('kcrealm-app')}
    OAuth2RemoteUserClaim preferred_username
    OAuth2GroupsClaim realm_access.roles
    ${protect(backend, '/editor', 'Require oauth2-group editor')}
    ${protect(backend, '/app-admin', 'Require oauth2-claim resource_access.app.roles:admin')}`,
        kcclient: `
    OAuth2Provider keycloak ${op.issuer}
    ${client('kcclient-app')}
    OAuth2RemoteUserClaim preferred_username
    OAuth2GroupsClaim resource_access.app.roles
    ${protect(backend, '/admin', 'Require oauth2-group admin')}`,
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

before(async () => {
    env.ports = {};
    for (const name of SITES) env.ports[name] = await freePort();
    const callback = (name) => `http://127.0.0.1:${env.ports[name]}/oauth2/callback`;
    env.backend = await startBackend();
    env.gh = await startGitHub({
        users: GITHUB_USERS,
        pageSize: 3,
        clients: [['gh-app', 'github'], ['ghes-app', 'ghes'], ['plain-app', 'plain']].map(([id, name]) => ({ client_id: id, client_secret: `${id}-secret`, callback_url: callback(name) })),
    });
    env.op = await startProvider({
        accounts: OIDC_ACCOUNTS,
        clients: ['google', 'gitlab', 'entra', 'kcrealm', 'kcclient'].map((name) => ({
            client_id: `${name}-app`,
            client_secret: `${name}-app-secret`,
            redirect_uris: [callback(name)],
        })),
    });
    env.apache = await createApache({
        withModule: true,
        logLevel: 'info auth_oauth2:debug',
        config: () => SITES.map((name) => siteConfig(env, name)).join('\n'),
    });
    await env.apache.start();
});

after(async () => {
    await env.apache?.stop();
    await env.gh?.stop();
    await env.op?.stop();
    await env.backend?.stop();
});

/* --------------------------------------------------------------- GitHub */

describe('GitHub preset (simulation, github.com style endpoints)', () => {
    it('logs in: REMOTE_USER is the login, email the primary verified one, groups the orgs and org:team', async () => {
        env.gh.resetCounts();
        const { b, res } = await loginAt('github', 'octocat', '/app/hello?x=1');
        assert.equal(res.final.status, 200);
        const seen = res.final.json();
        assert.equal(seen.url, '/app/hello?x=1');
        assert.equal(seen.headers['x-forwarded-user'], 'octocat');
        assert.equal(seen.headers['x-forwarded-preferred-username'], 'octocat');
        assert.equal(seen.headers['x-forwarded-email'], 'octocat@example.com');
        assert.equal(seen.headers['x-forwarded-groups'], 'acme,acme:devs');
        const ui = (await b.get(site('github')('/oauth2/userinfo'))).json();
        assert.equal(ui.user, 'octocat');
        assert.deepEqual(ui.groups, ['acme', 'acme:devs']);
        await env.apache.waitForLog(/ - octocat \[[^\]]+\] "GET \/app\/hello\?x=1/, { log: 'access' });

        // The authorization request: GitHub's scopes, PKCE, no nonce.
        const auth = new URL(res.authorization.url);
        assert.equal(auth.origin + auth.pathname, env.gh.endpoints.authorization);
        assert.equal(auth.searchParams.get('scope'), 'read:user user:email read:org');
        assert.equal(auth.searchParams.get('client_id'), 'gh-app');
        assert.equal(auth.searchParams.get('redirect_uri'), site('github')('/oauth2/callback'));
        assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
        assert.equal(auth.searchParams.get('nonce'), null);

        // The token request: client credentials as parameters (GitHub's
        // documented way), JSON asked for.
        const tok = env.gh.requests.find((r) => r.endpoint === 'token');
        assert.equal(tok.clientAuth, 'post');
        assert.match(tok.headers.accept, /application\/json/);
        assert.match(tok.body, /code_verifier=/);

        // The REST calls: every list read, with GitHub's headers.
        const api = env.gh.requests.filter((r) => r.origin === 'api');
        assert.deepEqual(api.map((r) => r.endpoint), ['user', 'emails', 'orgs', 'teams']);
        for (const r of api) {
            assert.match(r.headers.authorization, /^Bearer gho_/);
            assert.equal(r.headers.accept, 'application/vnd.github+json');
            assert.equal(r.headers['x-github-api-version'], '2022-11-28');
            assert.equal(r.headers['user-agent'], `mod_auth_oauth2/${VERSION}`);
            assert.equal(r.status, 200);
        }
    });

    it('allows and denies by org and org:team', async () => {
        const table = [
            // place, allowed, denied
            ['/org/acme', ['octocat', 'monalisa'], ['hubot', 'mallory']],
            ['/org/other', [], ['octocat', 'monalisa']],
            ['/team/devs', ['octocat'], ['monalisa', 'hubot']],
            ['/team/ops', ['monalisa'], ['octocat']],
            ['/team/any', ['octocat', 'monalisa'], ['hubot']],
        ];
        const browsers = {};
        for (const u of ['octocat', 'monalisa', 'hubot', 'mallory']) browsers[u] = (await loginAt('github', u)).b;
        for (const [place, allowed, denied] of table) {
            for (const u of allowed) assert.equal(await statusAs(browsers[u], 'github', place), 200, `${u} at ${place}`);
            for (const u of denied) {
                const r = await browsers[u].get(site('github')(place));
                assert.equal(r.status, 403, `${u} at ${place}`);
                assert.match(r.body, new RegExp(`logged in as ${u}, but this account is not allowed`));
            }
        }
    });

    it('follows Link pagination for a user in more than one page of orgs and teams', async () => {
        env.gh.resetCounts();
        const { b, res } = await loginAt('github', 'monalisa');
        assert.equal(res.final.status, 200);
        const groups = res.final.json().headers['x-forwarded-groups'].split(',');
        assert.deepEqual(groups, ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'acme', 'o1:t1', 'o2:t2', 'o3:t3', 'acme:ops']);
        const pages = (ep) => env.gh.requests.filter((r) => r.endpoint === ep).map((r) => r.query.page ?? '1');
        assert.deepEqual(pages('orgs'), ['1', '2', '3']);
        assert.deepEqual(pages('teams'), ['1', '2']);
        assert.equal(await statusAs(b, 'github', '/org/acme'), 200);
        assert.equal(await statusAs(b, 'github', '/team/ops'), 200);
    });

    it('keeps the groups in the session: no API call per request', async () => {
        const { b } = await loginAt('github', 'octocat');
        env.gh.resetCounts();
        for (let i = 0; i < 5; i++) assert.equal(await statusAs(b, 'github', '/team/devs'), 200);
        assert.deepEqual(env.gh.counts, {});
    });

    it('uses only the primary verified email (never an unverified secondary one)', async () => {
        const { b, res } = await loginAt('github', 'mallory');
        assert.equal(res.final.json().headers['x-forwarded-email'], 'mallory@other.example');
        assert.equal(await statusAs(b, 'github', '/email'), 403);
        const { b: ok } = await loginAt('github', 'octocat');
        assert.equal(await statusAs(ok, 'github', '/email'), 200);
    });

    it('never sends the GitHub token to the backend unless OAuth2PassAccessToken On', async () => {
        const { b } = await loginAt('github', 'hubot');
        const tokens = [...env.gh.tokens].filter(([, t]) => t.login === 'hubot').map(([k]) => k);
        const token = tokens.at(-1);
        assert.ok(token);
        env.backend.reset();
        for (const place of ['/app/t', '/claims/t', '/org/acme']) await b.get(site('github')(place));
        const seen = JSON.stringify(env.backend.requests);
        assert.ok(env.backend.requests.length >= 2);
        assert.ok(!seen.includes(token), 'the token reached the backend');
        assert.ok(!seen.includes('gho_'), 'a GitHub token reached the backend');
        const r = await b.get(site('github')('/token/t'));
        assert.equal(r.json().headers['x-forwarded-access-token'], token);
        await env.apache.waitForLog(/GET \/token\/t /, { log: 'access' });
        assert.ok(!env.apache.errorLog().includes(token), 'the token is in the error log');
        assert.ok(!env.apache.accessLog().includes(token), 'the token is in the access log');
    });

    const failures = [
        ['a 500 from /user/orgs', 'orgs', { mode: 'status', status: 500 }, /GitHub API \/user\/orgs \(page 1\): HTTP 500/],
        ['a primary rate limit on /user/teams', 'teams', { mode: 'ratelimit' }, /GitHub API \/user\/teams \(page 1\): HTTP 403, rate limit exhausted \(resets at \d+\): API rate limit exceeded/],
        ['a secondary rate limit (429) on /user', 'user', { mode: 'secondary' }, /GitHub API \/user \(page 1\): HTTP 429/],
        ['a 401 for the token on /user', 'user', { mode: 'status', status: 401, body: '{"message":"Bad credentials"}' }, /\/user \(page 1\): HTTP 401, the access token was refused/],
        ['garbage from /user/emails', 'emails', { mode: 'garbage' }, /\/user\/emails \(page 1\): the answer is not a JSON array/],
        ['a connection reset on /user/orgs', 'orgs', { mode: 'reset' }, /GitHub API \/user\/orgs \(page 1\): .*(reset|Server returned nothing|Recv failure)/i],
        ['an API that hangs past OAuth2HTTPTimeout', 'teams', { mode: 'hang', ms: 8000 }, /GitHub API \/user\/teams \(page 1\): .*(timed out|Timeout)/i],
    ];
    for (const [what, endpoint, fault, logged] of failures) {
        it(`answers ${what} during login with a clean 502 page, logged as OA2207`, async () => {
            const b = newBrowser();
            env.gh.fail(endpoint, { ...fault, times: 1 });
            const mark = env.apache.mark();
            const res = await login(b, site('github')('/app/fail'), { username: 'octocat' });
            env.gh.clearFaults();
            assert.equal(res.final.status, 502);
            assert.match(res.final.body, /Sign-in is unavailable/);
            assert.doesNotMatch(res.final.body, /gho_|GitHub API/);
            assert.equal(b.cookie('oa2_github', site('github')('/')), undefined, 'no session cookie');
            const line = await env.apache.waitForLog(/OA2207: login failed/, { since: mark });
            assert.match(line, logged);
            assert.doesNotMatch(env.apache.errorLog({ since: mark }), /gho_/);
            // and the next login works
            assert.equal((await loginAt('github', 'octocat')).res.final.status, 200);
        });
    }

    it('answers bad_verification_code (GitHub\'s invalid_grant, at HTTP 200) with one fresh login, not a 502 (OA2220)', async () => {
        const b = newBrowser();
        env.gh.fail('token', { mode: 'body', body: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' }, times: 1 });
        const mark = env.apache.mark();
        const res = await login(b, site('github')('/app/badcode'), { username: 'octocat' });
        env.gh.clearFaults();
        assert.equal(res.final.status, 200);
        assert.equal(res.final.json().url, '/app/badcode');
        await env.apache.waitForLog(/OA2220: the provider refused the code \(token endpoint answered HTTP 200, error 'bad_verification_code'\)/, { since: mark });
    });

    it('never follows a next link off the API: the login fails, the other host sees nothing', async () => {
        env.backend.reset();
        env.gh.fail('orgs', { mode: 'link', link: `<${env.backend.url}/stolen/user/orgs?page=2>; rel="next"`, times: 1 });
        const mark = env.apache.mark();
        const res = await login(newBrowser(), site('github')('/app/link'), { username: 'octocat' });
        env.gh.clearFaults();
        assert.equal(res.final.status, 502);
        const line = await env.apache.waitForLog(/OA2207/, { since: mark });
        assert.match(line, /the next page link '.*\/stolen\/user\/orgs\?page=2' leaves .*; not followed/);
        assert.equal(env.backend.requests.filter((r) => r.url.startsWith('/stolen')).length, 0);
    });
});

describe('GitHub Enterprise Server (OAuth2Provider github BASE-URL)', () => {
    it('uses BASE/login/oauth/* and the API under BASE/api/v3, with pagination there', async () => {
        env.gh.resetCounts();
        const { b, res } = await loginAt('ghes', 'monalisa');
        assert.equal(res.final.status, 200);
        assert.equal(res.final.json().headers['x-forwarded-groups'], 'o1,o2,o3,o4,o5,o6,acme,o1:t1,o2:t2,o3:t3,acme:ops');
        assert.ok(res.authorization.url.startsWith(`${env.gh.url}/login/oauth/authorize?`));
        const api = env.gh.requests.filter((r) => r.endpoint !== 'token' && r.path.startsWith('/api/v3/'));
        assert.equal(api.length, 1 + 1 + 3 + 2);
        assert.ok(api.every((r) => r.origin === 'web'));
        assert.equal(env.gh.requests.filter((r) => r.origin === 'api').length, 0);
        assert.equal(await statusAs(b, 'ghes', '/team/ops'), 200);
        assert.equal(await statusAs(b, 'ghes', '/team/devs'), 403);
    });
});

describe('GitHub preset defaults (real endpoints, redirect only)', () => {
    for (const [name, origin] of [['ghcom', 'https://github.com'], ['gheremote', 'https://ghe.example.com']]) {
        it(`${name}: sends the browser to ${origin}/login/oauth/authorize with GitHub's scopes`, async () => {
            const r = await request(site(name)('/app/'), { headers: { Accept: 'text/html' } });
            assert.equal(r.status, 302);
            const u = new URL(r.headers.location);
            assert.equal(u.origin + u.pathname, `${origin}/login/oauth/authorize`);
            assert.equal(u.searchParams.get('scope'), 'read:user user:email read:org');
            assert.equal(u.searchParams.get('client_id'), `${name}-app`);
            assert.equal(u.searchParams.get('nonce'), null);
        });
    }
});

describe('the GitHub simulation answers as GitHub documents', () => {
    const UA = { 'User-Agent': 'providers-test' };
    async function codeFor(user = 'hubot', extra = '') {
        const b = newBrowser();
        const start = `${env.gh.endpoints.authorization}?client_id=gh-app&scope=read:user&state=st${extra}`;
        const res = await login(b, start, { username: user, onRedirect: (u) => (u.includes('/oauth2/callback') ? false : u) });
        return new URL(res.stoppedAt);
    }
    const redeem = (code, headers = {}) => request(env.gh.endpoints.token, { method: 'POST', headers, form: { client_id: 'gh-app', client_secret: 'gh-app-secret', code } });

    it('token: form-encoded by default, JSON with Accept: application/json; errors at HTTP 200', async () => {
        const cb = await codeFor();
        assert.equal(cb.searchParams.get('state'), 'st');
        const form = await redeem(cb.searchParams.get('code'));
        assert.equal(form.status, 200);
        assert.match(form.headers['content-type'], /^application\/x-www-form-urlencoded/);
        const f = new URLSearchParams(form.body);
        assert.match(f.get('access_token'), /^gho_[A-Za-z0-9]{36}$/);
        assert.equal(f.get('token_type'), 'bearer');
        assert.equal(f.get('scope'), 'read:user');
        const again = await redeem(cb.searchParams.get('code'), { Accept: 'application/json' });
        assert.equal(again.status, 200);
        assert.equal(again.json().error, 'bad_verification_code');
        const json = await redeem((await codeFor()).searchParams.get('code'), { Accept: 'application/json' });
        assert.match(json.json().access_token, /^gho_/);
        const creds = await request(env.gh.endpoints.token, { method: 'POST', form: { client_id: 'gh-app', client_secret: 'wrong', code: 'x' } });
        assert.equal(new URLSearchParams(creds.body).get('error'), 'incorrect_client_credentials');
    });

    it('authorize: a redirect_uri outside the callback URL goes back with redirect_uri_mismatch', async () => {
        const bad = await codeFor('hubot', `&redirect_uri=${encodeURIComponent(`http://127.0.0.1:${env.ports.github}/elsewhere`)}`);
        assert.equal(bad.searchParams.get('error'), 'redirect_uri_mismatch');
        assert.equal(bad.pathname, '/oauth2/callback');
        const sub = await codeFor('hubot', `&redirect_uri=${encodeURIComponent(`http://127.0.0.1:${env.ports.github}/oauth2/callback/sub`)}`);
        assert.ok(sub.searchParams.get('code'), 'a subdirectory of the callback URL is fine');
    });

    it('authorize: the login page, the authorize page, or an immediate redirect', async () => {
        const start = `${env.gh.endpoints.authorization}?client_id=gh-app&scope=read:org&state=s2`;
        const stop = { onRedirect: (u) => (u.includes('/oauth2/callback') ? false : u) };
        env.gh.opts.autoAuthorize = false;
        try {
            const first = await login(newBrowser(), start, { username: 'hubot', ...stop });
            assert.ok(first.loginForm, 'the login page was shown');
            assert.ok(first.hops.some((h) => /<form id="authorize"/.test(h.body ?? '')), 'the authorize page was shown');
            assert.ok(new URL(first.stoppedAt).searchParams.get('code'));
        } finally {
            env.gh.opts.autoAuthorize = true;
        }
        env.gh.opts.autoLogin = 'hubot';
        try {
            const r = await request(start);
            assert.equal(r.status, 302);
            const cb = new URL(r.headers.location);
            assert.equal(cb.origin + cb.pathname, site('github')('/oauth2/callback'));
            assert.equal(cb.searchParams.get('state'), 's2');
            assert.match(cb.searchParams.get('code'), /^[0-9a-f]{20}$/);
        } finally {
            delete env.gh.opts.autoLogin;
        }
    });

    it('API: User-Agent required, 401 for a bad token, scopes checked, rate limit with its headers', async () => {
        const token = env.gh.issueToken('hubot', { scopes: ['read:user'] });
        const auth = { Authorization: `Bearer ${token}` };
        assert.equal((await request(`${env.gh.apiUrl}/user`, { headers: auth })).status, 403);
        const bad = await request(`${env.gh.apiUrl}/user`, { headers: { ...UA, Authorization: 'Bearer gho_nope' } });
        assert.equal(bad.status, 401);
        assert.equal(bad.json().message, 'Bad credentials');
        assert.equal((await request(`${env.gh.apiUrl}/user/orgs`, { headers: { ...UA, ...auth } })).status, 403, 'read:org missing');
        assert.equal((await request(`${env.gh.apiUrl}/user`, { headers: { ...UA, ...auth, 'X-GitHub-Api-Version': '1999-01-01' } })).status, 400);
        env.gh.setRateLimit('hubot', 1);
        const last = await request(`${env.gh.apiUrl}/user`, { headers: { ...UA, ...auth } });
        assert.equal(last.status, 200);
        assert.equal(last.headers['x-ratelimit-remaining'], '0');
        const limited = await request(`${env.gh.apiUrl}/user`, { headers: { ...UA, ...auth } });
        env.gh.setRateLimit('hubot', null);
        assert.equal(limited.status, 403);
        assert.equal(limited.headers['x-ratelimit-remaining'], '0');
        assert.match(limited.headers['x-ratelimit-reset'], /^\d+$/);
        assert.match(limited.json().message, /^API rate limit exceeded/);
    });

    it('API: pages of per_page items (capped by the page size) with GitHub\'s Link relations', async () => {
        const token = env.gh.issueToken('monalisa');
        const headers = { ...UA, Authorization: `token ${token}` };
        const p2 = await request(`${env.gh.apiUrl}/user/orgs?per_page=100&page=2`, { headers });
        assert.deepEqual(p2.json().map((o) => o.login), ['o4', 'o5', 'o6']);
        const rels = Object.fromEntries([...p2.headers.link.matchAll(/<([^>]+)>; rel="(\w+)"/g)].map((m) => [m[2], m[1]]));
        assert.deepEqual(Object.keys(rels).sort(), ['first', 'last', 'next', 'prev']);
        assert.equal(rels.next, `${env.gh.apiUrl}/user/orgs?per_page=100&page=3`);
        const p3 = await request(rels.next, { headers });
        assert.deepEqual(p3.json().map((o) => o.login), ['acme']);
        assert.doesNotMatch(p3.headers.link, /rel="next"/);
    });
});

/* ---------------------------------------------------------- plain OAuth 2.0 */

describe('generic plain OAuth 2.0 (no openid scope)', () => {
    it('takes the identity from the userinfo endpoint, without discovery, ID token or nonce', async () => {
        env.gh.resetCounts();
        const { res } = await loginAt('plain', 'octocat');
        assert.equal(res.final.status, 200);
        const seen = res.final.json();
        assert.equal(seen.headers['x-forwarded-user'], 'octocat');
        assert.equal(seen.headers['x-forwarded-email'], 'octocat@public.example', 'the userinfo document as it is');
        const auth = new URL(res.authorization.url);
        assert.equal(auth.searchParams.get('scope'), 'read:user');
        assert.equal(auth.searchParams.get('nonce'), null);
        assert.equal(env.gh.counts.user, 1, 'one userinfo call');
        assert.equal(env.gh.counts.other, undefined, `no discovery: ${JSON.stringify(env.gh.requests.map((r) => r.path))}`);
        assert.equal(env.gh.requests.find((r) => r.endpoint === 'token').clientAuth, 'basic');
    });
});

/* -------------------------------------------------------------- Google */

describe('Google preset (oidc-provider with Google-shaped claims)', () => {
    it('asks for hd=example.com and admits only that Workspace domain', async () => {
        env.op.resetCounts();
        const alice = await loginAt('google', GOOGLE.alice);
        assert.equal(alice.res.final.status, 200);
        assert.equal(new URL(alice.res.authorization.url).searchParams.get('hd'), 'example.com');
        assert.equal(env.op.requests.find((r) => r.endpoint === 'authorization').query.hd, 'example.com');
        assert.equal(alice.res.final.json().headers['x-forwarded-user'], GOOGLE.alice);
        assert.equal(await statusAs(alice.b, 'google', '/workspace/x'), 200);
        for (const who of [GOOGLE.bob, GOOGLE.carol]) {
            const { b } = await loginAt('google', who);
            const r = await b.get(site('google')('/workspace/x'));
            assert.equal(r.status, 403, `${who} (hd other or none) is refused`);
        }
    });
});

/* -------------------------------------------------------------- GitLab */

describe('GitLab preset (oidc-provider with GitLab-shaped claims)', () => {
    it('takes groups from groups_direct by default; groups (inherited) is there for oauth2-claim', async () => {
        const dev = await loginAt('gitlab', '4101');
        assert.equal(dev.res.final.json().headers['x-forwarded-groups'], 'acme/dev');
        assert.equal(await statusAs(dev.b, 'gitlab', '/grp/direct/'), 200);
        assert.equal(await statusAs(dev.b, 'gitlab', '/grp/inherited/'), 200);
        const lead = await loginAt('gitlab', '4102');
        assert.equal(lead.res.final.json().headers['x-forwarded-groups'], 'acme');
        assert.equal(await statusAs(lead.b, 'gitlab', '/grp/direct/'), 403, 'not a direct member of acme/dev');
        assert.equal(await statusAs(lead.b, 'gitlab', '/grp/inherited/'), 200, 'a member of acme/dev through acme');
    });
});

/* ------------------------------------------------------------ Entra ID */

describe('Microsoft Entra ID preset (oidc-provider with Entra-shaped claims)', () => {
    it('admits by group object id, tenant and app role; REMOTE_USER from preferred_username', async () => {
        const eve = await loginAt('entra', ENTRA.eve);
        assert.equal(eve.res.final.json().headers['x-forwarded-user'], 'eve@contoso.onmicrosoft.com');
        assert.equal(await statusAs(eve.b, 'entra', '/grp/eng'), 200);
        assert.equal(await statusAs(eve.b, 'entra', '/tenant'), 200);
        assert.equal(await statusAs(eve.b, 'entra', '/role'), 200);
        const otto = await loginAt('entra', ENTRA.otto);
        assert.equal(await statusAs(otto.b, 'entra', '/grp/eng'), 403);
        assert.equal(await statusAs(otto.b, 'entra', '/role'), 403);
        assert.equal(await statusAs(otto.b, 'entra', '/tenant'), 200);
    });

    it('denies group rules in the groups overage case (no groups claim, _claim_names instead)', async () => {
        const mark = env.apache.mark();
        const max = await loginAt('entra', ENTRA.max);
        await env.apache.waitForLog(/OA2217: the provider left the user's groups out/, { since: mark });
        assert.equal(max.res.final.status, 200);
        assert.equal(max.res.final.json().headers['x-forwarded-groups'], undefined);
        assert.equal(await statusAs(max.b, 'entra', '/grp/eng'), 403);
        assert.equal(await statusAs(max.b, 'entra', '/tenant'), 200);
    });

    it('refuses an issuer that is not exactly the provider\'s (OA2106 names the right one)', async () => {
        const mark = env.apache.mark();
        const r = await request(site('entraname')('/app/'), { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 502);
        const line = await env.apache.waitForLog(/OA2106/, { since: mark });
        assert.match(line, new RegExp(`names issuer '${env.op.issuer}', not the configured 'http://localhost:${env.op.port}'`));
    });

    it('never passes oauth2-email-domain (Entra ID sends no email_verified)', async () => {
        const eve = await loginAt('entra', ENTRA.eve);
        assert.equal(eve.res.final.json().headers['x-forwarded-email'], 'eve@contoso.com');
        assert.equal(await statusAs(eve.b, 'entra', '/email'), 403);
    });
});

/* ------------------------------------------------------------ Keycloak */

describe('Keycloak preset (oidc-provider with Keycloak-shaped claims)', () => {
    it('realm roles as groups (OAuth2GroupsClaim realm_access.roles), client roles by oauth2-claim', async () => {
        const alice = await loginAt('kcrealm', KC.alice);
        assert.equal(alice.res.final.json().headers['x-forwarded-user'], 'kc-alice');
        assert.equal(alice.res.final.json().headers['x-forwarded-groups'], 'editor,offline_access,uma_authorization');
        assert.equal(await statusAs(alice.b, 'kcrealm', '/editor'), 200);
        assert.equal(await statusAs(alice.b, 'kcrealm', '/app-admin'), 200);
        const bob = await loginAt('kcrealm', KC.bob);
        assert.equal(await statusAs(bob.b, 'kcrealm', '/editor'), 403);
        assert.equal(await statusAs(bob.b, 'kcrealm', '/app-admin'), 403);
    });

    it('client roles as groups (OAuth2GroupsClaim resource_access.app.roles)', async () => {
        const alice = await loginAt('kcclient', KC.alice);
        assert.equal(alice.res.final.json().headers['x-forwarded-groups'], 'admin,reader');
        assert.equal(await statusAs(alice.b, 'kcclient', '/admin'), 200);
        const bob = await loginAt('kcclient', KC.bob);
        assert.equal(bob.res.final.json().headers['x-forwarded-groups'], undefined);
        assert.equal(await statusAs(bob.b, 'kcclient', '/admin'), 403);
    });
});

/* ------------------------------------------------------- configuration */

describe('preset configuration (apache2 -t)', () => {
    const OK = 'OAuth2ClientID a\nOAuth2ClientSecret s\nOAuth2Secret 0123456789abcdef0123456789abcdef-secret';
    const good = [
        'OAuth2Provider github',
        'OAuth2Provider github https://github.example.com/',
        'OAuth2Provider google',
        'OAuth2Provider gitlab https://gitlab.example.com',
        `OAuth2Provider microsoft ${TENANT}`,
        'OAuth2Provider keycloak https://sso.example.com/realms/staff',
    ];
    for (const line of good) {
        it(`accepts ${line}`, async () => {
            const r = await configtest(`${line}\n${OK}\n`, { withModule: true });
            assert.equal(r.code, 0, r.output);
        });
    }
    const bad = [
        ['OAuth2Provider microsoft', /OAuth2Provider: microsoft needs the tenant ID/],
        ['OAuth2Provider microsoft common', /OAuth2Provider: 'common' is not a tenant ID/],
        ['OAuth2Provider microsoft contoso.onmicrosoft.com', /OAuth2Provider: 'contoso.onmicrosoft.com' is not a tenant ID/],
        ['OAuth2Provider keycloak', /OAuth2Provider: keycloak needs the realm URL/],
        ['OAuth2Provider github ftp://ghe.example.com', /OAuth2Provider: .*not an http or https URL/],
        ['OAuth2Provider gitlab https://gitlab.example.com/?x=1', /OAuth2Provider: .*query/],
        ['OAuth2Provider github\nOAuth2Endpoint github_api nonsense', /OAuth2Endpoint: .*not an absolute URL/],
    ];
    for (const [line, want] of bad) {
        it(`refuses ${line.replace(/\n/g, ' + ')}`, async () => {
            const r = await configtest(`${line}\n${OK}\n`, { withModule: true });
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, want);
        });
    }

    // conf/examples/*.conf: tests/integration/docs.test.mjs runs apache2 -t
    // on every example and README snippet.
});
