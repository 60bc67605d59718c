//! Cost of verifying one access token with `JwtVerifier`.
//!
//! - `rs256/cold`: RS256 (2048-bit key), verified-token cache disabled, so every
//!   call checks the signature and the claims.
//! - `rs256/cached`: the same token again with the cache on (a client reusing
//!   its token): a SHA-256 of the token and a map lookup.
//! - `rs256/new_token_cached_verifier`: distinct tokens through a verifier with
//!   the cache on (miss, verification, insertion).
//! - `es256/cold`, `eddsa/cold`: the same as `rs256/cold` for the other key types.
//! - `introspection/cached`: an opaque token already introspected, served
//!   by `IntrospectionVerifier`'s cache (an HMAC of the token, a map lookup
//!   under a lock), next to `rs256/cached`; the one introspection that fills
//!   the cache goes to an endpoint served in the benchmark.
//! - `rs256/jsonwebtoken_decode`: `jsonwebtoken::decode` with a `DecodingKey`
//!   from the same JWK, for comparison (it re-parses the key on every call).
//!
//! Run: `cargo bench -p mcp-runtime --bench verify` (add `-- --quick` for a
//! short run).

use std::{
    future::Future,
    hint::black_box,
    pin::pin,
    task::{Context, Poll, Waker},
    time::{SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
        RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
    },
};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use mcp_runtime::auth::{JwtVerifier, TokenVerifier, jwt::JwkSet};
use serde_json::{Value, json};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "res_123";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Polls a future that never waits (static keys) to completion.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("verification with static keys does not wait"),
    }
}

fn claims(jti: u64) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": ISS, "aud": [AUD, "https://mcp.example.com/mcp"], "sub": "user-42",
        "client_id": "client-7", "scope": "todo:read todo:write", "iat": now,
        "exp": now + 3600, "jti": jti,
    })
}

fn token(alg: &str, kid: &str, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({ "alg": alg, "kid": kid, "typ": "JWT" });
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(sig))
}

fn verifier(jwk: &Value, cache: usize) -> JwtVerifier {
    let set: JwkSet = serde_json::from_value(json!({ "keys": [jwk] })).unwrap();
    JwtVerifier::builder_from_jwks(set)
        .issuer(ISS)
        .audience(AUD)
        .cache_capacity(cache)
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rng = SystemRandom::new();

    // RS256
    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let comps = RsaPublicKeyComponents::<Vec<u8>>::from(rsa.public_key());
    let rsa_jwk = json!({ "kty": "RSA", "kid": "r", "n": b64(&comps.n), "e": b64(&comps.e) });
    let rsa_sign = |input: &[u8]| {
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(&RSA_PKCS1_SHA256, &rng, input, &mut sig).unwrap();
        sig
    };
    let rs_token = token("RS256", "r", &claims(0), rsa_sign);
    let cold = verifier(&rsa_jwk, 0);
    let cached = verifier(&rsa_jwk, 10_000);
    run(cached.verify(&rs_token)).unwrap();

    let mut group = c.benchmark_group("rs256");
    group.bench_function("cold", |b| {
        b.iter(|| run(cold.verify(black_box(&rs_token))).unwrap())
    });
    group.bench_function("cached", |b| {
        b.iter(|| run(cached.verify(black_box(&rs_token))).unwrap())
    });
    // 256 distinct pre-signed tokens, cycled through a verifier whose cache
    // is far smaller (capacity 1: at most one entry per shard), so every call
    // is a miss that verifies and inserts.
    let distinct: Vec<String> = (0..256)
        .map(|i| token("RS256", "r", &claims(i), rsa_sign))
        .collect();
    let tiny_cache = verifier(&rsa_jwk, 1);
    let mut i = 0;
    group.bench_function("new_token_cached_verifier", |b| {
        b.iter(|| {
            i = (i + 1) % distinct.len();
            run(tiny_cache.verify(black_box(&distinct[i]))).unwrap()
        })
    });
    let key =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(rsa_jwk.clone()).unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Map<String, Value>>(
                black_box(&rs_token),
                &key,
                &validation,
            )
            .unwrap()
        })
    });
    group.finish();

    // ES256
    let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let p = ec.public_key().as_ref();
    let ec_jwk =
        json!({ "kty": "EC", "crv": "P-256", "kid": "e", "x": b64(&p[1..33]), "y": b64(&p[33..]) });
    let es_token = token("ES256", "e", &claims(0), |input| {
        ec.sign(&rng, input).unwrap().as_ref().to_vec()
    });
    let es_cold = verifier(&ec_jwk, 0);
    c.benchmark_group("es256").bench_function("cold", |b| {
        b.iter(|| run(es_cold.verify(black_box(&es_token))).unwrap())
    });

    // EdDSA
    let ed = Ed25519KeyPair::generate().unwrap();
    let ed_jwk =
        json!({ "kty": "OKP", "crv": "Ed25519", "kid": "d", "x": b64(ed.public_key().as_ref()) });
    let ed_token = token("EdDSA", "d", &claims(0), |input| {
        ed.sign(input).as_ref().to_vec()
    });
    let ed_cold = verifier(&ed_jwk, 0);
    c.benchmark_group("eddsa").bench_function("cold", |b| {
        b.iter(|| run(ed_cold.verify(black_box(&ed_token))).unwrap())
    });
}

/// An RFC 7662 endpoint on loopback that says every token is active.
fn introspection_endpoint(rt: &tokio::runtime::Runtime) -> String {
    let app = axum::Router::new().route(
        "/introspect",
        axum::routing::post(|| async {
            axum::Json(json!({"active": true, "sub": "alice", "scope": "todo:read", "aud": AUD}))
        }),
    );
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/introspect", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    })
}

fn bench_introspection(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = introspection_endpoint(&rt);
    let v = mcp_runtime::auth::IntrospectionVerifier::new(&url, "client", "secret")
        .unwrap()
        .audience(AUD);
    let token = "an-opaque-access-token-of-some-43-characters";
    rt.block_on(v.verify(token)).unwrap();
    c.benchmark_group("introspection")
        .bench_function("cached", |b| {
            b.iter(|| run(v.verify(black_box(token))).unwrap())
        });
}

criterion_group!(benches, bench, bench_introspection);
criterion_main!(benches);
