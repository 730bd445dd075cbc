// provider.mjs: a real OpenID Provider (oidc-provider 9) in this process, on
// http://127.0.0.1:<free port>, for the integration tests and the demo.
//
// const op = await startProvider({
//     port: 0,                 // 0 = a free port (default); the demo asks for 9090
//     clients: [{              // oidc-provider client metadata; defaults shown
//         client_id: 'test-client',           // required
//         client_secret: 'test-client-secret',// default `${client_id}-secret`
//         redirect_uris: ['http://127.0.0.1:8080/oauth2/callback'],  // required
//         post_logout_redirect_uris: [],
//         token_endpoint_auth_method: 'client_secret_basic', // or client_secret_post
//         grant_types: ['authorization_code', 'refresh_token'],
//         backchannel_logout_uri: undefined,  // needs backchannelLogout: true
//         backchannel_logout_session_required: true when a uri is given,
//         id_token_signed_response_alg: signingAlgs[0],
//     }],
//     accounts: [{ id: 'alice', email: 'alice@example.com', groups: [...], ... }],
//                              // or an object { alice: {claims...} }; default
//                              // DEFAULT_ACCOUNTS (alice, bob). `password` is
//                              // optional: without it any password logs in;
//                              // unknown logins get the form again (the event
//                              // 'login.refused' is recorded). Any claim name is
//                              // allowed: groups and non-standard ones (hd,
//                              // realm_access, ...) come with the `openid` scope,
//                              // email/profile claims with those scopes.
//     signingAlgs: ['RS256'],  // one key per key type needed: RS*/PS* -> RSA 2048,
//                              // ES256/384/512 -> P-256/384/521, EdDSA -> Ed25519
//     claimsInIdToken: true,   // false: the ID token has sub (and protocol claims)
//                              // only; every other claim comes from userinfo
//     claims: {},              // extra scope -> [claims] entries
//     pkceRequired: true,
//     autoConsent: true,       // consent granted for every scope/claim requested
//     refreshTokens: false,    // true: always issue a refresh token to clients
//                              // allowed the refresh_token grant (else offline_access)
//     backchannelLogout: false, rpInitiatedLogout: true,
//     frontchannelLogout: false, // true: discovery says frontchannel_logout_supported
//                              // (and _session_supported), ID tokens carry sid,
//                              // back-channel stays off: what LemonLDAP::NG
//                              // does (oidc-provider 9 has no front-channel
//                              // page of its own: a test serves one with
//                              // op.fail(path, {mode: 'body'}))
//     ttl: { AccessToken: 600, IdToken: 600, AuthorizationCode: 60, RefreshToken: 86400,
//            Session: 3600, Interaction: 600, Grant: 3600 },
//     clockTolerance: 15,
//     allowPostLogoutRedirect: (uri, clientId) => false, // accept unregistered ones too
//     configure: (config) => {}, // last word on the oidc-provider configuration
// });
//
// The handle:
//   op.issuer, op.port, op.url(path)   issuer 'http://127.0.0.1:<port>'
//   op.metadata                        the discovery document (fetched at start)
//   op.provider                        the oidc-provider instance
//   op.jwks                            public JWKS {keys: [...]} as served
//   op.kid(alg)                        kid of the provider key that signs `alg`
//   op.signJwt(payload, {alg, kid, header, foreign, key})
//                                      compact JWS: with the provider's key for alg
//                                      (default RS256), with a key the provider
//                                      does not publish (foreign: true, kid default
//                                      'foreign-<kty>'), with `key` (KeyObject or,
//                                      for HS*, a Buffer/string secret); alg 'none'
//                                      gives an unsigned token. `header` is merged in
//                                      (kid: null removes it).
//   op.idToken(claims, opts)           signJwt of standard ID token claims (iss, sub,
//                                      aud = first client, iat, exp = +300 s,
//                                      auth_time) merged with `claims` (null deletes)
//   op.accessToken(claims, opts)       same for a JWT access token (typ at+jwt,
//                                      scope, client_id, jti)
//   op.foreignPublicJwk(alg, kid)      the public JWK of the foreign key for alg
//   op.setJwks(doc) / op.setJwks(null) serve `doc` at the jwks endpoint instead
//   op.rotateKey(alg = 'RS256')        a real key rotation: a new key of alg's type
//                                      (new kid) signs from now on; the JWKS
//                                      publishes it first and keeps the old ones;
//                                      op.kid(alg), op.jwks and signJwt follow.
//                                      Returns the new kid.
//   op.counts                          requests per endpoint: discovery, jwks,
//                                      authorization, resume, interaction, token,
//                                      userinfo, end_session, end_session_confirm,
//                                      revocation, introspection, other
//   op.requests                        [{endpoint, method, path, query, headers,
//                                        body (form POSTs to token/userinfo/...), status}]
//   op.resetCounts()                   clears counts and requests
//   op.fail(endpoint, {mode, times = Infinity, ...})  fault injection; endpoint
//                                      is a name above or a path; modes:
//       'status'  {status = 500, body, contentType}  answer with an error status
//       'body'    {status = 200, body, contentType}  any body (objects as JSON)
//       'garbage' 200 application/json that is not JSON
//       'huge'    {bytes = 10 MiB} 200 application/json of that many bytes
//       'hang'    {ms} never answer (or drop the connection after ms)
//       'trickle' {interval = 500, bytes = 100} headers, then a byte per interval
//       'delay'   {ms} wait, then answer normally
//       'reset'   close the connection without an answer
//   op.clearFaults()
//   op.events                          [{name, message}] of provider events
//                                      (server_error, backchannel.success/error,
//                                      grant.success, end_session.success,
//                                      login.refused, ...)
//                                      grant.success carries .sid: the sid
//                                      of the ID token it issued (or undefined)
//   op.waitForEvent(name, {timeout = 5000, since = 0})  resolves with the first
//                                      such event at or after `since` (ms epoch)
//   op.sendBackchannelLogout({clientId, sub, sid})  the provider POSTs a logout token
//   op.pause() / op.resume()           an outage: the port is closed (connections
//                                      refused, open ones cut), then listened on
//                                      again with every grant and session intact
//   op.stop()                          closes the server and every connection
import './node-compat.mjs';
import http from 'node:http';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT, base64url } from 'jose';
import { LOOPBACK, waitFor } from './ports.mjs';

