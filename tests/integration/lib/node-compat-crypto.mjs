// node-compat-crypto.mjs: node:crypto with crypto.hash (Node 21.7, 20.12)
// for Node.js versions without it (see node-compat.mjs).
import crypto from 'node:crypto';

export * from 'node:crypto';
export default crypto;

/** A one-shot digest, as node:crypto's hash(algorithm, data, outputEncoding). */
export function hash(algorithm, data, outputEncoding = 'hex') {
    const digest = crypto.createHash(algorithm).update(data);
    return outputEncoding === 'buffer' ? digest.digest() : digest.digest(outputEncoding);
}
