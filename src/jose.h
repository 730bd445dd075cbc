/*
 * jose.h: JSON Web Keys (RFC 7517/7518/8037) and JSON Web Signatures in
 * compact serialization (RFC 7515), verified with OpenSSL 3 EVP.
 *
 * Only public-key signatures are accepted: RS256/384/512, PS256/384/512,
 * ES256/384/512 and EdDSA (Ed25519, Ed448). "none" and every HMAC
 * algorithm are refused, whatever the key set holds, so a public key can
 * never be used as an HMAC secret (the "key confusion" attack). The alg of
 * a token must match the type of the key it is checked with (RS and PS:
 * RSA of at least 2048 bits; ES256: P-256, ES384: P-384, ES512: P-521;
 * EdDSA: OKP Ed25519 or Ed448) and the key's own "alg" when it has one.
 *
 * This file checks signatures only; what the payload says (iss, aud, exp,
 * ...) is claims.c's business.
 */
#ifndef OAUTH2_JOSE_H
#define OAUTH2_JOSE_H

#include <apr_pools.h>

/** A parsed JWK Set: public signing keys, each an EVP_PKEY freed with the
 * pool the set was parsed into. Read-only after parsing, so one set can be
 * shared by many threads. */
typedef struct oauth2_jwks_t oauth2_jwks_t;

/** A parsed compact JWS: header fields, decoded payload, signature. */
typedef struct oauth2_jws_t oauth2_jws_t;

/**
 * Parses a JWK Set document (RFC 7517 §5) of len bytes.
 * Keys whose "use" is present and not "sig", whose "key_ops" is present
 * without "verify", whose kty/crv is not supported (oct keys included),
 * whose kid or alg is not a string, RSA keys over OAUTH2_MAX_RSA_BITS, or
 * that do not parse (EC points off their curve included), are skipped; at
 * most OAUTH2_MAX_JWKS_KEYS keys are kept. The document is parsed in a
 * subpool of p; only the keys stay in p. A document that is not a JSON
 * object with a "keys" array, or longer than OAUTH2_MAX_JWKS, is refused.
 * An empty usable set is not an error (oauth2_jose_jwks_count() says 0).
 * @param p pool that owns the result; EVP_PKEYs are freed by its cleanup
 * @return APR_SUCCESS, OAUTH2_EMALFORMED, OAUTH2_ETOOBIG; *err on failure
 */
apr_status_t oauth2_jose_jwks_parse(apr_pool_t *p, const char *json,
                                    apr_size_t len, oauth2_jwks_t **jwks,
                                    const char **err);

/** Number of usable keys in a set (0 for NULL). */
int oauth2_jose_jwks_count(const oauth2_jwks_t *jwks);

/**
 * Parses a compact JWS of len bytes: exactly three non-empty base64url
 * segments separated by two dots (so the empty signature of an unsecured
 * "none" JWT is malformed already), a protected header that is a JSON
 * object with a non-empty string "alg", string "kid" and "typ" when
 * present, no "crit" member, decoded sizes within bounds.h. Header keys
 * (jwk, jku, x5u, x5c) are ignored. The signature is not checked here.
 * @return APR_SUCCESS, OAUTH2_EMALFORMED, OAUTH2_ETOOBIG; *err on failure
 */
apr_status_t oauth2_jose_jws_parse(apr_pool_t *p, const char *compact,
                                   apr_size_t len, oauth2_jws_t **jws,
                                   const char **err);

/** The header's "alg" (never NULL after a successful parse). */
const char *oauth2_jose_jws_alg(const oauth2_jws_t *jws);

/** The header's "kid", or NULL when absent. */
const char *oauth2_jose_jws_kid(const oauth2_jws_t *jws);

/** The header's "typ", or NULL when absent. */
const char *oauth2_jose_jws_typ(const oauth2_jws_t *jws);

/** The decoded payload (followed by a NUL byte) and its length. */
const char *oauth2_jose_jws_payload(const oauth2_jws_t *jws, apr_size_t *len);

/**
 * Verifies the signature of jws with a key of jwks.
 * The key is the one whose "kid" equals the header's kid (exactly, case
 * included); without a kid in the header, every key of a matching type is
 * tried. alg names are compared exactly ("none", "None", "HS256" are all
 * refused).
 * @return APR_SUCCESS;
 *         OAUTH2_EREFUSED for none, HMAC, an unsupported alg, an alg that
 *         does not fit the key named by kid (type, curve, size, the key's
 *         "alg"), or a NULL argument;
 *         OAUTH2_ENOTFOUND when no key has that kid (or, without a kid,
 *         no key fits) —
 *         the caller may refetch the JWKS once and retry;
 *         OAUTH2_EBADSIG when the signature does not verify (a signature
 *         of the wrong length included);
 *         OAUTH2_ECRYPTO for an OpenSSL failure (its text in *err).
 */
apr_status_t oauth2_jose_jws_verify(apr_pool_t *p, const oauth2_jws_t *jws,
                                    const oauth2_jwks_t *jwks,
                                    const char **err);

/** A private signing key (an EVP_PKEY freed with the pool it was read
 * into). Read-only after reading: threads may sign with it at once. */
typedef struct oauth2_jose_key_t oauth2_jose_key_t;

/**
 * Reads an RSA private key of at least 2048 bits from PEM text (PKCS#8
 * "PRIVATE KEY", as Google's service account keys hold, or PKCS#1 "RSA
 * PRIVATE KEY"); an encrypted key is refused, never prompted for.
 * @return APR_SUCCESS; OAUTH2_EMALFORMED (not such a key: *err says why)
 */
apr_status_t oauth2_jose_key_pem(apr_pool_t *p, const char *pem, apr_size_t len,
                                 oauth2_jose_key_t **key, const char **err);

/**
 * Signs a JWT with RS256 (RFC 7515 §7.1, RFC 7518 §3.3): BASE64URL of the
 * header and of the payload (both JSON texts, taken as they are), '.',
 * and the signature of both. *compact from p.
 * @return APR_SUCCESS or OAUTH2_ECRYPTO (OpenSSL's reason in *err)
 */
apr_status_t oauth2_jose_sign_rs256(apr_pool_t *p, const oauth2_jose_key_t *key,
                                    const char *header, const char *payload,
                                    char **compact, const char **err);

#endif /* OAUTH2_JOSE_H */