// After node-compat.mjs (Debian 12's nodejs 18): dynamic imports, so that
// its module hook applies to oidc-provider's own imports. The second
// builds the provider's signing keystore and published JWKS from a JWK Set
// (the same function its constructor calls): a key rotation at run time.
const { default: Provider } = await import('oidc-provider');
const { default: initializeKeystore } = await import('oidc-provider/lib/helpers/initialize_keystore.js');

export const DEFAULT_ACCOUNTS = Object.freeze([
    {
        id: 'alice',
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice Example',
        given_name: 'Alice',
        family_name: 'Example',
        preferred_username: 'alice',
        groups: ['staff', 'admins'],
    },
    {
        id: 'bob',
        email: 'bob@other.example',
        email_verified: false,
        name: 'Bob Other',
        preferred_username: 'bob',
        groups: ['users'],
    },
]);

// Standard scope -> claims mapping (OIDC Core 5.4) plus `groups`.
const STANDARD_CLAIMS = {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname',
        'preferred_username', 'profile', 'picture', 'website', 'gender',
        'birthdate', 'zoneinfo', 'locale', 'updated_at'],
    address: ['address'],
    phone: ['phone_number', 'phone_number_verified'],
    groups: ['groups'],
};

const DEFAULT_TTL = {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 600,
    RefreshToken: 86400,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
};

const ROUTES = {
    authorization: '/auth',
    end_session: '/session/end',
    introspection: '/token/introspection',
    jwks: '/jwks',
    revocation: '/token/revocation',
    token: '/token',
    userinfo: '/me',
};

// Endpoints whose form bodies are recorded in op.requests.
const BODY_ENDPOINTS = new Set(['token', 'userinfo', 'revocation', 'introspection', 'end_session']);

