// apache.mjs: the real /usr/sbin/apache2 in the foreground, one per test file,
// with everything it writes in its own temporary directory.
//
//   const apache = await createApache({
//       config: '',            // text appended after the base config, or a
//                              // function (apache) => text, rendered at each
//                              // start/graceful/restart (apache.port, .url,
//                              // .dir, .docroot, .cgiBin are known by then)
//       withModule: false,     // LoadModule auth_oauth2_module <modulePath>
//       modulePath: MODULE_PATH, // $MOD_AUTH_OAUTH2_SO or build/.libs/mod_auth_oauth2.so
//       modules: [],           // more modules by name: 'socache_shmcb',
//                              // 'socache_redis', 'socache_memcache', 'status', ...
//       mpm: 'event',          // 'event' | 'worker' | 'prefork'
//       mpmConfig: undefined,  // replaces the default MPM sizing lines
//       logLevel: 'warn',      // e.g. 'warn auth_oauth2:trace3'
//       port: 0,               // 0 = a free loopback port
//       env: {},               // extra environment (LD_PRELOAD, ASAN_OPTIONS, ...);
//                              // $MOD_AUTH_OAUTH2_ENV (JSON) adds to every instance
//       files: {},             // {'htdocs/x.html': 'text', 'cgi-bin/a.cgi': {content, mode}}
//       keep: false,           // keep the directory at exit (also $KEEP_APACHE_DIR=1)
//       startTimeout: 15000,
//   });
//   await apache.start();      // resolves when serving; rejects with stderr and
//                              // the error log if apache2 exits or does not come up
//   apache.port, apache.url ('http://127.0.0.1:<port>'), apache.dir,
//   apache.docroot, apache.cgiBin, apache.confPath, apache.pid, apache.running
//   apache.href(path) -> absolute URL on this server
//   await apache.graceful({config}) // SIGUSR1; resolves when serving again
//   await apache.restart({config})  // SIGHUP; same
//   await apache.stop()        // SIGTERM, waits, SIGKILLs leftovers of the
//                              // process group; idempotent; logs stay readable
//                              // and start() may be called again
//   apache.remove()            // deletes the directory (done anyway when the
//                              // test process exits, unless keep)
//   await apache.configtest(text?) -> {code, output}  `apache2 -t` of the base
//                              // config plus `text` (default: the configured text)
//   apache.errorLog() / apache.accessLog() -> string (whole file; paths in
//   apache.errorLogPath / apache.accessLogPath)
//   apache.mark() -> position; apache.errorLog({since: mark}) -> text after it
//   apache.waitForLog(regex, {since, timeout = 5000, log = 'error'|'access'})
//                              // -> the first matching line
//   apache.waitForLines(regex, count, {since, timeout, log = 'access'})
//                              // -> once count lines match, all of them
//                              // (access log lines are written after the
//                              // response: never read them without waiting)
//   apache.writeFile(relPath, content, mode) into apache.dir
//   apache.renderConfig() -> the full httpd.conf text; apache.configText() -> the test part
//
//   startApache(opts)        = createApache(opts) then start()
//   configtest(text, opts)   = a throw-away instance's configtest(text)
//   moduleAvailable(path?)   -> true when the module .so exists
//   MODULE_PATH, APACHE_BIN, MODULES_DIR
//
// The base config: Listen 127.0.0.1:<port>, ServerName, the modules (mpm,
// authn_core, authz_core/user/host, proxy, proxy_http, headers, mime, dir,
// alias, env, setenvif, cgid, rewrite; log_config and unixd are built in),
// DocumentRoot <dir>/htdocs (index.html "It works", AllowOverride All),
// ScriptAlias /cgi-bin/ <dir>/cgi-bin/, `Require all denied` for <Directory />,
// Timeout 20, KeepAliveTimeout 2. The access log format is
// `%h %l %u %t "%r" %>s %b pid=%P us=%D`. Running as root, the server drops to
// www-data; the directory is made readable for it. Every running instance is
// killed if the test process exits, even by SIGKILL (pdeathsig).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort, waitFor, trackChild, killGroup, guardedCommand, LOOPBACK } from './ports.mjs';

export const APACHE_BIN = process.env.APACHE_BIN ?? '/usr/sbin/apache2';
export const MODULES_DIR = process.env.APACHE_MODULES_DIR ?? '/usr/lib/apache2/modules';
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MODULE_PATH = path.resolve(REPO_ROOT, process.env.MOD_AUTH_OAUTH2_SO ?? 'build/.libs/mod_auth_oauth2.so');

