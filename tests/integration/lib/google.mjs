// google.mjs: a local Google for the integration tests: the OAuth 2.0 token
// endpoint as it serves service accounts (RFC 7523 JWT bearer grant;
// developers.google.com "Using OAuth 2.0 for Server to Server Applications")
// and the Admin SDK Directory API calls that read a Workspace's groups
// (groups.list with userKey, members.hasMember, members.get; "Directory API:
// Groups", "Manage group members", "Limits and Quotas"). It answers with
// Google's status codes and error bodies: RFC 6749 §5.2 bodies at the token
// endpoint ({"error": "invalid_grant", "error_description": ...}), Google's
// JSON error format at the API ({"error": {"code", "message", "errors":
// [{"message", "domain", "reason"}], "status"}}).
//
// const g = await startGoogle({
//     users: [{ email: 'admin@example.com', admin: true },   // the Workspace's
//             { email: 'alice@example.com', suspended: false }], // users
//     groups: [{ email: 'eng@example.com', name: 'Engineering',
//                members: ['alice@example.com', 'ops@example.com', // users, groups,
//                          'bob@partner.example'] }],            // outsiders
//     serviceAccounts: [{ name: 'groups-reader',     // client_email name@project...
//         delegated: [GROUP_SCOPE],                   // domain-wide delegation
//                                                     // (default; [] = none)
//     }],
//     pageSize: 200,       // the most groups one groups.list page holds (Google:
//                          // maxResults at most 200); small values force paging
//     tokenTtl: 3600,      // seconds an access token lives (expires_in 3599)
//     rateLimit: Infinity, // Directory requests per minute per impersonated user
//                          // before 403 rateLimitExceeded
//     skew: 60,            // seconds of clock difference accepted in iat/exp
// });
//
//   g.url                   origin http://127.0.0.1:<port>; the Directory API lives
//                           under /admin/directory/v1 (OAuth2Endpoint
//                           google_directory g.url)
//   g.tokenUrl              the token endpoint (a key file's token_uri)
//   g.keyFile(name, {tokenUri}) -> the JSON text of the account's key, as the
//                           Cloud console's "Keys > Add key > JSON" gives it
//   g.account(name)         {email, clientId, keys: Map kid -> {publicKey, privateKey}}
//   g.deleteKeys(name)      the account's keys are deleted (assertions signed
//                           with them are refused); g.setDelegation(name, scopes)
//   g.counts                requests per endpoint: token, groups_list, has_member,
//                           members_get, other
//   g.requests              [{endpoint, method, path, query, headers, body,
//                           status, assertion: {header, claims} for token}]
//   g.tokens                Map access token -> {account, sub, scopes, expires}
//   g.revokeTokens()        every access token stops working (401)
//   g.fail(endpoint, {mode, times = Infinity, ...})  fault injection; modes:
//       'status'    {status = 500, body} an error answer (body: Google's shape)
//       'body'      {status = 200, body, contentType} any answer
//       'garbage'   200 application/json that is not JSON
//       'ratelimit' {status = 403} 403 or 429 with reason rateLimitExceeded
//       'hang'      {ms} no answer (the connection drops after ms)
//       'delay'     {ms} wait, then answer normally
//       'reset'     close the connection without an answer
//   g.clearFaults(), g.resetCounts(), await g.stop()
//
// What it leaves out of the real services: group and user aliases, Cloud
// Identity (checkTransitiveMembership), customer/domain listings, fields
// masks, ETags and If-None-Match, the token endpoint's other grants, key
// rotation delays (a deleted key fails at once), and Google's exact wording
// of errors for a malformed assertion. Members of other domains: groups.list
// with their address lists the groups they are a direct member of; an
// address the directory knows nothing about gets 404 (assumed; Google does
// not document this case).
import http from 'node:http';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports.mjs';

export const GROUP_SCOPE = 'https://www.googleapis.com/auth/admin.directory.group.readonly';
// Scopes that let a token read groups (groups.list, hasMember, members.get
// "Authorization scopes").
const GROUP_READ_SCOPES = new Set([
    GROUP_SCOPE,
    'https://www.googleapis.com/auth/admin.directory.group',
    'https://www.googleapis.com/auth/admin.directory.group.member',
    'https://www.googleapis.com/auth/admin.directory.group.member.readonly',
]);
const KNOWN_SCOPES = new Set([...GROUP_READ_SCOPES,
    'https://www.googleapis.com/auth/admin.directory.user.readonly',
    'https://www.googleapis.com/auth/cloud-platform']);
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const PROJECT = 'mao2-test-project';

