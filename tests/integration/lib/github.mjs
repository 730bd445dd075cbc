// github.mjs: a local GitHub for the integration tests: the OAuth app web
// flow and the REST API endpoints the module reads, answering as GitHub
// documents them (docs.github.com: "Authorizing OAuth apps", "Troubleshooting
// OAuth app access token request errors", "Using pagination in the REST
// API", "Rate limits for the REST API", "Getting started with the REST API",
// and the reference pages of the endpoints below).
//
// const gh = await startGitHub({
//     clients: [{                 // OAuth apps
//         client_id: 'Iv1.app',   // required
//         client_secret: 'app-secret',      // default `${client_id}-secret`
//         callback_url: 'http://127.0.0.1:8080/oauth2/callback', // required:
//                                 // the app's "Authorization callback URL"
//     }],
//     users: [{                   // default DEFAULT_USERS (octocat, hubot)
//         login: 'octocat', id: 583231, name: 'The Octocat',
//         email: null,            // the public profile email of GET /user
//         emails: [{ email, primary, verified, visibility }],
//         orgs: ['acme'],         // organisation logins
//         teams: [{ org: 'acme', slug: 'devs', name: 'Devs' }],
//         password: undefined,    // without one any password logs in
//     }],
//     repos: [{                  // repositories (owner an org of the users)
//         owner: 'acme', name: 'app',
//         visibility: 'private',  // 'public' | 'private' | 'internal'
//         collaborators: { octocat: 'write' }, // direct roles: read, triage,
//                                 // write, maintain, admin
//         teams: { 'acme:devs': 'maintain' },  // team roles (org:slug)
//         orgBase: 'none',        // the org's base role for its members
//         owners: [],             // org owners (admin everywhere)
//         renamedFrom: [],        // old names: 301 to the repository
//     }],
//     pageSize: 100,             // the largest per_page served (GitHub: 100);
//                                // small values force Link pagination
//     autoLogin: undefined,      // a login: the authorize endpoint acts as if
//                                // this user were signed in (no login page)
//     autoAuthorize: true,       // false: the "Authorize <app>" page is shown
//                                // until the user approves the app's scopes
//     rateLimit: 5000,           // REST requests per user per hour
//     codeTtl: 600,              // seconds an authorization code lives (10 min)
// });
//
// Web origin gh.url ('http://127.0.0.1:<port>', github.com or a GitHub
// Enterprise Server): GET /login/oauth/authorize, GET /login, POST /session,
// POST /login/oauth/authorize (the authorize page's form), POST
// /login/oauth/access_token, and the REST API under /api/v3 (Enterprise).
// API origin gh.apiUrl ('http://127.0.0.1:<apiPort>', api.github.com): the
// REST API at its root. REST endpoints: GET /user, /user/emails, /user/orgs,
// /user/teams, /repos/{owner}/{repo} ("Get a repository": the caller's
// "permissions"; a private or internal repository is 404 to whoever has no
// role in it or whose token lacks the repo scope) and
// /repos/{owner}/{repo}/collaborators/{username}/permission ("Get repository
// permissions for a user": on a public repository only for callers with
// push access, "Must have push access to view collaborator permission.").
//
//   gh.endpoints      { authorization, token, api } (github.com style) for
//                     OAuth2Endpoint lines; gh.enterpriseApiUrl = url + /api/v3
//   gh.counts         requests per endpoint: authorize, login, session,
//                     authorize_form, token, user, emails, orgs, teams, repo,
//                     repo_permission, other
//   gh.requests       [{ endpoint, method, path, query, headers, body, status,
//                     origin ('web' | 'api'), fault }]
//   gh.tokens         Map access token -> { login, client_id, scopes }
//   gh.issueToken(login, {scopes, client_id}) -> a token for direct API calls
//   gh.users          Map login -> user (change orgs/teams/emails at will)
//   gh.fail(endpoint, {mode, times = Infinity, ...})  fault injection; endpoint
//                     is a name above or a path; modes:
//       'status'     {status = 500, body, headers}  an error answer
//       'body'       {status = 200, body, contentType, headers} any answer
//       'garbage'    200 application/json that is not JSON
//       'ratelimit'  403 with x-ratelimit-remaining: 0 (primary rate limit)
//       'secondary'  {status = 429, retryAfter = 60} secondary rate limit
//       'link'       {link} the normal answer with this Link header instead
//       'hang'       {ms} never answer (or drop the connection after ms)
//       'delay'      {ms} wait, then answer normally
//       'reset'      close the connection without an answer
//   gh.setRateLimit(login, remaining)   requests left before 403s
//   gh.clearFaults(), gh.resetCounts(), await gh.stop()
import http from 'node:http';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports.mjs';