const BASE_MODULES = ['authn_core', 'authz_core', 'authz_user', 'authz_host', 'proxy',
    'proxy_http', 'headers', 'log_config', 'mime', 'dir', 'alias', 'env', 'setenvif',
    'cgid', 'unixd', 'rewrite'];

const MPM_CONFIG = {
    event: ['StartServers 2', 'ServerLimit 4', 'ThreadLimit 16', 'ThreadsPerChild 16',
        'MinSpareThreads 8', 'MaxSpareThreads 48', 'MaxRequestWorkers 64'],
    worker: ['StartServers 2', 'ServerLimit 4', 'ThreadLimit 16', 'ThreadsPerChild 16',
        'MinSpareThreads 8', 'MaxSpareThreads 48', 'MaxRequestWorkers 64'],
    prefork: ['StartServers 3', 'MinSpareServers 3', 'MaxSpareServers 5',
        'ServerLimit 16', 'MaxRequestWorkers 16'],
};

// Extra environment for every apache2 started here (not for this node
// process), a JSON object in $MOD_AUTH_OAUTH2_ENV: tests/sanitize.sh passes
// the ASan runtime (LD_PRELOAD) and ASAN_OPTIONS/UBSAN_OPTIONS this way.
const EXTRA_ENV = process.env.MOD_AUTH_OAUTH2_ENV ? JSON.parse(process.env.MOD_AUTH_OAUTH2_ENV) : {};

// Each MPM numbers it: AH00489 event, AH00292 worker, AH00163 prefork.
const READY_LINE = /AH\d{5}: .* resuming normal operations/g;
const IS_ROOT = process.getuid?.() === 0;

// Directories of instances not yet removed: deleted when the process exits.
const dirs = new Set();
process.on('exit', () => {
    for (const a of dirs) a.remove();
});

let staticModules;
function builtInModules() {
    if (!staticModules) {
        const r = spawnSync(APACHE_BIN, ['-l'], { encoding: 'utf8' });
        staticModules = new Set([...(r.stdout ?? '').matchAll(/mod_(\w+)\.c/g)].map((m) => m[1]));
    }
    return staticModules;
}

export function moduleAvailable(p = MODULE_PATH) {
    return fs.existsSync(p);
}

function loadModuleLines(names) {
    const builtIn = builtInModules();
    return [...new Set(names)]
        .filter((n) => !builtIn.has(n))
        .map((n) => `LoadModule ${n}_module "${MODULES_DIR}/mod_${n}.so"`);
}

function countReady(text) {
    return [...text.matchAll(READY_LINE)].length;
}

export class Apache {
    constructor(opts, port, dir) {
        this.opts = { mpm: 'event', logLevel: 'warn', ...opts };
        this.port = port;
        this.dir = dir;
        this.url = `http://${LOOPBACK}:${port}`;
        this.docroot = path.join(dir, 'htdocs');
        this.cgiBin = path.join(dir, 'cgi-bin');
        this.confPath = path.join(dir, 'conf', 'httpd.conf');
        this.errorLogPath = path.join(dir, 'logs', 'error.log');
        this.accessLogPath = path.join(dir, 'logs', 'access.log');
        this.child = null;
        this.output = '';
        dirs.add(this);
    }

    href(p = '/') {
        return new URL(p, this.url).href;
    }

    get pid() {
        return this.child?.pid;
    }

    get running() {
        return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
    }

    writeFile(rel, content, mode = 0o644) {
        const p = path.join(this.dir, rel);
        fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
        fs.writeFileSync(p, content, { mode });
        fs.chmodSync(p, mode);
        return p;
    }

    configText() {
        const c = this.opts.config ?? '';
        return typeof c === 'function' ? c(this) : c;
    }

