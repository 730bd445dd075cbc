// gitlab.mjs: a local GitLab REST API for the integration tests: the one
// call the module makes for `Require oauth2-group project:...`, GET
// /api/v4/projects/:id ("Projects API: Get a single project"), answering as
// GitLab does: the project with the caller's "permissions" (project_access:
// a direct membership of the project; group_access: the highest membership
// in the project's group or one of its ancestors, as GitLab's
// Group#highest_group_member counts it), 404 "Project Not Found" for a
// project the caller cannot see, 401 for a missing, unknown, expired or
// revoked token, 403 insufficient_scope for a token without api or
// read_api, 429 when rate limited.
//
// GitLab's OAuth server is the one test provider (lib/provider.mjs, with
// the gitlab preset's claims): tokenOwner maps its access tokens to users,
// as GitLab's API accepts the tokens its own OAuth server issued.
//
// const gl = await startGitLab({
//     users: [{ id: 4101, username: 'gl-dev' }],
//     groups: [{ path: 'acme', members: { 'gl-lead': 50 } },    // full paths;
//              { path: 'acme/dev', members: { 'gl-dev': 30 } }], // levels 10..50
//     projects: [{ path: 'acme/dev/app', visibility: 'private', // or internal,
//                  members: { 'gl-guest': 10 }, archived: false }], // public
//     tokenOwner: async (token) => ({ userId, scopes }) | undefined,
// });
//   gl.url (the instance), gl.apiUrl (url + /api/v4)
//   gl.issueToken(username, {scopes = ['read_api']}) -> a token the API
//                       accepts (a personal access token)
//   gl.revoke(token)    the token is refused from now on (401)
//   gl.counts           requests per endpoint: project, other
//   gl.requests         [{endpoint, method, path, rawId, headers, status, user}]
//   gl.fail(endpoint, {mode: 'status' | 'ratelimit' | 'garbage' | 'hang' |
//                      'reset' | 'delay', times, status, body, ms})
//   gl.clearFaults(), gl.resetCounts(), await gl.stop()
//
// What it leaves out: every other endpoint, projects shared with a group
// (project_group_links; GitLab's "permissions" leaves them out too),
// administrators (who see every project with null permissions), blocked
// users, deploy tokens, job tokens, the PRIVATE-TOKEN header's other token
// kinds, redirects of renamed projects (the API finds them under their old
// path as well), and ETags.
import http from 'node:http';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports.mjs';

const INSUFFICIENT = {
    error: 'insufficient_scope',
    error_description: 'The request requires higher privileges than provided by the access token.',
    scope: 'api read_api',
};

function lower(s) {
    return String(s ?? '').toLowerCase();
}

class GitLab {
    constructor(opts) {
        this.opts = opts;
        this.users = new Map((opts.users ?? []).map((u) => [lower(u.username), { ...u }]));
        this.groups = new Map((opts.groups ?? []).map((g, i) => [lower(g.path), { id: 100 + i, members: {}, ...g }]));
        this.projects = (opts.projects ?? []).map((p, i) => ({ id: 1000 + i, members: {}, visibility: 'private', archived: false, ...p }));
        this.tokens = new Map();
        this.revoked = new Set();
        this.faults = new Map();
        this.live = new Set();
        this.timers = new Set();
        this.counts = {};
        this.requests = [];
    }

    issueToken(username, { scopes = ['read_api'] } = {}) {
        const token = `glpat-${crypto.randomBytes(15).toString('base64url')}`;
        this.tokens.set(token, { userId: this.users.get(lower(username)).id, scopes });
        return token;
    }

    revoke(token) {
        this.revoked.add(token);
        return this;
    }

    async owner(token) {
        if (!token || this.revoked.has(token)) return undefined;
        const t = this.tokens.get(token) ?? (await this.opts.tokenOwner?.(token));
        if (!t) return undefined;
        const user = [...this.users.values()].find((u) => String(u.id) === String(t.userId));
        return user ? { user, scopes: t.scopes } : undefined;
    }

    // group_access: the highest membership in the namespace group and its
    // ancestors (GitLab: GroupMember where source_id in self_and_ancestors).
    groupAccess(project, username) {
        const parts = lower(project.path).split('/').slice(0, -1);
        let best = null;
        for (let i = 1; i <= parts.length; i++) {
            const g = this.groups.get(parts.slice(0, i).join('/'));
            const level = g?.members[username];
            if (level && (!best || level > best)) best = level;
        }
        return best;
    }

    permissions(project, user) {
        const name = user ? lower(user.username) : null;
        const pa = name ? project.members[name] ?? null : null;
        const ga = name ? this.groupAccess(project, name) : null;
        return {
            project_access: pa ? { access_level: pa, notification_level: 3 } : null,
            group_access: ga ? { access_level: ga, notification_level: 3 } : null,
        };
    }

    visible(project, user) {
        if (project.visibility === 'public') return true;
        if (!user) return false;
        if (project.visibility === 'internal') return true;
        const p = this.permissions(project, user);
        return !!(p.project_access || p.group_access);
    }

