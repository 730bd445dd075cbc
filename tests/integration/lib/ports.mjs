// ports.mjs: free loopback ports, readiness waits and kill-on-exit for the
// servers the integration tests spawn.
//
//   freePort({host})              -> Promise<number>  a port nobody listens on now
//                                    (never the same one twice in this process),
//                                    below the kernel's ephemeral range, so that
//                                    no outgoing connection of any process can
//                                    take it before the server binds it
//   isPortFree(port, {host})      -> Promise<boolean>
//   waitForPort(port, {host, timeout = 10000, interval = 25, child})
//                                 -> resolves once a TCP connect succeeds; rejects
//                                    on timeout, or as soon as `child` (a
//                                    ChildProcess) has exited
//   waitFor(fn, {timeout, interval, what}) -> polls an (async) predicate until
//                                    it returns a truthy value, which it resolves to;
//                                    an error thrown with `fatal: true` ends the wait
//   trackChild(child)             -> kills the child's process group (SIGKILL) if
//                                    this node process exits while it still runs;
//                                    returns an untrack() function
//   killGroup(pid, signal)        -> signals a process group, ignoring ESRCH
//   guardedCommand(bin, args, signal = 'SIGTERM') -> [bin, args] that run the
//                                    command so it gets `signal` when this node
//                                    process dies, even by SIGKILL (setpriv
//                                    --pdeathsig, util-linux; unwrapped without it)
//
// Every wait has a timeout, so a test never hangs on a server that does not
// come up. Spawn servers with `detached: true` so each one leads its own group.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOOPBACK = '127.0.0.1';

const handedOut = new Set();

function listenOnce(port, host) {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.once('error', reject);
        srv.listen({ port, host, exclusive: true }, () => {
            const { port: bound } = srv.address();
            srv.close(() => resolve(bound));
        });
    });
}

/* Ports the kernel never gives an outgoing connection: from 10000 up to
 * the start of its ephemeral range (32768 on Debian). A port taken from
 * that range (listen on 0) could be taken again, between the check and
 * the server's bind, by any connect() on the machine: seen as apache2's
 * "Address already in use" while other suites ran. */
function quietRange() {
    try {
        const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
        if (low > 12000) return [10000, low - 1];
    } catch {
        // no /proc: the kernel's choice below
    }
    return null;
}

const QUIET = quietRange();

/** A loopback port that is free right now and was not handed out before. */
export async function freePort({ host = LOOPBACK } = {}) {
    for (let i = 0; i < 200; i++) {
        const port = QUIET ? QUIET[0] + crypto.randomInt(QUIET[1] - QUIET[0] + 1) : 0;
        if (handedOut.has(port)) continue;
        const bound = await listenOnce(port, host).catch(() => null);
        if (bound !== null && !handedOut.has(bound)) {
            handedOut.add(bound);
            return bound;
        }
    }
    throw new Error('freePort: no fresh port after 200 tries');
}

/** True when nothing listens on host:port (checked by binding it). */
export async function isPortFree(port, { host = LOOPBACK } = {}) {
    try {
        await listenOnce(port, host);
        return true;
    } catch {
        return false;
    }
}

function tryConnect(port, host, timeout) {
    return new Promise((resolve) => {
        const sock = net.connect({ port, host });
        const done = (ok) => {
            sock.destroy();
            resolve(ok);
        };
        sock.setTimeout(timeout, () => done(false));
        sock.once('connect', () => done(true));
        sock.once('error', () => done(false));
    });
}

/** Polls an async predicate until it is truthy; rejects after `timeout` ms. */
export async function waitFor(fn, { timeout = 10000, interval = 25, what = 'condition' } = {}) {
    const deadline = Date.now() + timeout;
    let lastError;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (e) {
            if (e.fatal) throw e;
            lastError = e;
        }
        if (Date.now() >= deadline) {
            const why = lastError ? ` (last error: ${lastError.message})` : '';
            throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
        }
        await sleep(interval);
    }
}

/** Resolves when host:port accepts a TCP connection. */
export async function waitForPort(port, { host = LOOPBACK, timeout = 10000, interval = 25, child } = {}) {
    return waitFor(async () => {
        if (child && (child.exitCode !== null || child.signalCode !== null)) {
            throw Object.assign(new Error(`process ${child.pid} exited (${child.exitCode ?? child.signalCode}) before port ${port} answered`), { exited: true, fatal: true });
        }
        return tryConnect(port, host, 1000);
    }, { timeout, interval, what: `${host}:${port}` }).catch((e) => {
        if (child && (child.exitCode !== null || child.signalCode !== null)) {
            e.exited = true;
        }
        throw e;
    });
}

/** Sends a signal to a whole process group; a group that is gone is fine. */
export function killGroup(pid, signal = 'SIGTERM') {
    if (!pid) return false;
    try {
        process.kill(-pid, signal);
        return true;
    } catch (e) {
        if (e.code === 'ESRCH') return false;
        throw e;
    }
}

const tracked = new Set();
let hooksInstalled = false;

function killTracked() {
    for (const pid of tracked) killGroup(pid, 'SIGKILL');
    tracked.clear();
}

function installHooks() {
    if (hooksInstalled) return;
    hooksInstalled = true;
    process.on('exit', killTracked);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
        process.on(sig, () => {
            // Someone else (e.g. the demo launcher) handles this signal and
            // stops its servers cleanly; the 'exit' hook still kills leftovers.
            if (process.listenerCount(sig) > 1) return;
            killTracked();
            process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]);
        });
    }
}

/** Kills child's process group if this process exits first. */
export function trackChild(child) {
    installHooks();
    tracked.add(child.pid);
    return () => tracked.delete(child.pid);
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

/** Wraps a command so that the kernel signals it when this process dies. */
export function guardedCommand(bin, args, signal = 'SIGTERM') {
    if (!SETPRIV) return [bin, args];
    return [SETPRIV, [`--pdeathsig=${signal}`, '--', bin, ...args]];
}