    renderConfig(extra = this.configText()) {
        const o = this.opts;
        const modules = [`mpm_${o.mpm}`, ...BASE_MODULES, ...(o.modules ?? [])];
        const lines = [
            '# generated by tests/integration/lib/apache.mjs',
            `ServerRoot "${this.dir}"`,
            `DefaultRuntimeDir "${this.dir}/run"`,
            `PidFile "${this.dir}/run/httpd.pid"`,
            `ServerName ${LOOPBACK}:${this.port}`,
            `Listen ${LOOPBACK}:${this.port}`,
            ...loadModuleLines(modules),
        ];
        if (o.withModule) lines.push(`LoadModule auth_oauth2_module "${o.modulePath ?? MODULE_PATH}"`);
        if (IS_ROOT) lines.push('User www-data', 'Group www-data');
        lines.push(
            `ErrorLog "${this.errorLogPath}"`,
            `LogLevel ${o.logLevel}`,
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b pid=%P us=%D" tests',
            `CustomLog "${this.accessLogPath}" tests`,
            fs.existsSync('/etc/mime.types') ? 'TypesConfig /etc/mime.types' : 'TypesConfig /dev/null',
            `ScriptSock "${this.dir}/run/cgid.sock"`,
            'Timeout 20',
            'KeepAliveTimeout 2',
            'GracefulShutdownTimeout 5',
            'DirectoryIndex index.html',
            ...(o.mpmConfig !== undefined ? [o.mpmConfig] : MPM_CONFIG[o.mpm]),
            '<Directory />',
            '    AllowOverride None',
            '    Require all denied',
            '</Directory>',
            `DocumentRoot "${this.docroot}"`,
            `<Directory "${this.docroot}">`,
            '    AllowOverride All',
            '    Require all granted',
            '</Directory>',
            `ScriptAlias /cgi-bin/ "${this.cgiBin}/"`,
            `<Directory "${this.cgiBin}">`,
            '    Options +ExecCGI',
            '    Require all granted',
            '</Directory>',
            '',
            '# test configuration',
            extra,
            '',
        );
        return lines.join('\n');
    }

    writeConfig(config) {
        if (config !== undefined) this.opts.config = config;
        fs.writeFileSync(this.confPath, this.renderConfig(), { mode: 0o644 });
    }

    env() {
        return { ...process.env, ...EXTRA_ENV, ...(this.opts.env ?? {}) };
    }

    errorLog({ since = 0 } = {}) {
        return this.readLog(this.errorLogPath, 'error', since);
    }

    accessLog({ since = 0 } = {}) {
        return this.readLog(this.accessLogPath, 'access', since);
    }

    readLog(p, which, since) {
        let text;
        try {
            text = fs.readFileSync(p, 'utf8');
        } catch {
            text = '';
        }
        return typeof since === 'object' ? text.slice(since[which] ?? 0) : text.slice(since);
    }

    /** A position in both logs, for errorLog({since}) / accessLog({since}). */
    mark() {
        return { error: this.errorLog().length, access: this.accessLog().length };
    }

    async waitForLog(regex, { since = 0, timeout = 5000, log = 'error' } = {}) {
        const read = () => (log === 'access' ? this.accessLog({ since }) : this.errorLog({ since }));
        return waitFor(() => read().split('\n').find((l) => regex.test(l)), { timeout, what: `${log} log line ${regex}` });
    }

    /** Waits for count lines matching regex (Apache writes the access log
     * line after the response is sent: reading it at once races). */
    async waitForLines(regex, count, { since = 0, timeout = 5000, log = 'access' } = {}) {
        const read = () => (log === 'access' ? this.accessLog({ since }) : this.errorLog({ since }));
        return waitFor(() => {
            const lines = read().split('\n').filter((l) => regex.test(l));
            return lines.length >= count ? lines : undefined;
        }, { timeout, what: `${count} ${log} log lines ${regex}` });
    }

    failure(what) {
        const err = new Error(`apache2 ${what}\n--- stderr/stdout ---\n${this.output.trim()}\n--- error.log ---\n${this.errorLog().trim()}`);
        err.output = this.output;
        err.errorLogText = this.errorLog();
        return err;
    }