    projectJson(project, user) {
        const parts = project.path.split('/');
        const ns = parts.slice(0, -1).join('/');
        const group = this.groups.get(lower(ns));
        const web = `${this.url}/${project.path}`;
        return {
            id: project.id,
            description: null,
            name: parts.at(-1),
            name_with_namespace: parts.join(' / '),
            path: parts.at(-1),
            path_with_namespace: project.path,
            created_at: '2024-01-15T10:00:00.000Z',
            default_branch: 'main',
            tag_list: [],
            topics: [],
            ssh_url_to_repo: `git@127.0.0.1:${project.path}.git`,
            http_url_to_repo: `${web}.git`,
            web_url: web,
            visibility: project.visibility,
            archived: project.archived,
            namespace: { id: group?.id ?? 1, name: parts.at(-2), path: parts.at(-2), kind: group ? 'group' : 'user', full_path: ns, parent_id: null, web_url: `${this.url}/${ns}` },
            permissions: this.permissions(project, user),
        };
    }

    async handle(req, res) {
        const url = new URL(req.url, `http://${req.headers.host ?? LOOPBACK}`);
        // The raw path: %2F in :id stays encoded, as GitLab's router sees it.
        const m = /^\/api\/v4\/projects\/([^/]+)$/.exec(url.pathname);
        const endpoint = m && req.method === 'GET' ? 'project' : 'other';
        this.counts[endpoint] = (this.counts[endpoint] ?? 0) + 1;
        const rec = { endpoint, method: req.method, path: url.pathname, rawId: m?.[1], headers: { ...req.headers }, time: Date.now() };
        this.requests.push(rec);
        const ctx = { req, res, url, rec };
        const fault = this.faults.get(endpoint);
        if (fault) {
            fault.times -= 1;
            if (fault.times <= 0) this.faults.delete(endpoint);
            rec.fault = fault.mode;
            if (fault.mode === 'delay') await sleep(fault.ms ?? 1000);
            else return this.applyFault(ctx, fault);
        }
        if (endpoint !== 'project') return this.json(ctx, 404, { error: '404 Not Found' });
        return this.project(ctx, decodeURIComponent(m[1]));
    }

    async project(ctx, id) {
        const header = ctx.req.headers.authorization ?? '';
        const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? ctx.req.headers['private-token'];
        const who = bearer ? await this.owner(bearer) : undefined;
        if (bearer && !who) {
            return this.json(ctx, 401, { message: '401 Unauthorized' }, { 'www-authenticate': 'Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."' });
        }
        if (who && !who.scopes.some((s) => s === 'api' || s === 'read_api')) {
            return this.json(ctx, 403, INSUFFICIENT, { 'www-authenticate': 'Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", scope="api read_api"' });
        }
        ctx.rec.user = who?.user.username;
        const project = /^\d+$/.test(id)
            ? this.projects.find((p) => String(p.id) === id)
            : this.projects.find((p) => lower(p.path) === lower(id));
        if (!project || !this.visible(project, who?.user)) return this.json(ctx, 404, { message: '404 Project Not Found' });
        return this.json(ctx, 200, this.projectJson(project, who?.user));
    }

    json(ctx, status, obj, headers = {}) {
        ctx.rec.status = status;
        if (ctx.res.headersSent) return;
        ctx.res.writeHead(status, {
            'content-type': 'application/json',
            'cache-control': 'max-age=0, private, must-revalidate',
            'x-request-id': crypto.randomBytes(13).toString('hex').toUpperCase(),
            'ratelimit-limit': '2000',
            'ratelimit-remaining': '1999',
            ...headers,
        });
        ctx.res.end(JSON.stringify(obj));
    }

    applyFault(ctx, f) {
        switch (f.mode) {
        case 'status':
            return this.json(ctx, f.status ?? 500, f.body ?? { message: '500 Internal Server Error' });
        case 'ratelimit':
            // GitLab docs "Rate limits": 429 with Retry-After and a plain body.
            ctx.rec.status = 429;
            ctx.res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '60', 'ratelimit-remaining': '0' });
            return ctx.res.end('Retry later\n');
        case 'garbage':
            ctx.rec.status = 200;
            ctx.res.writeHead(200, { 'content-type': 'application/json' });
            return ctx.res.end('{"id": 1, "permissions": <oops>');
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
            throw new Error(`gitlab: unknown fault mode ${f.mode}`);
        }
    }

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
export async function startGitLab(opts = {}) {
    const gl = new GitLab(opts);
    gl.server = http.createServer((req, res) => {
        gl.handle(req, res).catch((e) => {
            if (!res.headersSent) res.writeHead(500);
            res.end(String(e));
        });
    });
    gl.server.keepAliveTimeout = 2000;
    await new Promise((resolve, reject) => {
        gl.server.once('error', reject);
        gl.server.listen({ port: 0, host: LOOPBACK }, () => resolve());
    });
    gl.server.unref();
    gl.port = gl.server.address().port;
    gl.url = `http://${LOOPBACK}:${gl.port}`;
    gl.apiUrl = `${gl.url}/api/v4`;
    return gl;
}