/* ---------------------------------------------------------------- keys */

function keyTypeFor(alg) {
    if (/^(RS|PS)(256|384|512)$/.test(alg)) return { kty: 'RSA', gen: ['rsa', { modulusLength: 2048 }] };
    if (alg === 'ES256') return { kty: 'EC-P-256', gen: ['ec', { namedCurve: 'P-256' }] };
    if (alg === 'ES384') return { kty: 'EC-P-384', gen: ['ec', { namedCurve: 'P-384' }] };
    if (alg === 'ES512') return { kty: 'EC-P-521', gen: ['ec', { namedCurve: 'P-521' }] };
    if (alg === 'EdDSA' || alg === 'Ed25519') return { kty: 'OKP-Ed25519', gen: ['ed25519', {}] };
    throw new Error(`provider: no key type for alg ${alg}`);
}

function makeKey(alg, kid) {
    const { kty, gen } = keyTypeFor(alg);
    const { privateKey, publicKey } = crypto.generateKeyPairSync(...gen);
    kid ??= `${kty.toLowerCase()}-${crypto.randomBytes(4).toString('hex')}`;
    return {
        kty,
        kid,
        privateKey,
        publicKey,
        privateJwk: { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' },
        publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' },
    };
}

function makeKeys(algs) {
    const byType = new Map();
    for (const alg of algs) {
        const { kty } = keyTypeFor(alg);
        if (!byType.has(kty)) byType.set(kty, makeKey(alg));
    }
    return byType;
}

/* ---------------------------------------------------------- accounts */

function normalizeAccounts(accounts) {
    const list = Array.isArray(accounts)
        ? accounts
        : Object.entries(accounts).map(([id, claims]) => ({ id, ...claims }));
    const map = new Map();
    for (const a of list) {
        const { id, sub, password, ...claims } = a;
        const accountId = id ?? sub;
        if (!accountId) throw new Error('provider: every account needs an id');
        map.set(String(accountId), { id: String(accountId), password, claims });
    }
    return map;
}

// groups and the accounts' non-standard claims (hd, realm_access, ...) come
// with the openid scope, so they reach the ID token; with claimsInIdToken
// false they come with `profile` instead, so that only userinfo has them.
function claimsConfig(accounts, extra = {}, inIdToken = true) {
    const known = new Set(Object.values(STANDARD_CLAIMS).flat());
    const custom = new Set(['groups']);
    for (const { claims } of accounts.values()) {
        for (const name of Object.keys(claims)) if (!known.has(name)) custom.add(name);
    }
    const claims = { ...STANDARD_CLAIMS, ...extra };
    const scope = inIdToken ? 'openid' : 'profile';
    claims[scope] = [...new Set([...claims[scope], ...custom])];
    return claims;
}

/* ----------------------------------------------------------- clients */

function normalizeClient(c, defaultAlg) {
    if (!c.client_id) throw new Error('provider: every client needs a client_id');
    if (!c.redirect_uris?.length) throw new Error(`provider: client ${c.client_id} needs redirect_uris`);
    const client = {
        client_secret: `${c.client_id}-secret`,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: defaultAlg,
        ...c,
    };
    if (client.backchannel_logout_uri && client.backchannel_logout_session_required === undefined) {
        client.backchannel_logout_session_required = true;
    }
    return client;
}

/* -------------------------------------------------------------- faults */

function endpointName(path) {
    if (path === '/.well-known/openid-configuration') return 'discovery';
    for (const [name, route] of Object.entries(ROUTES)) {
        if (path === route) return name;
    }
    if (path.startsWith('/auth/')) return 'resume';
    if (path.startsWith('/interaction/')) return 'interaction';
    if (path.startsWith('/session/end/')) return 'end_session_confirm';
    return 'other';
}

function hugeStream(bytes) {
    const chunk = Buffer.alloc(64 * 1024, 0x61); // 'a'
    let left = Math.max(0, bytes - 10); // minus the JSON wrapper
    let started = false;
    return new Readable({
        read() {
            if (!started) {
                started = true;
                this.push('{"pad":"');
                return;
            }
            if (left <= 0) {
                this.push('"}');
                this.push(null);
                return;
            }
            const n = Math.min(left, chunk.length);
            left -= n;
            this.push(chunk.subarray(0, n));
        },
    });
}

function sendBody(ctx, status, body, contentType) {
    ctx.status = status;
    if (body === undefined) body = status >= 400 ? { error: 'server_error', error_description: 'injected fault' } : {};
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
        ctx.type = contentType ?? 'application/json';
        ctx.body = body;
    } else {
        ctx.type = contentType ?? 'application/json';
        ctx.body = JSON.stringify(body);
    }
}