export const DEFAULT_USERS = Object.freeze([
    {
        login: 'octocat',
        id: 583231,
        name: 'The Octocat',
        email: 'octocat@github.example',
        emails: [
            { email: 'octocat@example.com', primary: true, verified: true, visibility: 'private' },
            { email: 'octocat@unverified.example', primary: false, verified: false, visibility: null },
        ],
        orgs: ['acme'],
        teams: [{ org: 'acme', slug: 'devs', name: 'Devs' }],
    },
    {
        login: 'hubot',
        id: 2,
        name: null,
        email: null,
        emails: [{ email: 'hubot@example.org', primary: true, verified: true, visibility: 'public' }],
        orgs: [],
        teams: [],
    },
]);

const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
// Repository roles, lowest first ("Repository roles for an organization"),
// and the permissions booleans each sets.
const REPO_ROLES = ['read', 'triage', 'write', 'maintain', 'admin'];
const PERMISSION_KEYS = ['pull', 'triage', 'push', 'maintain', 'admin'];
// The legacy base roles of the permission endpoint.
const LEGACY_ROLE = { read: 'read', triage: 'read', write: 'write', maintain: 'write', admin: 'admin' };
const DOCS = 'https://docs.github.com';
const TOKEN_ERRORS_DOC = `${DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors`;
const AUTHZ_ERRORS_DOC = `${DOCS}/apps/managing-oauth-apps/troubleshooting-authorization-request-errors`;

// The scopes that let a token read each endpoint (the reference pages'
// "OAuth app tokens and personal access tokens (classic) need ...").
const API = {
    '/user': { endpoint: 'user', accepted: [], list: false },
    '/user/emails': { endpoint: 'emails', accepted: ['user', 'user:email'], list: true, denied: 404 },
    '/user/orgs': { endpoint: 'orgs', accepted: ['user', 'read:org', 'write:org', 'admin:org'], list: true, denied: 403 },
    '/user/teams': { endpoint: 'teams', accepted: ['user', 'repo', 'read:org', 'write:org', 'admin:org'], list: true, denied: 403 },
};

/* ------------------------------------------------------------ helpers */

function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function randomToken(prefix, n) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const bytes = crypto.randomBytes(n);
    return prefix + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

function readBody(req, limit = 64 * 1024) {
    return new Promise((resolve) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size <= limit) chunks.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', () => resolve(''));
    });
}

function parseCookies(header = '') {
    const out = {};
    for (const part of header.split(';')) {
        const i = part.indexOf('=');
        if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    return out;
}

function isLoopback(host) {
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

// "Redirect URLs": the redirect_uri's host (or a subdomain of it) and port
// must match the callback URL, and its path be the callback's path or below
// it; for loopback callbacks the port may differ.
export function redirectAllowed(callback, redirect) {
    let c;
    let r;
    try {
        c = new URL(callback);
        r = new URL(redirect);
    } catch {
        return false;
    }
    if (r.protocol !== c.protocol || r.username || r.password || r.hash) return false;
    if (r.hostname !== c.hostname && !r.hostname.endsWith(`.${c.hostname}`)) return false;
    if (r.port !== c.port && !isLoopback(c.hostname)) return false;
    const base = c.pathname.replace(/\/+$/, '');
    return r.pathname === c.pathname || r.pathname === base || r.pathname.startsWith(`${base}/`);
}

function withParams(url, params) {
    const u = new URL(url);
    for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && v !== null) u.searchParams.set(k, v);
    }
    return u.href;
}

function s256(verifier) {
    return crypto.createHash('sha256').update(verifier).digest('base64url');
}

function page(title, body) {
    return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;
}

/* ------------------------------------------------------------- server */

class GitHub {
    constructor(opts) {
        this.opts = opts;
        this.users = new Map((opts.users ?? DEFAULT_USERS).map((u) => [u.login, structuredClone(u)]));
        this.repos = (opts.repos ?? []).map((r, i) => ({ id: 700000 + i, visibility: 'private', collaborators: {}, teams: {}, orgBase: 'none', owners: [], renamedFrom: [], ...structuredClone(r) }));
        this.clients = new Map((opts.clients ?? []).map((c) => [c.client_id, { client_secret: `${c.client_id}-secret`, ...c }]));
        for (const c of this.clients.values()) {
            if (!c.callback_url) throw new Error(`github: client ${c.client_id} needs a callback_url`);
        }
        this.pageSize = Math.min(opts.pageSize ?? 100, 100);
        this.rateLimit = opts.rateLimit ?? 5000;
        this.codeTtl = (opts.codeTtl ?? 600) * 1000;
        this.sessions = new Map(); // user_session cookie -> login
        this.grants = new Map(); // `${login} ${client_id}` -> Set of scopes
        this.codes = new Map();
        this.tokens = new Map();
        this.remaining = new Map(); // login -> requests left this hour
        this.resetAt = Math.floor(Date.now() / 1000) + 3600;
        this.faults = new Map();
        this.live = new Set();
        this.timers = new Set();
        this.counts = {};
        this.requests = [];
    }

    /* ------------------------------------------------ request plumbing */