    async start() {
        if (this.running) return this;
        this.writeConfig();
        this.output = '';
        // SIGTERM from the kernel if this process dies without stopping it.
        const [bin, args] = guardedCommand(APACHE_BIN, ['-DFOREGROUND', '-f', this.confPath]);
        const child = spawn(bin, args, {
            detached: true,
            env: this.env(),
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        this.child = child;
        this.untrack = trackChild(child);
        child.stdout.on('data', (d) => { this.output += d; });
        child.stderr.on('data', (d) => { this.output += d; });
        // A test that forgets stop() must not hang: the process may exit,
        // and its exit hook (or the kernel's pdeathsig) ends apache2.
        child.unref();
        child.stdout.unref();
        child.stderr.unref();
        this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
        child.once('error', (e) => { this.output += `spawn error: ${e.message}\n`; });
        try {
            await this.waitServing(0);
        } catch (e) {
            await this.kill();
            throw this.failure(`did not start: ${e.message}`);
        }
        return this;
    }

    /** Waits until the port answers and the ready line count exceeds `before`. */
    async waitServing(before) {
        const timeout = this.opts.startTimeout ?? 15000;
        const start = Date.now();
        await waitFor(() => {
            if (!this.running) throw Object.assign(new Error('exited'), { fatal: true });
            return countReady(this.errorLog()) > before;
        }, { timeout, interval: 20, what: 'the "resuming normal operations" log line' }).catch((e) => {
            if (!this.running) throw new Error(`exited with ${this.child.exitCode ?? this.child.signalCode}`);
            throw e;
        });
        await waitForPort(this.port, { timeout: Math.max(1000, timeout - (Date.now() - start)), child: this.child });
    }

    async signalAndWait(signal, config) {
        if (!this.running) throw new Error(`apache2 is not running (${signal})`);
        if (config !== undefined) this.opts.config = config;
        this.writeConfig();
        const before = countReady(this.errorLog());
        process.kill(this.child.pid, signal);
        try {
            await this.waitServing(before);
        } catch (e) {
            await this.kill();
            throw this.failure(`did not come back after ${signal}: ${e.message}`);
        }
        return this;
    }

    graceful({ config } = {}) {
        return this.signalAndWait('SIGUSR1', config);
    }

    restart({ config } = {}) {
        return this.signalAndWait('SIGHUP', config);
    }

    async waitExit(ms) {
        if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return true;
        let timer;
        const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
        const r = await Promise.race([this.exited.then(() => true), timedOut]);
        clearTimeout(timer);
        return r;
    }

    /** Leftovers of the group (children, cgid) die too. */
    async kill() {
        if (!this.child) return;
        const pid = this.child.pid;
        killGroup(pid, 'SIGKILL');
        await this.waitExit(5000);
        this.untrack?.();
    }

    async stop() {
        if (!this.child) return this;
        const pid = this.child.pid;
        if (this.running) {
            killGroup(pid, 'SIGTERM');
            if (!(await this.waitExit(10000))) killGroup(pid, 'SIGKILL');
            await this.waitExit(5000);
        }
        // The parent is gone; make sure no child of the group lingers.
        await waitFor(() => !killGroup(pid, 0), { timeout: 3000, interval: 20, what: 'apache children to exit' })
            .catch(() => killGroup(pid, 'SIGKILL'));
        this.untrack?.();
        this.child = null;
        return this;
    }

    /** Deletes the directory (unless keep); the server must be stopped. */
    remove() {
        dirs.delete(this);
        if (this.opts.keep || process.env.KEEP_APACHE_DIR === '1') return this;
        fs.rmSync(this.dir, { recursive: true, force: true });
        return this;
    }

    async configtest(text) {
        const p = path.join(this.dir, 'conf', `configtest-${process.hrtime.bigint()}.conf`);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, this.renderConfig(text ?? this.configText()));
        const child = spawn(APACHE_BIN, ['-t', '-f', p], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => { output += d; });
        child.stderr.on('data', (d) => { output += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        const code = await new Promise((resolve) => child.once('close', (c, s) => resolve(c ?? s)));
        clearTimeout(timer);
        fs.rmSync(p, { force: true });
        return { code, output };
    }
}

function makeDir(files) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mao2-apache-'));
    for (const sub of ['conf', 'logs', 'run', 'htdocs', 'cgi-bin']) {
        fs.mkdirSync(path.join(dir, sub), { mode: 0o755 });
    }
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'htdocs', 'index.html'), '<!doctype html><title>index</title><h1>It works</h1>\n', { mode: 0o644 });
    for (const [rel, spec] of Object.entries(files ?? {})) {
        const { content, mode } = typeof spec === 'object' && !Buffer.isBuffer(spec) ? spec : { content: spec };
        const p = path.join(dir, rel);
        fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
        fs.writeFileSync(p, content, { mode: mode ?? 0o644 });
        fs.chmodSync(p, mode ?? 0o644);
    }
    return dir;
}

/** A configured, not yet started instance; see the top of this file. */
export async function createApache(opts = {}) {
    const port = opts.port || (await freePort());
    return new Apache(opts, port, makeDir(opts.files));
}

export async function startApache(opts = {}) {
    const a = await createApache(opts);
    return a.start();
}

/** `apache2 -t` of the base config plus `text`, in a throw-away directory. */
export async function configtest(text, opts = {}) {
    const a = await createApache(opts);
    try {
        return await a.configtest(text);
    } finally {
        a.remove();
    }
}