async function applyFault(ctx, fault, live) {
    switch (fault.mode) {
    case 'status':
        return sendBody(ctx, fault.status ?? 500, fault.body, fault.contentType);
    case 'body':
        return sendBody(ctx, fault.status ?? 200, fault.body, fault.contentType);
    case 'garbage':
        return sendBody(ctx, 200, fault.body ?? '{"issuer": <html>not json at all\u0000', 'application/json');
    case 'huge':
        ctx.status = 200;
        ctx.type = 'application/json';
        ctx.body = hugeStream(fault.bytes ?? 10 * 1024 * 1024);
        return undefined;
    case 'hang':
        ctx.respond = false;
        live.add(ctx.req.socket);
        if (fault.ms) {
            const t = setTimeout(() => ctx.req.socket.destroy(), fault.ms).unref();
            live.timers.add(t);
        }
        return undefined;
    case 'trickle': {
        ctx.respond = false;
        const { res } = ctx;
        res.writeHead(200, { 'content-type': 'application/json' });
        let left = fault.bytes ?? 100;
        const t = setInterval(() => {
            if (res.destroyed || left-- <= 0) {
                clearInterval(t);
                live.timers.delete(t);
                if (!res.destroyed) res.end();
                return;
            }
            res.write(' ');
        }, fault.interval ?? 500).unref();
        live.timers.add(t);
        return undefined;
    }
    case 'reset':
        ctx.respond = false;
        ctx.req.socket.destroy();
        return undefined;
    default:
        throw new Error(`provider: unknown fault mode ${fault.mode}`);
    }
}

async function readBody(req, limit = 56 * 1024) {
    const chunks = [];
    let size = 0;
    for await (const c of req) {
        size += c.length;
        if (size > limit) break;
        chunks.push(c);
    }
    return Buffer.concat(chunks);
}

// Reads a form body for the record, then hands oidc-provider a stream that
// replays it, so its own body parser sees the request untouched.
async function captureBody(ctx) {
    const buf = await readBody(ctx.req);
    const req = ctx.req;
    Object.defineProperty(req, 'readable', { value: true, configurable: true });
    req.iterator = async function* replay() {
        yield buf;
    };
    return buf.toString('utf8');
}

/* ----------------------------------------------------------- provider */