    async handle(req, res, origin) {
        const url = new URL(req.url, `http://${req.headers.host ?? LOOPBACK}`);
        let path = url.pathname;
        let apiPrefix = '';
        if (origin === 'web' && path.startsWith('/api/v3/')) {
            apiPrefix = '/api/v3';
            path = path.slice(apiPrefix.length);
        }
        const isApi = origin === 'api' || apiPrefix !== '';
        const endpoint = this.endpointName(req.method, path, isApi);
        this.counts[endpoint] = (this.counts[endpoint] ?? 0) + 1;
        const body = req.method === 'POST' ? await readBody(req) : '';
        const rec = { endpoint, method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body, origin, time: Date.now() };
        this.requests.push(rec);
        const ctx = { req, res, url, path, body, rec, apiPrefix, isApi, origin };
        const fault = this.takeFault(endpoint, url.pathname);
        if (fault) {
            rec.fault = fault.mode;
            if (fault.mode === 'delay') await sleep(fault.ms ?? 1000);
            else if (fault.mode === 'link') ctx.link = fault.link;
            else return this.applyFault(ctx, fault);
        }
        try {
            return isApi ? this.api(ctx) : this.web(ctx);
        } catch (e) {
            return this.send(ctx, 500, { 'content-type': 'text/plain' }, `github simulation error: ${e.stack}`);
        }
    }

    endpointName(method, path, isApi) {
        if (isApi && /^\/repos\/[^/]+\/[^/]+$/.test(path)) return 'repo';
        if (isApi && /^\/repos\/[^/]+\/[^/]+\/collaborators\/[^/]+\/permission$/.test(path)) return 'repo_permission';
        if (isApi) return API[path]?.endpoint ?? 'other';
        if (path === '/login/oauth/authorize') return method === 'POST' ? 'authorize_form' : 'authorize';
        if (path === '/login/oauth/access_token') return 'token';
        if (path === '/login') return 'login';
        if (path === '/session') return 'session';
        return 'other';
    }

    send(ctx, status, headers, body = '') {
        ctx.rec.status = status;
        if (ctx.res.headersSent) return;
        ctx.res.writeHead(status, headers);
        ctx.res.end(body);
    }

    sendJson(ctx, status, obj, headers = {}) {
        this.send(ctx, status, { 'content-type': 'application/json; charset=utf-8', ...headers }, JSON.stringify(obj));
    }

    redirect(ctx, location, headers = {}) {
        this.send(ctx, 302, { location, 'content-type': 'text/html; charset=utf-8', ...headers }, `<html><body>You are being <a href="${esc(location)}">redirected</a>.</body></html>`);
    }

    html(ctx, status, title, body, headers = {}) {
        this.send(ctx, status, { 'content-type': 'text/html; charset=utf-8', ...headers }, page(title, body));
    }

    takeFault(endpoint, path) {
        const key = this.faults.has(endpoint) ? endpoint : this.faults.has(path) ? path : null;
        if (!key) return null;
        const fault = this.faults.get(key);
        fault.times -= 1;
        if (fault.times <= 0) this.faults.delete(key);
        return fault;
    }