const TOKEN_ERRORS = {
    notFound: 'Invalid grant: account not found',
    signature: 'Invalid JWT Signature.',
    time: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
    sub: 'Invalid email or User ID',
    delegation: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
};

/* ------------------------------------------------------------ helpers */

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

/** Google's JSON error format. */
export function googleError(code, message, reason, status, domain = 'global') {
    const e = { code, message, errors: [{ message, domain, reason }] };
    if (status) e.status = status;
    return { error: e };
}

const UNAUTHENTICATED = googleError(401,
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    'authError', 'UNAUTHENTICATED');
UNAUTHENTICATED.error.errors[0].location = 'Authorization';
UNAUTHENTICATED.error.errors[0].locationType = 'header';

const NOT_AUTHORIZED = googleError(403, 'Not Authorized to access this resource/api', 'forbidden');
const INSUFFICIENT = googleError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions', 'PERMISSION_DENIED');

function rateLimitBody(status) {
    const message = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com' for consumer 'project_number:123456789012'.";
    return status === 429
        ? googleError(429, message, 'rateLimitExceeded', 'RESOURCE_EXHAUSTED')
        : googleError(403, message, 'rateLimitExceeded', 'PERMISSION_DENIED', 'usageLimits');
}

function b64json(s) {
    try {
        return JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    } catch {
        return undefined;
    }
}

function lower(s) {
    return String(s ?? '').toLowerCase();
}

function domainOf(email) {
    return lower(email).split('@')[1] ?? '';
}

function etag() {
    return `"${crypto.randomBytes(12).toString('base64url')}"`;
}

/* ------------------------------------------------------------- server */

class Google {
    constructor(opts) {
        this.opts = opts;
        this.users = new Map((opts.users ?? []).map((u) => [lower(u.email), { ...u, id: String(100000000000000000000n + BigInt(crypto.randomInt(1e9))) }]));
        this.groups = new Map((opts.groups ?? []).map((gr, i) => [lower(gr.email), { name: gr.email.split('@')[0], ...gr, id: `0${(3000000 + i).toString(16)}abcdef`, members: (gr.members ?? []).map(lower) }]));
        this.accounts = new Map();
        for (const sa of opts.serviceAccounts ?? []) this.addAccount(sa);
        this.pageSize = Math.min(opts.pageSize ?? 200, 200);
        this.tokenTtl = opts.tokenTtl ?? 3600;
        this.rateLimit = opts.rateLimit ?? Infinity;
        this.skew = opts.skew ?? 60;
        this.tokens = new Map();
        this.windows = new Map(); // sub -> {start, n}
        this.faults = new Map();
        this.live = new Set();
        this.timers = new Set();
        this.counts = {};
        this.requests = [];
    }

    addAccount({ name, delegated = [GROUP_SCOPE] }) {
        const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
        const kid = crypto.randomBytes(20).toString('hex');
        const account = {
            name,
            email: `${name}@${PROJECT}.iam.gserviceaccount.com`,
            clientId: String(100000000000000000000n + BigInt(crypto.randomInt(1e12))),
            delegated: new Set(delegated),
            keys: new Map([[kid, { privateKey, publicKey }]]),
        };
        this.accounts.set(name, account);
        return account;
    }

    account(name) {
        return this.accounts.get(name);
    }