function buildConfig(opts, accounts, keys, clients) {
    const autoConsent = opts.autoConsent ?? true;
    const ttl = { ...DEFAULT_TTL, ...(opts.ttl ?? {}) };
    const algs = [...new Set([...(opts.signingAlgs ?? ['RS256']), 'RS256'])];
    const config = {
        clients,
        jwks: { keys: [...keys.values()].map((k) => k.privateJwk) },
        claims: claimsConfig(accounts, opts.claims, opts.claimsInIdToken ?? true),
        scopes: ['openid', 'offline_access', ...(opts.scopes ?? [])],
        conformIdTokenClaims: !(opts.claimsInIdToken ?? true),
        clockTolerance: opts.clockTolerance ?? 15,
        cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
        routes: { ...ROUTES },
        pkce: { required: () => opts.pkceRequired ?? true },
        // oidc-provider refuses outgoing requests to loopback addresses (SSRF
        // protection); back-channel logout to Apache on 127.0.0.1 needs them.
        fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
        ttl,
        features: {
            devInteractions: { enabled: true },
            backchannelLogout: { enabled: !!opts.backchannelLogout },
            rpInitiatedLogout: { enabled: opts.rpInitiatedLogout ?? true },
            revocation: { enabled: true },
            introspection: { enabled: true },
            userinfo: { enabled: true },
        },
        enabledJWA: {
            idTokenSigningAlgValues: algs,
            userinfoSigningAlgValues: algs,
        },
        findAccount: async (ctx, sub) => {
            const a = accounts.get(sub);
            if (!a) return undefined;
            return {
                accountId: a.id,
                claims: async () => ({ ...structuredClone(a.claims), sub: a.id }),
            };
        },
        loadExistingGrant: async (ctx) => {
            const { oidc } = ctx;
            const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
            let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
            if (!autoConsent) return grant;
            grant ??= new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
            if (oidc.params.scope) grant.addOIDCScope(oidc.params.scope);
            if (oidc.claims) {
                const names = Object.values(oidc.claims).flatMap((c) => Object.keys(c ?? {}));
                if (names.length) grant.addOIDCClaims(names);
            }
            await grant.save();
            return grant;
        },
    };
    if (opts.refreshTokens) {
        config.issueRefreshToken = async (ctx, client) => client.grantTypeAllowed('refresh_token');
    }
    if (opts.frontchannelLogout) {
        config.discovery = { ...config.discovery, frontchannel_logout_supported: true, frontchannel_logout_session_supported: true };
    }
    opts.configure?.(config);
    return config;
}

function listen(server, port) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: LOOPBACK }, () => {
            server.off('error', reject);
            resolve(server.address().port);
        });
    });
}

// Lets `allow(uri, clientId)` accept post_logout_redirect_uri values besides
// the registered ones (the demo does not know what the module will send).
function allowPostLogoutRedirect(provider, allow) {
    const proto = provider.Client.prototype;
    const registered = proto.postLogoutRedirectUriAllowed;
    proto.postLogoutRedirectUriAllowed = function allowed(uri) {
        return registered.call(this, uri) || !!allow(uri, this.clientId);
    };
}

const EVENTS = ['server_error', 'backchannel.success', 'backchannel.error', 'grant.success',
    'grant.error', 'authorization.error', 'end_session.success', 'end_session.error',
    'userinfo.error', 'jwks.error', 'discovery.error', 'introspection.error',
    'revocation.error', 'refresh_token.consumed', 'interaction.ended'];

/** Starts the provider; see the top of this file for options and the handle. */
export async function startProvider(opts = {}) {
    const accounts = normalizeAccounts(opts.accounts ?? DEFAULT_ACCOUNTS);
    const signingAlgs = opts.signingAlgs ?? ['RS256'];
    const keys = makeKeys([...signingAlgs, 'RS256']);
    const clients = (opts.clients ?? []).map((c) => normalizeClient(c, signingAlgs[0]));

    let handler = (req, res) => {
        res.statusCode = 503;
        res.end();
    };
    const server = http.createServer((req, res) => handler(req, res));
    server.keepAliveTimeout = 2000;
    const port = await listen(server, opts.port ?? 0);
    // A test that forgets stop() must not keep its process alive forever.
    server.unref();
    const issuer = `http://${LOOPBACK}:${port}`;

    const provider = new Provider(issuer, buildConfig(opts, accounts, keys, clients));
    if (opts.allowPostLogoutRedirect) allowPostLogoutRedirect(provider, opts.allowPostLogoutRedirect);
    // Front-Channel Logout 1.0 §3: the ID token carries the sid that the
    // front-channel logout URI will name.
    if (opts.frontchannelLogout) provider.Client.prototype.includeSid = () => true;
    const op = new OpHandle({ server, provider, issuer, port, keys, clients, accounts });
    op.signing = [...keys.values()].map((k) => k.privateJwk);
    provider.use(op.middleware());
    for (const name of EVENTS) {
        provider.on(name, (...args) => op.recordEvent(name, args));
    }
    handler = provider.callback();

    op.metadata = await op.fetchJson('/.well-known/openid-configuration');
    op.jwks = await op.fetchJson('/jwks');
    op.resetCounts();
    return op;
}