    applyFault(ctx, f) {
        switch (f.mode) {
        case 'status':
            return this.send(ctx, f.status ?? 500, { 'content-type': 'application/json; charset=utf-8', ...(f.headers ?? {}) },
                f.body ?? JSON.stringify({ message: 'Server Error' }));
        case 'body':
            return this.send(ctx, f.status ?? 200, { 'content-type': f.contentType ?? 'application/json; charset=utf-8', ...(f.headers ?? {}) },
                typeof f.body === 'string' ? f.body : JSON.stringify(f.body ?? {}));
        case 'garbage':
            return this.send(ctx, 200, { 'content-type': 'application/json; charset=utf-8' }, '[{"login": <b>not json</b>');
        case 'ratelimit':
            return this.rateLimited(ctx, this.userOf(ctx)?.user);
        case 'secondary':
            return this.sendJson(ctx, f.status ?? 429, {
                message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
                documentation_url: `${DOCS}/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
                status: String(f.status ?? 429),
            }, { 'retry-after': String(f.retryAfter ?? 60) });
        case 'hang':
            ctx.rec.status = 'hang';
            this.live.add(ctx.req.socket);
            if (f.ms) {
                const t = setTimeout(() => ctx.req.socket.destroy(), f.ms).unref();
                this.timers.add(t);
            }
            return undefined;
        case 'reset':
            ctx.rec.status = 'reset';
            ctx.req.socket.destroy();
            return undefined;
        default:
            throw new Error(`github: unknown fault mode ${f.mode}`);
        }
    }

    /* ---------------------------------------------------------- web */

    web(ctx) {
        const { req, path } = ctx;
        if (path === '/login/oauth/authorize' && req.method === 'GET') return this.authorize(ctx, ctx.url.searchParams);
        if (path === '/login/oauth/authorize' && req.method === 'POST') return this.authorizeForm(ctx);
        if (path === '/login/oauth/access_token' && req.method === 'POST') return this.accessToken(ctx);
        if (path === '/login' && req.method === 'GET') return this.loginPage(ctx, ctx.url.searchParams.get('return_to') ?? '/');
        if (path === '/session' && req.method === 'POST') return this.session(ctx);
        return this.html(ctx, 404, 'Page not found', '<h1>404</h1><p>This is not the web page you are looking for.</p>');
    }

    sessionUser(ctx) {
        if (this.opts.autoLogin) return this.users.get(this.opts.autoLogin);
        const login = this.sessions.get(parseCookies(ctx.req.headers.cookie).user_session);
        return login ? this.users.get(login) : undefined;
    }

    // GitHub docs "Authorizing OAuth apps", step 1.
    authorize(ctx, q) {
        const client = this.clients.get(q.get('client_id') ?? '');
        if (!client) return this.html(ctx, 404, 'Page not found', '<h1>404</h1><p>Not Found</p>');
        const state = q.get('state') ?? undefined;
        const redirectUri = q.get('redirect_uri') ?? client.callback_url;
        const back = (params) => this.redirect(ctx, withParams(client.callback_url, { ...params, state }));
        if (!redirectAllowed(client.callback_url, redirectUri)) {
            return back({
                error: 'redirect_uri_mismatch',
                error_description: 'The redirect_uri MUST match the registered callback URL for this application.',
                error_uri: `${AUTHZ_ERRORS_DOC}#redirect-uri-mismatch`,
            });
        }
        const challenge = q.get('code_challenge');
        if (challenge && (q.get('code_challenge_method') ?? 'plain') !== 'S256') {
            return back({ error: 'invalid_request', error_description: 'code_challenge_method must be S256.' });
        }
        const user = this.sessionUser(ctx);
        if (!user) {
            const returnTo = `${ctx.url.pathname}${ctx.url.search}`;
            return this.redirect(ctx, `/login?client_id=${encodeURIComponent(client.client_id)}&return_to=${encodeURIComponent(returnTo)}`);
        }
        const scopes = (q.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
        const granted = this.grants.get(`${user.login} ${client.client_id}`);
        const approved = this.opts.autoAuthorize ?? true;
        if (!approved && !(granted && scopes.every((s) => granted.has(s)))) {
            return this.authorizePage(ctx, client, user, scopes, q);
        }
        return this.issueCode(ctx, client, user, scopes, redirectUri, q);
    }

    issueCode(ctx, client, user, scopes, redirectUri, q) {
        const code = crypto.randomBytes(10).toString('hex');
        this.codes.set(code, {
            client_id: client.client_id,
            login: user.login,
            scopes,
            redirect_uri: q.get('redirect_uri') ?? undefined,
            challenge: q.get('code_challenge') ?? undefined,
            expires: Date.now() + this.codeTtl,
        });
        return this.redirect(ctx, withParams(redirectUri, { code, state: q.get('state') ?? undefined }));
    }

    authorizePage(ctx, client, user, scopes, q) {
        const hidden = [...q.entries()].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
        this.html(ctx, 200, `Authorize ${client.client_id}`, `
<h1>Authorize ${esc(client.client_id)}</h1>
<p>${esc(client.client_id)} wants to access your ${esc(user.login)} account: ${scopes.map(esc).join(', ')}</p>
<form id="authorize" action="/login/oauth/authorize" method="post">
${hidden}<input type="hidden" name="prompt" value="consent"><input type="hidden" name="authorize" value="1">
<button type="submit">Authorize</button></form>
<form id="cancel" action="/login/oauth/authorize" method="post">${hidden}<input type="hidden" name="authorize" value="0">
<button type="submit">Cancel</button></form>`);
    }

    authorizeForm(ctx) {
        const q = new URLSearchParams(ctx.body);
        const client = this.clients.get(q.get('client_id') ?? '');
        const user = this.sessionUser(ctx);
        if (!client || !user) return this.html(ctx, 422, 'Unprocessable', '<p>Unprocessable Entity</p>');
        if (q.get('authorize') !== '1') {
            return this.redirect(ctx, withParams(q.get('redirect_uri') ?? client.callback_url, {
                error: 'access_denied',
                error_description: 'The user has denied your application access.',
                error_uri: `${AUTHZ_ERRORS_DOC}#access-denied`,
                state: q.get('state') ?? undefined,
            }));
        }
        const scopes = (q.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
        const key = `${user.login} ${client.client_id}`;
        this.grants.set(key, new Set([...(this.grants.get(key) ?? []), ...scopes]));
        q.delete('authorize');
        q.delete('prompt');
        return this.authorize(ctx, q);
    }

    loginPage(ctx, returnTo, error) {
        this.html(ctx, 200, 'Sign in to GitHub', `
<h1>Sign in to GitHub</h1>${error ? `<p class="flash-error">${esc(error)}</p>` : ''}
<form action="/session" method="post">
<input type="hidden" name="authenticity_token" value="${crypto.randomBytes(8).toString('hex')}">
<input type="hidden" name="prompt" value="login">
<input type="hidden" name="return_to" value="${esc(returnTo)}">
<label>Username or email address <input type="text" name="login" value=""></label>
<label>Password <input type="password" name="password" value=""></label>
<input type="submit" name="commit" value="Sign in"></form>`);
    }

    session(ctx) {
        const f = new URLSearchParams(ctx.body);
        const user = this.users.get(f.get('login') ?? '');
        const returnTo = f.get('return_to') ?? '/';
        if (!user || (user.password !== undefined && user.password !== f.get('password'))) {
            return this.loginPage(ctx, returnTo, 'Incorrect username or password.');
        }
        const sid = crypto.randomBytes(16).toString('hex');
        this.sessions.set(sid, user.login);
        // Only paths on this site: the form cannot send the browser elsewhere.
        const target = returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : '/';
        return this.redirect(ctx, target, { 'set-cookie': `user_session=${sid}; path=/; HttpOnly; SameSite=Lax` });
    }

    // GitHub docs "Authorizing OAuth apps", step 2: client_id, client_secret,
    // code, redirect_uri, code_verifier as parameters (the query string or a
    // form body; HTTP Basic also carries the client). Errors come back with
    // HTTP 200, in the format the Accept header asked for.
    accessToken(ctx) {
        const p = new URLSearchParams(ctx.url.search);
        for (const [k, v] of new URLSearchParams(ctx.body)) p.set(k, v);
        const basic = /^Basic\s+(.+)$/i.exec(ctx.req.headers.authorization ?? '');
        if (basic) {
            const [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
            if (!p.has('client_id')) p.set('client_id', id);
            if (!p.has('client_secret')) p.set('client_secret', secret);
            ctx.rec.clientAuth = 'basic';
        } else {
            ctx.rec.clientAuth = p.has('client_secret') ? 'post' : 'none';
        }
        const client = this.clients.get(p.get('client_id') ?? '');
        if (!client || client.client_secret !== p.get('client_secret')) {
            return this.tokenAnswer(ctx, { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.', error_uri: `${TOKEN_ERRORS_DOC}#incorrect-client-credentials` });
        }
        const code = this.codes.get(p.get('code') ?? '');
        this.codes.delete(p.get('code') ?? '');
        const bad = { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: `${TOKEN_ERRORS_DOC}#bad-verification-code` };
        if (!code || code.client_id !== client.client_id || code.expires < Date.now()) return this.tokenAnswer(ctx, bad);
        const redirectUri = p.get('redirect_uri');
        if (redirectUri && (!redirectAllowed(client.callback_url, redirectUri) || (code.redirect_uri && code.redirect_uri !== redirectUri))) {
            return this.tokenAnswer(ctx, { error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.', error_uri: `${TOKEN_ERRORS_DOC}#redirect-uri-mismatch2` });
        }
        if (code.challenge && s256(p.get('code_verifier') ?? '') !== code.challenge) return this.tokenAnswer(ctx, bad);
        const user = this.users.get(code.login);
        if (!user.emails?.some((e) => e.primary && e.verified)) {
            return this.tokenAnswer(ctx, { error: 'unverified_user_email', error_description: 'The user must have a verified primary email.', error_uri: `${TOKEN_ERRORS_DOC}#unverified-user-email` });
        }
        const token = this.issueToken(user.login, { scopes: code.scopes, client_id: client.client_id });
        return this.tokenAnswer(ctx, { access_token: token, token_type: 'bearer', scope: code.scopes.join(',') });
    }

    tokenAnswer(ctx, fields) {
        const accept = ctx.req.headers.accept ?? '';
        if (/application\/json/i.test(accept)) return this.sendJson(ctx, 200, fields);
        if (/application\/xml/i.test(accept)) {
            const xml = Object.entries(fields).map(([k, v]) => `<${k}>${esc(v)}</${k}>`).join('');
            return this.send(ctx, 200, { 'content-type': 'application/xml; charset=utf-8' }, `<OAuth>${xml}</OAuth>`);
        }
        return this.send(ctx, 200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, new URLSearchParams(fields).toString());
    }

    issueToken(login, { scopes = ['read:user', 'user:email', 'read:org'], client_id = null } = {}) {
        const token = randomToken('gho_', 36);
        this.tokens.set(token, { login, client_id, scopes: [...scopes] });
        return token;
    }

    /* ---------------------------------------------------------- API */

    userOf(ctx) {
        const m = /^(?:Bearer|token)\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
        const t = m ? this.tokens.get(m[1]) : undefined;
        return t ? { ...t, user: this.users.get(t.login) } : undefined;
    }

    rateHeaders(user) {
        const left = user ? (this.remaining.get(user.login) ?? this.rateLimit) : 60;
        return {
            'x-ratelimit-limit': String(user ? this.rateLimit : 60),
            'x-ratelimit-remaining': String(Math.max(0, left)),
            'x-ratelimit-reset': String(this.resetAt),
            'x-ratelimit-used': String((user ? this.rateLimit : 60) - Math.max(0, left)),
            'x-ratelimit-resource': 'core',
        };
    }

    rateLimited(ctx, user) {
        const headers = { ...this.rateHeaders(user), 'x-ratelimit-remaining': '0' };
        return this.sendJson(ctx, 403, {
            message: `API rate limit exceeded for user ID ${user?.id ?? 0}. If you reach out to GitHub Support for help, please include the request ID ${crypto.randomBytes(4).toString('hex').toUpperCase()}.`,
            documentation_url: `${DOCS}/rest/overview/rate-limits-for-the-rest-api`,
            status: '403',
        }, headers);
    }

    api(ctx) {
        const { req } = ctx;
        const common = { 'x-github-media-type': 'github.v3; format=json', 'x-github-request-id': crypto.randomBytes(6).toString('hex').toUpperCase() };
        // "User agent required": requests without one are refused.
        if (!req.headers['user-agent']) {
            return this.send(ctx, 403, { 'content-type': 'text/plain; charset=utf-8' },
                'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n');
        }
        const version = req.headers['x-github-api-version'];
        if (version !== undefined && !API_VERSIONS.has(version)) {
            return this.sendJson(ctx, 400, { message: `API version ${version} is not supported.`, documentation_url: `${DOCS}/rest/overview/api-versions`, status: '400' }, common);
        }
        if ((ctx.rec.endpoint === 'repo' || ctx.rec.endpoint === 'repo_permission') && req.method === 'GET') {
            return this.repoApi(ctx, common);
        }
        const route = API[ctx.path];
        if (!route || req.method !== 'GET') {
            return this.sendJson(ctx, 404, { message: 'Not Found', documentation_url: `${DOCS}/rest`, status: '404' }, common);
        }
        const auth = this.userOf(ctx);
        if (!auth?.user) {
            const message = req.headers.authorization ? 'Bad credentials' : 'Requires authentication';
            return this.sendJson(ctx, 401, { message, documentation_url: `${DOCS}/rest`, status: '401' }, common);
        }
        const { user, scopes } = auth;
        const left = this.remaining.get(user.login) ?? this.rateLimit;
        if (left <= 0) return this.rateLimited(ctx, user);
        this.remaining.set(user.login, left - 1);
        const headers = {
            ...common,
            ...this.rateHeaders(user),
            'x-oauth-scopes': scopes.join(', '),
            'x-accepted-oauth-scopes': route.accepted.join(', '),
            'x-github-api-version-selected': version ?? '2022-11-28',
        };
        if (route.accepted.length && !scopes.some((s) => route.accepted.includes(s))) {
            return this.sendJson(ctx, route.denied, route.denied === 404
                ? { message: 'Not Found', documentation_url: `${DOCS}/rest`, status: '404' }
                : { message: 'Resource not accessible by integration', documentation_url: `${DOCS}/rest`, status: '403' }, headers);
        }
        if (!route.list) return this.sendJson(ctx, 200, this.userJson(ctx, user, scopes), headers);
        return this.sendList(ctx, this.listOf(ctx, route.endpoint, user), headers);
    }

    apiBase(ctx) {
        return `http://${ctx.req.headers.host}${ctx.apiPrefix}`;
    }

    /* ------------------------------------------------- repositories */

    // The user's highest role: direct, through a team, the org's base
    // role for members, org owner.
    repoRole(repo, user) {
        if (!user) return null;
        const ranks = [];
        const add = (role) => { if (REPO_ROLES.includes(role)) ranks.push(REPO_ROLES.indexOf(role)); };
        add(repo.collaborators[user.login]);
        for (const t of user.teams ?? []) add(repo.teams[`${t.org}:${t.slug}`]);
        if ((user.orgs ?? []).includes(repo.owner)) add(repo.orgBase);
        if (repo.owners.includes(user.login)) add('admin');
        return ranks.length ? REPO_ROLES[Math.max(...ranks)] : null;
    }

    // A public repository: anyone; internal: the owner org's members;
    // private: those with a role. Private and internal ones only with the
    // repo scope (GitHub answers 404 rather than say they exist).
    repoVisible(repo, user, scopes) {
        if (repo.visibility === 'public') return true;
        if (!user || !scopes.includes('repo')) return false;
        if (repo.visibility === 'internal' && (user.orgs ?? []).includes(repo.owner)) return true;
        return this.repoRole(repo, user) !== null;
    }

    repoPermissions(repo, user) {
        const role = this.repoRole(repo, user);
        const rank = role ? REPO_ROLES.indexOf(role) : -1;
        const out = {};
        PERMISSION_KEYS.forEach((k, i) => { out[k] = rank >= i || (k === 'pull' && repo.visibility !== 'private'); });
        return { admin: out.admin, maintain: out.maintain, push: out.push, triage: out.triage, pull: out.pull };
    }

    repoJson(ctx, repo, user) {
        const base = this.apiBase(ctx);
        const full = `${repo.owner}/${repo.name}`;
        const out = {
            id: repo.id,
            node_id: Buffer.from(`010:Repository${repo.id}`).toString('base64'),
            name: repo.name,
            full_name: full,
            private: repo.visibility !== 'public',
            owner: { login: repo.owner, id: 1000, type: 'Organization', site_admin: false, url: `${base}/users/${repo.owner}` },
            html_url: `http://${ctx.req.headers.host}/${full}`,
            description: null,
            fork: false,
            url: `${base}/repos/${full}`,
            default_branch: 'main',
            visibility: repo.visibility,
            archived: false,
            disabled: false,
            created_at: '2020-01-01T00:00:00Z',
            updated_at: '2024-01-01T00:00:00Z',
        };
        if (user) out.permissions = this.repoPermissions(repo, user);
        return out;
    }

    notFound(ctx, headers, doc) {
        return this.sendJson(ctx, 404, { message: 'Not Found', documentation_url: `${DOCS}/rest/${doc}`, status: '404' }, headers);
    }

    repoApi(ctx, common) {
        const auth = this.userOf(ctx);
        if (ctx.req.headers.authorization && !auth?.user) {
            return this.sendJson(ctx, 401, { message: 'Bad credentials', documentation_url: `${DOCS}/rest`, status: '401' }, common);
        }
        const user = auth?.user;
        const scopes = auth?.scopes ?? [];
        if (user) {
            const left = this.remaining.get(user.login) ?? this.rateLimit;
            if (left <= 0) return this.rateLimited(ctx, user);
            this.remaining.set(user.login, left - 1);
        }
        const headers = { ...common, ...this.rateHeaders(user), 'x-oauth-scopes': scopes.join(', '), 'x-accepted-oauth-scopes': 'repo' };
        const [, , owner, name, , username] = ctx.path.split('/');
        const lname = name.toLowerCase();
        const repo = this.repos.find((r) => r.owner.toLowerCase() === owner.toLowerCase() && r.name.toLowerCase() === lname);
        const moved = this.repos.find((r) => r.owner.toLowerCase() === owner.toLowerCase() && r.renamedFrom.some((o) => o.toLowerCase() === lname));
        if (!repo && moved && this.repoVisible(moved, user, scopes)) {
            const target = `${this.apiBase(ctx)}/repositories/${moved.id}`;
            return this.sendJson(ctx, 301, { message: 'Moved Permanently', url: target, documentation_url: `${DOCS}/v3/#http-redirects` }, { ...headers, location: target });
        }
        if (!repo || !this.repoVisible(repo, user, scopes)) return this.notFound(ctx, headers, 'repos/repos#get-a-repository');
        if (ctx.rec.endpoint === 'repo') return this.sendJson(ctx, 200, this.repoJson(ctx, repo, user), headers);
        return this.collaboratorPermission(ctx, repo, user, username, headers);
    }

    collaboratorPermission(ctx, repo, user, username, headers) {
        const doc = `${DOCS}/rest/collaborators/collaborators#get-repository-permissions-for-a-user`;
        const callerRank = REPO_ROLES.indexOf(this.repoRole(repo, user) ?? '');
        if (repo.visibility === 'public' && callerRank < REPO_ROLES.indexOf('write')) {
            return this.sendJson(ctx, 403, { message: 'Must have push access to view collaborator permission.', documentation_url: doc, status: '403' }, headers);
        }
        const collab = this.users.get(username);
        if (!collab) return this.sendJson(ctx, 404, { message: `${username} is not a user`, documentation_url: doc, status: '404' }, headers);
        const role = this.repoRole(repo, collab);
        return this.sendJson(ctx, 200, {
            permission: role ? LEGACY_ROLE[role] : 'none',
            role_name: role ?? 'none',
            user: { login: collab.login, id: collab.id, type: 'User', site_admin: false, permissions: this.repoPermissions(repo, collab), role_name: role ?? 'none' },
        }, headers);
    }

    userJson(ctx, u, scopes) {
        const base = this.apiBase(ctx);
        const out = {
            login: u.login,
            id: u.id,
            node_id: Buffer.from(`04:User${u.id}`).toString('base64'),
            avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
            gravatar_id: '',
            url: `${base}/users/${u.login}`,
            html_url: `http://${ctx.req.headers.host}/${u.login}`,
            organizations_url: `${base}/users/${u.login}/orgs`,
            type: 'User',
            site_admin: false,
            name: u.name ?? null,
            company: u.company ?? null,
            blog: '',
            location: null,
            email: u.email ?? null,
            hireable: null,
            bio: null,
            twitter_username: null,
            public_repos: 8,
            public_gists: 8,
            followers: 20,
            following: 0,
            created_at: '2008-01-14T04:33:35Z',
            updated_at: '2024-01-01T00:00:00Z',
        };
        if (scopes.includes('read:user') || scopes.includes('user')) {
            Object.assign(out, { private_gists: 0, total_private_repos: 0, owned_private_repos: 0, disk_usage: 10000, collaborators: 0, two_factor_authentication: true });
        }
        return out;
    }

    listOf(ctx, endpoint, u) {
        const base = this.apiBase(ctx);
        const org = (login, i) => ({
            login,
            id: 1000 + i,
            node_id: Buffer.from(`012:Organization${1000 + i}`).toString('base64'),
            url: `${base}/orgs/${login}`,
            repos_url: `${base}/orgs/${login}/repos`,
            members_url: `${base}/orgs/${login}/members{/member}`,
            avatar_url: `https://avatars.githubusercontent.com/u/${1000 + i}?v=4`,
            description: null,
        });
        switch (endpoint) {
        case 'emails':
            return (u.emails ?? []).map((e) => ({ email: e.email, primary: !!e.primary, verified: !!e.verified, visibility: e.visibility ?? null }));
        case 'orgs':
            return (u.orgs ?? []).map(org);
        case 'teams':
            return (u.teams ?? []).map((t, i) => ({
                id: 2000 + i,
                node_id: Buffer.from(`04:Team${2000 + i}`).toString('base64'),
                url: `${base}/teams/${2000 + i}`,
                html_url: `http://${ctx.req.headers.host}/orgs/${t.org}/teams/${t.slug}`,
                name: t.name ?? t.slug,
                slug: t.slug,
                description: null,
                privacy: 'closed',
                notification_setting: 'notifications_enabled',
                permission: 'pull',
                members_url: `${base}/teams/${2000 + i}/members{/member}`,
                repositories_url: `${base}/teams/${2000 + i}/repos`,
                parent: null,
                members_count: 3,
                repos_count: 10,
                created_at: '2017-07-14T16:53:42Z',
                updated_at: '2017-08-17T12:37:15Z',
                organization: org(t.org, (u.orgs ?? []).indexOf(t.org)),
            }));
        default:
            return [];
        }
    }

    // "Using pagination in the REST API": per_page (default 30, at most
    // 100) and page; the Link header names next, last, first and prev.
    sendList(ctx, items, headers) {
        const q = ctx.url.searchParams;
        const perPage = Math.max(1, Math.min(Number.parseInt(q.get('per_page') ?? '30', 10) || 30, this.pageSize));
        const pageNo = Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1);
        const last = Math.max(1, Math.ceil(items.length / perPage));
        const link = (n) => {
            const u = new URL(`${this.apiBase(ctx)}${ctx.path}`);
            for (const [k, v] of q) u.searchParams.set(k, v);
            u.searchParams.set('page', String(n));
            return u.href;
        };
        const rels = [];
        if (pageNo > 1) rels.push(`<${link(pageNo - 1)}>; rel="prev"`);
        if (pageNo < last) rels.push(`<${link(pageNo + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
        if (pageNo > 1) rels.push(`<${link(1)}>; rel="first"`);
        const out = { ...headers };
        if (ctx.link !== undefined) out.link = ctx.link;
        else if (rels.length) out.link = rels.join(', ');
        return this.sendJson(ctx, 200, items.slice((pageNo - 1) * perPage, pageNo * perPage), out);
    }

    /* -------------------------------------------------------- handle */

    fail(endpoint, spec = {}) {
        this.faults.set(endpoint, { mode: 'status', times: Infinity, ...spec });
        return this;
    }

    clearFaults() {
        this.faults.clear();
        return this;
    }

    setRateLimit(login, remaining) {
        if (remaining === undefined || remaining === null) this.remaining.delete(login);
        else this.remaining.set(login, remaining);
        return this;
    }

    resetCounts() {
        this.counts = {};
        this.requests = [];
        return this;
    }

    async stop() {
        if (this.stopped) return;
        this.stopped = true;
        for (const t of this.timers) clearTimeout(t);
        for (const s of this.live) s.destroy();
        await Promise.all([this.webServer, this.apiServer].map((srv) => new Promise((resolve) => {
            srv.close(() => resolve());
            srv.closeAllConnections();
        })));
    }
}

function listen(server) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host: LOOPBACK }, () => {
            server.off('error', reject);
            resolve(server.address().port);
        });
    });
}

/** Starts the simulation; see the top of this file. */
export async function startGitHub(opts = {}) {
    const gh = new GitHub(opts);
    const make = (origin) => {
        const srv = http.createServer((req, res) => {
            gh.handle(req, res, origin).catch((e) => {
                if (!res.headersSent) res.writeHead(500);
                res.end(String(e));
            });
        });
        srv.keepAliveTimeout = 2000;
        return srv;
    };
    gh.webServer = make('web');
    gh.apiServer = make('api');
    const [port, apiPort] = [await listen(gh.webServer), await listen(gh.apiServer)];
    gh.webServer.unref();
    gh.apiServer.unref();
    gh.port = port;
    gh.apiPort = apiPort;
    gh.url = `http://${LOOPBACK}:${port}`;
    gh.apiUrl = `http://${LOOPBACK}:${apiPort}`;
    gh.enterpriseApiUrl = `${gh.url}/api/v3`;
    gh.endpoints = {
        authorization: `${gh.url}/login/oauth/authorize`,
        token: `${gh.url}/login/oauth/access_token`,
        api: gh.apiUrl,
    };
    return gh;
}