    keyFile(name, { tokenUri = this.tokenUrl } = {}) {
        const a = this.accounts.get(name);
        const [kid, { privateKey }] = [...a.keys][0];
        return JSON.stringify({
            type: 'service_account',
            project_id: PROJECT,
            private_key_id: kid,
            private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
            client_email: a.email,
            client_id: a.clientId,
            auth_uri: 'https://accounts.google.com/o/oauth2/auth',
            token_uri: tokenUri,
            auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
            client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(a.email)}`,
            universe_domain: 'googleapis.com',
        }, null, 2);
    }

    deleteKeys(name) {
        this.accounts.get(name).keys.clear();
        return this;
    }

    setDelegation(name, scopes) {
        this.accounts.get(name).delegated = new Set(scopes);
        return this;
    }

    revokeTokens() {
        this.tokens.clear();
        return this;
    }

    /* ------------------------------------------------ request plumbing */

    async handle(req, res) {
        const url = new URL(req.url, `http://${req.headers.host ?? LOOPBACK}`);
        const route = this.route(req.method, url.pathname);
        this.counts[route.endpoint] = (this.counts[route.endpoint] ?? 0) + 1;
        const body = req.method === 'POST' ? await readBody(req) : '';
        const rec = { endpoint: route.endpoint, method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body, time: Date.now() };
        this.requests.push(rec);
        const ctx = { req, res, url, body, rec, route };
        const fault = this.takeFault(route.endpoint);
        if (fault) {
            rec.fault = fault.mode;
            if (fault.mode === 'delay') await sleep(fault.ms ?? 1000);
            else return this.applyFault(ctx, fault);
        }
        try {
            return this.dispatch(ctx);
        } catch (e) {
            return this.send(ctx, 500, { 'content-type': 'text/plain' }, `google simulation error: ${e.stack}`);
        }
    }

    // Paths as the Directory API reference names them; the raw path keeps
    // %40 and %2F as sent.
    route(method, path) {
        const raw = path;
        if (raw === '/token') return { endpoint: 'token' };
        const m = /^\/admin\/directory\/v1\/groups(?:\/([^/]+)(?:\/(hasMember|members)\/([^/]+))?)?$/.exec(raw);
        if (!m || method !== 'GET') return { endpoint: 'other' };
        const dec = (s) => (s === undefined ? undefined : decodeURIComponent(s));
        if (!m[1]) return { endpoint: 'groups_list' };
        if (m[2] === 'hasMember') return { endpoint: 'has_member', groupKey: dec(m[1]), memberKey: dec(m[3]) };
        if (m[2] === 'members') return { endpoint: 'members_get', groupKey: dec(m[1]), memberKey: dec(m[3]) };
        return { endpoint: 'groups_get', groupKey: dec(m[1]) };
    }

    send(ctx, status, headers, body = '') {
        ctx.rec.status = status;
        if (ctx.res.headersSent) return;
        ctx.res.writeHead(status, headers);
        ctx.res.end(body);
    }

    json(ctx, status, obj, headers = {}) {
        this.send(ctx, status, { 'content-type': 'application/json; charset=UTF-8', vary: 'Origin, X-Origin, Referer', 'cache-control': 'private', ...headers }, JSON.stringify(obj, null, 2));
    }

    takeFault(endpoint) {
        const fault = this.faults.get(endpoint);
        if (!fault) return null;
        fault.times -= 1;
        if (fault.times <= 0) this.faults.delete(endpoint);
        return fault;
    }

    applyFault(ctx, f) {
        switch (f.mode) {
        case 'status':
            return this.json(ctx, f.status ?? 500, f.body ?? googleError(f.status ?? 500, 'Internal error encountered.', 'backendError', 'INTERNAL'));
        case 'body':
            return this.send(ctx, f.status ?? 200, { 'content-type': f.contentType ?? 'application/json; charset=UTF-8' },
                typeof f.body === 'string' ? f.body : JSON.stringify(f.body ?? {}));
        case 'garbage':
            return this.send(ctx, 200, { 'content-type': 'application/json; charset=UTF-8' }, '{"kind": "admin#directory#groups", <html>');
        case 'ratelimit':
            return this.json(ctx, f.status ?? 403, rateLimitBody(f.status ?? 403));
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
            throw new Error(`google: unknown fault mode ${f.mode}`);
        }
    }

    dispatch(ctx) {
        switch (ctx.route.endpoint) {
        case 'token':
            return this.token(ctx);
        case 'groups_list':
        case 'has_member':
        case 'members_get':
            return this.directory(ctx);
        default:
            return this.json(ctx, 404, googleError(404, 'Not Found', 'notFound', 'NOT_FOUND'));
        }
    }

    /* --------------------------------------------- token endpoint */

    tokenError(ctx, status, error, description) {
        return this.json(ctx, status, { error, error_description: description });
    }

    token(ctx) {
        if (ctx.req.method !== 'POST') return this.json(ctx, 405, googleError(405, 'Method Not Allowed', 'httpMethodNotAllowed'));
        const p = new URLSearchParams(ctx.body);
        if (p.get('grant_type') !== JWT_BEARER) {
            return this.tokenError(ctx, 400, 'unsupported_grant_type', `Invalid grant_type: ${p.get('grant_type') ?? ''}`);
        }
        const assertion = p.get('assertion');
        if (!assertion) return this.tokenError(ctx, 400, 'invalid_request', 'Missing required parameter: assertion');
        const parts = assertion.split('.');
        const header = parts.length === 3 ? b64json(parts[0]) : undefined;
        const claims = parts.length === 3 ? b64json(parts[1]) : undefined;
        ctx.rec.assertion = { header, claims };
        if (!header || !claims) return this.tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT Signature.');
        const account = [...this.accounts.values()].find((a) => a.email === claims.iss);
        if (!account) return this.tokenError(ctx, 400, 'invalid_grant', TOKEN_ERRORS.notFound);
        if (header.alg !== 'RS256' || !this.signatureOk(account, header, parts)) {
            return this.tokenError(ctx, 400, 'invalid_grant', TOKEN_ERRORS.signature);
        }
        if (claims.aud !== this.tokenUrl) {
            return this.tokenError(ctx, 400, 'invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${this.tokenUrl}`);
        }
        const now = Math.floor(Date.now() / 1000);
        const { iat, exp } = claims;
        if (!Number.isInteger(iat) || !Number.isInteger(exp) || exp - iat > 3600 || exp <= iat
            || iat > now + this.skew || exp < now - this.skew) {
            return this.tokenError(ctx, 400, 'invalid_grant', TOKEN_ERRORS.time);
        }
        return this.grant(ctx, account, claims);
    }

    signatureOk(account, header, parts) {
        const keys = header.kid && account.keys.has(header.kid) ? [account.keys.get(header.kid)] : [...account.keys.values()];
        const input = Buffer.from(`${parts[0]}.${parts[1]}`);
        const sig = Buffer.from(parts[2], 'base64url');
        return keys.some((k) => crypto.verify('RSA-SHA256', input, k.publicKey, sig));
    }

    grant(ctx, account, claims) {
        const scopes = String(claims.scope ?? '').split(/\s+/).filter(Boolean);
        if (!scopes.length) return this.tokenError(ctx, 400, 'invalid_scope', 'Empty or missing scope not allowed.');
        if (scopes.some((s) => !KNOWN_SCOPES.has(s))) {
            return this.tokenError(ctx, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
        }
        if (claims.sub !== undefined) {
            if (!this.users.has(lower(claims.sub))) return this.tokenError(ctx, 400, 'invalid_grant', TOKEN_ERRORS.sub);
            if (scopes.some((s) => !account.delegated.has(s))) return this.tokenError(ctx, 401, 'unauthorized_client', TOKEN_ERRORS.delegation);
        }
        const token = `ya29.c.${crypto.randomBytes(48).toString('base64url')}`;
        this.tokens.set(token, { account: account.name, sub: claims.sub ? lower(claims.sub) : null, scopes, expires: Date.now() + this.tokenTtl * 1000 });
        return this.json(ctx, 200, { access_token: token, expires_in: this.tokenTtl - 1, token_type: 'Bearer' }, { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate', pragma: 'no-cache' });
    }

    /* ---------------------------------------------- Directory API */

    caller(ctx) {
        const m = /^Bearer\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
        const t = m ? this.tokens.get(m[1]) : undefined;
        return t && t.expires > Date.now() ? t : undefined;
    }

    overLimit(sub) {
        const now = Date.now();
        const w = this.windows.get(sub);
        if (!w || now - w.start >= 60000) {
            this.windows.set(sub, { start: now, n: 1 });
            return this.rateLimit < 1;
        }
        w.n += 1;
        return w.n > this.rateLimit;
    }

    directory(ctx) {
        const t = this.caller(ctx);
        if (!t) {
            return this.json(ctx, 401, UNAUTHENTICATED, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
        }
        if (!t.scopes.some((s) => GROUP_READ_SCOPES.has(s))) {
            return this.json(ctx, 403, INSUFFICIENT, { 'www-authenticate': `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${GROUP_SCOPE}"` });
        }
        // Without a sub the token acts as the service account, which is no
        // Workspace administrator; a sub must be one.
        if (!t.sub || !this.users.get(t.sub)?.admin) return this.json(ctx, 403, NOT_AUTHORIZED);
        if (this.overLimit(t.sub)) return this.json(ctx, 403, rateLimitBody(403));
        if (ctx.route.endpoint === 'groups_list') return this.groupsList(ctx);
        const group = this.groups.get(lower(ctx.route.groupKey));
        if (!group) return this.json(ctx, 404, googleError(404, 'Resource Not Found: groupKey', 'notFound'));
        return ctx.route.endpoint === 'has_member' ? this.hasMember(ctx, group) : this.memberGet(ctx, group);
    }

    // Whether an address is known to the directory: a user of the
    // Workspace, a group, or a member of some group.
    known(addr) {
        return this.users.has(addr) || this.groups.has(addr) || [...this.groups.values()].some((g) => g.members.includes(addr));
    }

    groupJson(g) {
        return {
            kind: 'admin#directory#group',
            id: g.id,
            etag: etag(),
            email: g.email,
            name: g.name,
            directMembersCount: String(g.members.length),
            description: g.description ?? '',
            adminCreated: true,
            nonEditableAliases: [`${g.email.split('@')[0]}@${domainOf(g.email)}.test-google-a.com`],
        };
    }

    // groups.list?userKey=: the groups the address is a direct member of
    // ("Retrieve all groups for a member"), sorted by address, paged.
    groupsList(ctx) {
        const q = ctx.url.searchParams;
        const userKey = lower(q.get('userKey'));
        if (!userKey) return this.json(ctx, 400, googleError(400, 'Bad Request', 'badRequest'));
        if (!this.known(userKey)) return this.json(ctx, 404, googleError(404, 'Resource Not Found: userKey', 'notFound'));
        const max = Number.parseInt(q.get('maxResults') ?? '200', 10);
        if (!Number.isInteger(max) || max < 1 || max > 200) return this.json(ctx, 400, googleError(400, 'Invalid Input: maxResults', 'invalid'));
        let offset = 0;
        if (q.has('pageToken')) {
            const tok = b64json(q.get('pageToken'));
            if (!tok || tok.u !== userKey || !Number.isInteger(tok.o)) return this.json(ctx, 400, googleError(400, 'Invalid Input: pageToken', 'invalid'));
            offset = tok.o;
        }
        const all = [...this.groups.values()].filter((g) => g.members.includes(userKey)).sort((a, b) => lower(a.email).localeCompare(lower(b.email)));
        const n = Math.min(max, this.pageSize);
        const page = all.slice(offset, offset + n);
        const out = { kind: 'admin#directory#groups', etag: etag() };
        if (page.length) out.groups = page.map((g) => this.groupJson(g));
        if (offset + n < all.length) out.nextPageToken = Buffer.from(JSON.stringify({ u: userKey, o: offset + n, r: crypto.randomBytes(6).toString('hex') })).toString('base64url');
        return this.json(ctx, 200, out);
    }

    // Direct or nested membership, within the group's domain.
    nested(group, addr, seen = new Set()) {
        if (seen.has(group.email)) return false;
        seen.add(group.email);
        if (group.members.includes(addr)) return true;
        return group.members.some((m) => this.groups.has(m) && domainOf(m) === domainOf(group.email) && this.nested(this.groups.get(m), addr, seen));
    }

    // members.hasMember: "Membership can be direct or nested, but if
    // nested, the memberKey and groupKey must be entities in the same domain
    // or an Invalid input error is returned."
    hasMember(ctx, group) {
        const addr = lower(ctx.route.memberKey);
        if (domainOf(addr) !== domainOf(group.email)) {
            return this.json(ctx, 400, googleError(400, 'Invalid Input: memberKey', 'invalid'));
        }
        if (!this.known(addr)) return this.json(ctx, 404, googleError(404, 'Resource Not Found: memberKey', 'notFound'));
        return this.json(ctx, 200, { isMember: this.nested(group, addr) });
    }

    // members.get: a direct member.
    memberGet(ctx, group) {
        const addr = lower(ctx.route.memberKey);
        if (!group.members.includes(addr)) return this.json(ctx, 404, googleError(404, 'Resource Not Found: memberKey', 'notFound'));
        const user = this.users.get(addr);
        const type = this.groups.has(addr) ? 'GROUP' : user ? 'USER' : 'EXTERNAL';
        return this.json(ctx, 200, {
            kind: 'admin#directory#member',
            etag: etag(),
            id: user?.id ?? crypto.createHash('sha256').update(addr).digest('hex').slice(0, 21),
            email: addr,
            role: 'MEMBER',
            type,
            status: user?.suspended ? 'SUSPENDED' : 'ACTIVE',
            delivery_settings: 'ALL_MAIL',
        });
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
        await new Promise((resolve) => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }
}

/** Starts the simulation; see the top of this file. */
export async function startGoogle(opts = {}) {
    const g = new Google(opts);
    g.server = http.createServer((req, res) => {
        g.handle(req, res).catch((e) => {
            if (!res.headersSent) res.writeHead(500);
            res.end(String(e));
        });
    });
    g.server.keepAliveTimeout = 2000;
    await new Promise((resolve, reject) => {
        g.server.once('error', reject);
        g.server.listen({ port: 0, host: LOOPBACK }, () => resolve());
    });
    g.server.unref();
    g.port = g.server.address().port;
    g.url = `http://${LOOPBACK}:${g.port}`;
    g.tokenUrl = `${g.url}/token`;
    return g;
}