class OpHandle {
    constructor({ server, provider, issuer, port, keys, clients, accounts }) {
        Object.assign(this, { server, provider, issuer, port, keys, clients, accounts });
        this.counts = {};
        this.requests = [];
        this.events = [];
        this.faults = new Map();
        this.jwksOverride = null;
        this.foreign = new Map();
        this.live = new Set();
        this.live.timers = new Set();
        this.eventWaiters = new Set();
        this.stopped = false;
    }

    url(path = '/') {
        return new URL(path, this.issuer).href;
    }

    fetchJson(path) {
        return new Promise((resolve, reject) => {
            http.get(this.url(path), (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => {
                    try {
                        resolve(JSON.parse(Buffer.concat(chunks).toString()));
                    } catch (e) {
                        reject(e);
                    }
                });
            }).on('error', reject);
        });
    }

    middleware() {
        return async (ctx, next) => {
            const endpoint = endpointName(ctx.path);
            this.counts[endpoint] = (this.counts[endpoint] ?? 0) + 1;
            const rec = {
                endpoint,
                method: ctx.method,
                path: ctx.path,
                query: { ...ctx.query },
                headers: { ...ctx.headers },
                time: Date.now(),
            };
            this.requests.push(rec);
            const form = ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded');
            if (form && BODY_ENDPOINTS.has(endpoint)) {
                rec.body = await captureBody(ctx);
            }
            if (form && endpoint === 'interaction' && this.refuseLogin(ctx, await captureBody(ctx))) {
                return undefined;
            }
            const fault = this.takeFault(endpoint, ctx.path);
            if (fault) {
                rec.fault = fault.mode;
                if (fault.mode !== 'delay') return applyFault(ctx, fault, this.live);
                await sleep(fault.ms ?? 1000);
            }
            if (endpoint === 'jwks' && this.jwksOverride) {
                sendBody(ctx, 200, this.jwksOverride, 'application/jwk-set+json; charset=utf-8');
                rec.status = 200;
                return undefined;
            }
            await next();
            rec.status = ctx.status;
            return undefined;
        };
    }

    // devInteractions accepts any login: refuse unknown accounts and wrong
    // passwords (for accounts that have one) by showing the form again.
    refuseLogin(ctx, body) {
        const params = new URLSearchParams(body);
        if (params.get('prompt') !== 'login') return false;
        const account = this.accounts.get(params.get('login') ?? '');
        if (account && (account.password === undefined || account.password === params.get('password'))) return false;
        this.events.push({ name: 'login.refused', message: `login ${params.get('login')} refused`, time: Date.now() });
        ctx.redirect(ctx.path);
        ctx.status = 303;
        return true;
    }

    takeFault(endpoint, path) {
        const fault = this.faults.get(endpoint) ?? this.faults.get(path);
        if (!fault) return null;
        fault.times -= 1;
        if (fault.times <= 0) {
            this.faults.delete(endpoint);
            this.faults.delete(path);
        }
        return fault;
    }

    fail(endpoint, spec = {}) {
        const fault = { mode: 'status', times: Infinity, ...spec };
        this.faults.set(endpoint, fault);
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

    setJwks(doc) {
        this.jwksOverride = doc ?? null;
        return this;
    }

    rotateKey(alg = 'RS256') {
        const k = makeKey(alg);
        this.keys.set(k.kty, k);
        this.signing = [k.privateJwk, ...this.signing];
        initializeKeystore.call(this.provider, { keys: this.signing.map((j) => ({ ...j })) });
        this.jwks = { keys: this.signing.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) };
        return k.kid;
    }

    async pause() {
        if (this.paused || this.stopped) return;
        this.paused = true;
        for (const s of this.live) s.destroy();
        await new Promise((resolve) => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }

    async resume() {
        if (!this.paused || this.stopped) return;
        await listen(this.server, this.port);
        this.paused = false;
    }

    recordEvent(name, args) {
        const err = args.find((a) => a instanceof Error);
        const ev = { name, message: err?.message, error: err, time: Date.now() };
        if (name === 'backchannel.success' || name === 'backchannel.error') {
            const client = args.find((a) => a?.clientId);
            ev.clientId = client?.clientId;
        }
        if (name === 'grant.success') {
            const idToken = args[0]?.body?.id_token;
            if (typeof idToken === 'string') {
                try {
                    ev.sid = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString()).sid;
                } catch { /* not a JWT: no sid */ }
            }
        }
        this.events.push(ev);
    }

    /** Resolves with the first recorded event called `name` (past or future). */
    async waitForEvent(name, { timeout = 5000, since = 0 } = {}) {
        return waitFor(() => this.events.find((e) => e.name === name && e.time >= since), { timeout, interval: 10, what: `provider event ${name}` });
    }

    kid(alg = 'RS256') {
        return this.keys.get(keyTypeFor(alg).kty).kid;
    }

    foreignKey(alg, kid) {
        const { kty } = keyTypeFor(alg);
        const id = `${kty}/${kid ?? ''}`;
        if (!this.foreign.has(id)) this.foreign.set(id, makeKey(alg, kid ?? `foreign-${kty.toLowerCase()}`));
        return this.foreign.get(id);
    }

    foreignPublicJwk(alg = 'RS256', kid) {
        return { ...this.foreignKey(alg, kid).publicJwk };
    }

    async signJwt(payload, { alg = 'RS256', kid, header = {}, foreign = false, key } = {}) {
        if (alg === 'none') {
            const h = { alg: 'none', typ: 'JWT', ...header };
            const enc = (o) => base64url.encode(JSON.stringify(o));
            return `${enc(dropNulls(h))}.${enc(payload)}.`;
        }
        let signingKey = key;
        let keyId = kid;
        if (!signingKey) {
            const k = foreign ? this.foreignKey(alg, kid) : this.keys.get(keyTypeFor(alg).kty);
            signingKey = k.privateKey;
            keyId ??= k.kid;
        } else if (typeof signingKey === 'string') {
            signingKey = Buffer.from(signingKey);
        }
        const h = dropNulls({ alg, typ: 'JWT', kid: keyId, ...header });
        return new SignJWT(payload).setProtectedHeader(h).sign(signingKey);
    }

    idToken(claims = {}, opts = {}) {
        const now = Math.floor(Date.now() / 1000);
        const base = {
            iss: this.issuer,
            sub: 'alice',
            aud: this.clients[0]?.client_id,
            iat: now,
            exp: now + 300,
            auth_time: now,
        };
        return this.signJwt(dropNulls({ ...base, ...claims }), opts);
    }

    accessToken(claims = {}, opts = {}) {
        const now = Math.floor(Date.now() / 1000);
        const base = {
            iss: this.issuer,
            sub: 'alice',
            aud: this.clients[0]?.client_id,
            client_id: this.clients[0]?.client_id,
            scope: 'openid email profile',
            jti: crypto.randomBytes(8).toString('hex'),
            iat: now,
            exp: now + 300,
        };
        return this.signJwt(dropNulls({ ...base, ...claims }), { ...opts, header: { typ: 'at+jwt', ...(opts.header ?? {}) } });
    }

    async sendBackchannelLogout({ clientId = this.clients[0]?.client_id, sub = 'alice', sid } = {}) {
        const client = await this.provider.Client.find(clientId);
        if (!client) throw new Error(`provider: no client ${clientId}`);
        return client.backchannelLogout(sub, sid);
    }

    async stop() {
        if (this.stopped) return;
        this.stopped = true;
        this.faults.clear();
        for (const t of this.live.timers) {
            clearTimeout(t);
            clearInterval(t);
        }
        for (const s of this.live) s.destroy();
        if (this.paused) return;
        await new Promise((resolve) => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }
}

function dropNulls(obj) {
    return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined));
}
