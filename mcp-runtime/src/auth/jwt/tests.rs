//! Tests of every rule of [`JwtVerifier`], with keys generated here and a JWKS
//! served by a small axum server on 127.0.0.1.

use std::{
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    encoding::AsDer,
    hmac,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PSS_SHA256,
        RsaKeyPair, RsaPublicKeyComponents,
    },
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

const ISS: &str = "https://auth.example.com";
const ISS2: &str = "https://auth.example.com/resources/res_123";
const AUD: &str = "res_123";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------- keys ---

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, &'static str),
    Ed(Ed25519KeyPair),
}

struct TestKey {
    kid: &'static str,
    pair: Pair,
}

static RSA_A: LazyLock<TestKey> = LazyLock::new(|| TestKey {
    kid: "rsa-a",
    pair: Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
});
static RSA_B: LazyLock<TestKey> = LazyLock::new(|| TestKey {
    kid: "rsa-b",
    pair: Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
});
static EC_P256: LazyLock<TestKey> = LazyLock::new(|| TestKey {
    kid: "ec-256",
    pair: Pair::Ec(
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        "P-256",
    ),
});
static EC_P384: LazyLock<TestKey> = LazyLock::new(|| TestKey {
    kid: "ec-384",
    pair: Pair::Ec(
        EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap(),
        "P-384",
    ),
});
static ED: LazyLock<TestKey> = LazyLock::new(|| TestKey {
    kid: "ed-1",
    pair: Pair::Ed(Ed25519KeyPair::generate().unwrap()),
});

impl TestKey {
    /// The public JWK, with `alg` when given.
    fn jwk(&self, alg: Option<&str>) -> Value {
        let mut jwk = match &self.pair {
            Pair::Rsa(k) => {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                json!({ "kty": "RSA", "n": b64(&c.n), "e": b64(&c.e) })
            }
            Pair::Ec(k, crv) => {
                let p = k.public_key().as_ref();
                let len = (p.len() - 1) / 2;
                json!({ "kty": "EC", "crv": crv, "x": b64(&p[1..=len]), "y": b64(&p[1 + len..]) })
            }
            Pair::Ed(k) => {
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref()) })
            }
        };
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        if let Some(alg) = alg {
            jwk["alg"] = json!(alg);
        }
        jwk
    }

    /// The natural algorithm of this key.
    fn alg(&self) -> &'static str {
        match &self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Ec(_, "P-256") => "ES256",
            Pair::Ec(..) => "ES384",
            Pair::Ed(_) => "EdDSA",
        }
    }

    /// Signs `input` as `alg` says (the key must fit the algorithm).
    fn sign_input(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(k) => {
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match alg {
                    "RS256" => &RSA_PKCS1_SHA256,
                    "RS384" => &RSA_PKCS1_SHA384,
                    "PS256" => &RSA_PSS_SHA256,
                    other => panic!("no RSA padding for {other}"),
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(padding, &rng, input, &mut sig).unwrap();
                sig
            }
            Pair::Ec(k, _) => k.sign(&rng, input).unwrap().as_ref().to_vec(),
            Pair::Ed(k) => k.sign(input).as_ref().to_vec(),
        }
    }

    /// A token with this header and these claims, signed with this key
    /// according to `alg_for_signing`.
    fn token_with(&self, alg_for_signing: &str, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = self.sign_input(alg_for_signing, input.as_bytes());
        format!("{input}.{}", b64(sig))
    }

    /// A token with the usual header (`alg`, `kid`, `typ: JWT`).
    fn token(&self, claims: &Value) -> String {
        let header = json!({ "alg": self.alg(), "kid": self.kid, "typ": "JWT" });
        self.token_with(self.alg(), &header, claims)
    }
}

/// Valid claims; adjust with [`set`] and [`unset`].
fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": [AUD, "https://mcp.example.com/mcp"],
        "sub": "user-42",
        "client_id": "client-7",
        "scope": "todo:read todo:write",
        "iat": now(),
        "exp": now() + 600,
        "jti": "abc",
    })
}

fn set(mut v: Value, name: &str, value: Value) -> Value {
    v[name] = value;
    v
}

fn unset(mut v: Value, name: &str) -> Value {
    v.as_object_mut().unwrap().remove(name);
    v
}

fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

fn static_builder(keys: &[Value]) -> JwtVerifierBuilder {
    JwtVerifier::builder_from_jwks(serde_json::from_value(jwks(keys)).unwrap())
        .issuer(ISS)
        .issuer(ISS2)
        .audience(AUD)
}

/// A static verifier holding every test key (with no `alg` in the JWKs).
fn verifier() -> JwtVerifier {
    static_builder(&[
        RSA_A.jwk(None),
        EC_P256.jwk(None),
        EC_P384.jwk(None),
        ED.jwk(None),
    ])
    .build()
    .unwrap()
}

fn invalid(msg: &str) -> Option<VerifyError> {
    Some(VerifyError::Invalid(msg.to_owned()))
}

async fn check(v: &JwtVerifier, token: &str) -> Result<AccessToken, VerifyError> {
    v.verify(token).await
}

// ------------------------------------------------------- happy paths ---

#[tokio::test]
async fn rs256_token_becomes_an_access_token() {
    let v = verifier();
    let c = claims();
    let token = RSA_A.token(&c);
    let t = check(&v, &token).await.unwrap();
    assert_eq!(t.raw(), token);
    assert_eq!(t.subject(), "user-42");
    assert_eq!(t.client_id(), Some("client-7"));
    assert_eq!(t.scopes(), ["todo:read", "todo:write"]);
    assert_eq!(t.issuer(), Some(ISS));
    assert_eq!(t.audience(), [AUD, "https://mcp.example.com/mcp"]);
    let exp = c["exp"].as_u64().unwrap();
    assert_eq!(t.expires_at(), Some(UNIX_EPOCH + Duration::from_secs(exp)));
    assert_eq!(t.claims().get("jti"), Some(&json!("abc")));
    assert_eq!(t.claims().len(), c.as_object().unwrap().len());
}

#[tokio::test]
async fn every_default_algorithm_family_verifies() {
    let v = verifier();
    for key in [&*RSA_A, &*EC_P256, &*EC_P384, &*ED] {
        let t = check(&v, &key.token(&claims())).await;
        assert!(t.is_ok(), "{}: {t:?}", key.alg());
    }
    // The same RSA key signs RS384 and PS256 (its JWK names no alg).
    for alg in ["RS384", "PS256"] {
        let header = json!({ "alg": alg, "kid": RSA_A.kid });
        let t = check(&v, &RSA_A.token_with(alg, &header, &claims())).await;
        assert!(t.is_ok(), "{alg}: {t:?}");
    }
}

#[tokio::test]
async fn second_configured_issuer_is_accepted() {
    let v = verifier();
    let t = check(&v, &RSA_A.token(&set(claims(), "iss", json!(ISS2)))).await;
    assert_eq!(t.unwrap().issuer(), Some(ISS2));
}

// ----------------------------------------------------------- timing ---

#[tokio::test]
async fn expired_tokens_are_refused_after_the_leeway() {
    let v = verifier(); // leeway 30 s
    let long_ago = RSA_A.token(&set(claims(), "exp", json!(now() - 100)));
    assert_eq!(check(&v, &long_ago).await.err(), invalid("token expired"));
    let just_now = RSA_A.token(&set(claims(), "exp", json!(now() - 5)));
    assert!(check(&v, &just_now).await.is_ok(), "within the leeway");

    let strict = static_builder(&[RSA_A.jwk(None)])
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(
        check(&strict, &just_now).await.err(),
        invalid("token expired")
    );
}

#[tokio::test]
async fn exp_is_required_and_must_be_a_number() {
    let v = verifier();
    let no_exp = RSA_A.token(&unset(claims(), "exp"));
    assert_eq!(
        check(&v, &no_exp).await.err(),
        invalid("token has no expiry")
    );
    let text_exp = RSA_A.token(&set(claims(), "exp", json!("tomorrow")));
    assert_eq!(check(&v, &text_exp).await.err(), invalid("malformed token"));
    let negative = RSA_A.token(&set(claims(), "exp", json!(-5)));
    assert_eq!(check(&v, &negative).await.err(), invalid("malformed token"));
    let huge = RSA_A.token(&set(claims(), "exp", json!(u64::MAX)));
    assert_eq!(check(&v, &huge).await.err(), invalid("malformed token"));
    let float = RSA_A.token(&set(claims(), "exp", json!(now() as f64 + 600.5)));
    assert!(
        check(&v, &float).await.is_ok(),
        "NumericDate may be fractional"
    );
}

#[tokio::test]
async fn nbf_in_the_future_is_refused() {
    let v = verifier();
    let later = RSA_A.token(&set(claims(), "nbf", json!(now() + 300)));
    assert_eq!(
        check(&v, &later).await.err(),
        invalid("token not yet valid")
    );
    let skewed = RSA_A.token(&set(claims(), "nbf", json!(now() + 10)));
    assert!(check(&v, &skewed).await.is_ok(), "within the leeway");
    let past = RSA_A.token(&set(claims(), "nbf", json!(now() - 10)));
    assert!(check(&v, &past).await.is_ok());
}

#[tokio::test]
async fn iat_in_the_future_is_refused() {
    let v = verifier();
    let later = RSA_A.token(&set(claims(), "iat", json!(now() + 300)));
    assert_eq!(
        check(&v, &later).await.err(),
        invalid("token issued in the future")
    );
    let skewed = RSA_A.token(&set(claims(), "iat", json!(now() + 10)));
    assert!(check(&v, &skewed).await.is_ok());
    let absent = RSA_A.token(&unset(claims(), "iat"));
    assert!(check(&v, &absent).await.is_ok(), "iat is optional");
}

// ------------------------------------------------------ iss and aud ---

#[tokio::test]
async fn wrong_or_missing_issuer_is_refused() {
    let v = verifier();
    for c in [
        set(claims(), "iss", json!("https://evil.example.com")),
        set(claims(), "iss", json!("https://auth.example.com/")),
        set(claims(), "iss", json!([ISS])),
        unset(claims(), "iss"),
    ] {
        assert_eq!(
            check(&v, &RSA_A.token(&c)).await.err(),
            invalid("token issuer mismatch")
        );
    }
}

#[tokio::test]
async fn audience_must_contain_the_configured_one() {
    let v = verifier();
    let single = RSA_A.token(&set(claims(), "aud", json!(AUD)));
    assert_eq!(check(&v, &single).await.unwrap().audience(), [AUD]);
    let array = RSA_A.token(&set(claims(), "aud", json!(["other", AUD])));
    assert!(check(&v, &array).await.is_ok());
    for c in [
        set(claims(), "aud", json!("res_999")),
        set(claims(), "aud", json!(["res_999", "other"])),
        set(claims(), "aud", json!([])),
        set(claims(), "aud", json!(42)),
        unset(claims(), "aud"),
    ] {
        assert_eq!(
            check(&v, &RSA_A.token(&c)).await.err(),
            invalid("token audience mismatch")
        );
    }
    // Several accepted audiences: any one is enough.
    let multi = static_builder(&[RSA_A.jwk(None)])
        .audience("https://mcp.example.com/mcp")
        .build()
        .unwrap();
    let url_only = RSA_A.token(&set(claims(), "aud", json!("https://mcp.example.com/mcp")));
    assert!(check(&multi, &url_only).await.is_ok());
}

#[tokio::test]
async fn subject_is_required() {
    let v = verifier();
    for c in [
        unset(claims(), "sub"),
        set(claims(), "sub", json!("")),
        set(claims(), "sub", json!(7)),
    ] {
        assert_eq!(
            check(&v, &RSA_A.token(&c)).await.err(),
            invalid("token has no subject")
        );
    }
}

// ------------------------------------------------------- algorithms ---

#[tokio::test]
async fn alg_none_is_refused() {
    let v = verifier();
    let payload = b64(claims().to_string());
    for alg in ["none", "None", "NONE", ""] {
        let header = b64(json!({ "alg": alg, "typ": "JWT" }).to_string());
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.{}", b64("x")),
        ] {
            assert_eq!(
                check(&v, &token).await.err(),
                invalid("algorithm not allowed"),
                "{alg}"
            );
        }
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let v = verifier();
    let Pair::Rsa(rsa) = &RSA_A.pair else {
        unreachable!()
    };
    let spki = rsa.public_key().as_der().unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(spki.as_ref())
    );
    let pkcs1 = rsa.public_key().as_ref().to_vec();
    let jwk = RSA_A.jwk(None).to_string();
    for (alg, hmac_alg) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        for secret in [
            spki.as_ref(),
            pem.as_bytes(),
            pkcs1.as_slice(),
            jwk.as_bytes(),
        ] {
            for header in [
                json!({ "alg": alg, "kid": RSA_A.kid }),
                json!({ "alg": alg }),
            ] {
                let input = format!("{}.{}", b64(header.to_string()), b64(claims().to_string()));
                let tag = hmac::sign(&hmac::Key::new(hmac_alg, secret), input.as_bytes());
                let token = format!("{input}.{}", b64(tag.as_ref()));
                assert_eq!(
                    check(&v, &token).await.err(),
                    invalid("algorithm not allowed")
                );
            }
        }
    }
}

#[tokio::test]
async fn hmac_algorithms_cannot_be_allowed() {
    let err = static_builder(&[RSA_A.jwk(None)])
        .algorithms([Algorithm::RS256, Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err, JwtConfigError::SymmetricAlgorithm(Algorithm::HS256));
}

#[tokio::test]
async fn symmetric_keys_in_a_jwks_are_ignored() {
    let oct = json!({ "kty": "oct", "k": b64("secret"), "kid": "hmac", "alg": "HS256" });
    let err = static_builder(std::slice::from_ref(&oct))
        .build()
        .unwrap_err();
    assert_eq!(err, JwtConfigError::NoUsableKey);
    let v = static_builder(&[oct, RSA_A.jwk(None)]).build().unwrap();
    assert_eq!(v.stats().keys, 1);
    let input = format!(
        "{}.{}",
        b64(json!({ "alg": "HS256", "kid": "hmac" }).to_string()),
        b64(claims().to_string())
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, b"secret"),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64(tag.as_ref()));
    assert_eq!(
        check(&v, &token).await.err(),
        invalid("algorithm not allowed")
    );
}

#[tokio::test]
async fn alg_outside_the_allow_list_is_refused() {
    let v = static_builder(&[RSA_A.jwk(None), EC_P256.jwk(None)])
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    assert!(check(&v, &RSA_A.token(&claims())).await.is_ok());
    assert_eq!(
        check(&v, &EC_P256.token(&claims())).await.err(),
        invalid("algorithm not allowed")
    );
    let header = json!({ "alg": "PS256", "kid": RSA_A.kid });
    let ps = RSA_A.token_with("PS256", &header, &claims());
    assert_eq!(check(&v, &ps).await.err(), invalid("algorithm not allowed"));
    let err = static_builder(&[RSA_A.jwk(None)])
        .algorithms([])
        .build()
        .unwrap_err();
    assert_eq!(err, JwtConfigError::NoAlgorithm);
}

#[tokio::test]
async fn alg_must_agree_with_the_key() {
    let v = static_builder(&[
        RSA_A.jwk(Some("RS256")),
        EC_P256.jwk(None),
        EC_P384.jwk(None),
        ED.jwk(None),
    ])
    .build()
    .unwrap();
    let mismatch = invalid("algorithm does not match the signing key");
    // ES256 header naming the RSA key.
    let h = json!({ "alg": "ES256", "kid": RSA_A.kid });
    let t = EC_P256.token_with("ES256", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), mismatch);
    // The RSA JWK says RS256: a PS256 token under it is refused.
    let h = json!({ "alg": "PS256", "kid": RSA_A.kid });
    let t = RSA_A.token_with("PS256", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), mismatch);
    // ES256 against the P-384 key, ES384 against the P-256 key.
    let h = json!({ "alg": "ES256", "kid": EC_P384.kid });
    let t = EC_P256.token_with("ES256", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), mismatch);
    let h = json!({ "alg": "ES384", "kid": EC_P256.kid });
    let t = EC_P384.token_with("ES384", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), mismatch);
    // RS256 against the Ed25519 key.
    let h = json!({ "alg": "RS256", "kid": ED.kid });
    let t = RSA_A.token_with("RS256", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), mismatch);
}

#[tokio::test]
async fn jwk_whose_alg_contradicts_its_type_is_skipped() {
    let mut bad = RSA_A.jwk(Some("ES256"));
    bad["kid"] = json!("confused");
    let v = static_builder(&[bad, EC_P256.jwk(Some("ES256"))])
        .build()
        .unwrap();
    assert_eq!(v.stats().keys, 1);
}

// -------------------------------------------------------------- typ ---

#[tokio::test]
async fn typ_is_not_checked_by_default() {
    let v = verifier();
    for typ in [
        json!("JWT"),
        json!("at+jwt"),
        json!("anything"),
        Value::Null,
    ] {
        let mut h = json!({ "alg": "RS256", "kid": RSA_A.kid });
        if !typ.is_null() {
            h["typ"] = typ.clone();
        }
        let t = RSA_A.token_with("RS256", &h, &claims());
        assert!(check(&v, &t).await.is_ok(), "typ {typ}");
    }
}

#[tokio::test]
async fn typ_check_when_required() {
    let at_only = static_builder(&[RSA_A.jwk(None)])
        .require_typ(["at+jwt"])
        .build()
        .unwrap();
    let both = static_builder(&[RSA_A.jwk(None)])
        .require_typ(["at+jwt", "JWT"])
        .build()
        .unwrap();
    let token = |typ: Option<&str>| {
        let mut h = json!({ "alg": "RS256", "kid": RSA_A.kid });
        if let Some(typ) = typ {
            h["typ"] = json!(typ);
        }
        RSA_A.token_with("RS256", &h, &claims())
    };
    let refused = invalid("token type (typ) not allowed");
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        assert!(check(&at_only, &token(Some(typ))).await.is_ok(), "{typ}");
    }
    assert_eq!(check(&at_only, &token(Some("JWT"))).await.err(), refused);
    assert_eq!(check(&at_only, &token(None)).await.err(), refused);
    assert!(check(&both, &token(Some("JWT"))).await.is_ok());
    assert!(check(&both, &token(Some("at+jwt"))).await.is_ok());
    assert_eq!(check(&both, &token(Some("id+jwt"))).await.err(), refused);
}

#[tokio::test]
async fn critical_headers_are_refused() {
    let v = verifier();
    let h = json!({ "alg": "RS256", "kid": RSA_A.kid, "crit": ["exp"], "exp": 1 });
    let t = RSA_A.token_with("RS256", &h, &claims());
    assert_eq!(
        check(&v, &t).await.err(),
        invalid("unsupported critical header")
    );
}

// ----------------------------------------------------------- scopes ---

#[tokio::test]
async fn all_three_scope_claim_forms_are_read() {
    let v = verifier();
    let scopes = |c: Value| {
        let v = v.clone();
        async move { check(&v, &RSA_A.token(&c)).await.unwrap().scopes().to_vec() }
    };
    let base = unset(claims(), "scope");
    assert_eq!(
        scopes(set(base.clone(), "scope", json!("a  b c"))).await,
        ["a", "b", "c"]
    );
    assert_eq!(
        scopes(set(base.clone(), "scope", json!(["a", "b"]))).await,
        ["a", "b"]
    );
    assert_eq!(
        scopes(set(base.clone(), "scp", json!("a b"))).await,
        ["a", "b"]
    );
    assert_eq!(
        scopes(set(base.clone(), "scp", json!(["a", "b"]))).await,
        ["a", "b"]
    );
    assert_eq!(
        scopes(set(base.clone(), "scopes", json!(["a", "b"]))).await,
        ["a", "b"]
    );
    assert_eq!(scopes(base.clone()).await, Vec::<String>::new());
    // Union, de-duplicated, in order of appearance.
    let all = set(
        set(set(base, "scope", json!("b a")), "scp", json!(["c", "a"])),
        "scopes",
        json!(["d", "b", 7]),
    );
    assert_eq!(scopes(all).await, ["b", "a", "c", "d"]);
}

#[tokio::test]
async fn client_id_comes_from_client_id_azp_or_cid() {
    let v = verifier();
    let client = |c: Value| {
        let v = v.clone();
        async move {
            check(&v, &RSA_A.token(&c))
                .await
                .unwrap()
                .client_id()
                .map(str::to_owned)
        }
    };
    let base = unset(claims(), "client_id");
    assert_eq!(client(base.clone()).await, None);
    assert_eq!(
        client(set(base.clone(), "cid", json!("c")))
            .await
            .as_deref(),
        Some("c")
    );
    let azp = set(set(base.clone(), "cid", json!("c")), "azp", json!("b"));
    assert_eq!(client(azp.clone()).await.as_deref(), Some("b"));
    let all = set(azp, "client_id", json!("a"));
    assert_eq!(client(all).await.as_deref(), Some("a"));
}

// ---------------------------------------------- signature and format ---

#[tokio::test]
async fn tampered_or_foreign_signatures_are_refused() {
    let v = verifier();
    let token = RSA_A.token(&claims());
    let (head, rest) = token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let forged = format!(
        "{head}.{}.{sig}",
        b64(set(claims(), "scope", json!("admin")).to_string())
    );
    assert_eq!(
        check(&v, &forged).await.err(),
        invalid("token signature invalid")
    );
    // Signed by another key that claims the same kid.
    let h = json!({ "alg": "RS256", "kid": RSA_A.kid });
    let foreign = RSA_B.token_with("RS256", &h, &claims());
    assert_eq!(
        check(&v, &foreign).await.err(),
        invalid("token signature invalid")
    );
    // EC and EdDSA too.
    for key in [&*EC_P256, &*ED] {
        let t = key.token(&claims());
        let mut bytes = t.into_bytes();
        let n = bytes.len();
        bytes[n - 2] = if bytes[n - 2] == b'A' { b'B' } else { b'A' };
        let t = String::from_utf8(bytes).unwrap();
        assert_eq!(
            check(&v, &t).await.err(),
            invalid("token signature invalid")
        );
    }
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let v = verifier();
    let good = RSA_A.token(&claims());
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let too_long = "a".repeat(MAX_TOKEN_LEN + 1);
    let header_not_json = format!("{}.{p}.{s}", b64("{not json"));
    let header_not_object = format!("{}.{p}.{s}", b64("[1]"));
    let no_alg = format!("{}.{p}.{s}", b64(json!({ "kid": RSA_A.kid }).to_string()));
    let kid_not_string = format!(
        "{}.{p}.{s}",
        b64(json!({ "alg": "RS256", "kid": 5 }).to_string())
    );
    for bad in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.b.c",
        &format!("{h}.{p}"),
        &format!("{h}.{p}.{s}.{s}"),
        &format!("{h}.{p}.***"),
        &format!("{h}.***.{s}"),
        &header_not_json,
        &header_not_object,
        &no_alg,
        &kid_not_string,
        &too_long,
    ] {
        assert_eq!(
            check(&v, bad).await.err(),
            invalid("malformed token"),
            "{bad:.40}"
        );
    }
    // A well-signed token whose payload is not a JSON object.
    let header = json!({ "alg": "RS256", "kid": RSA_A.kid });
    let input = format!("{}.{}", b64(header.to_string()), b64("[1,2]"));
    let sig = RSA_A.sign_input("RS256", input.as_bytes());
    let array_payload = format!("{input}.{}", b64(sig));
    assert_eq!(
        check(&v, &array_payload).await.err(),
        invalid("malformed token")
    );
}

#[tokio::test]
async fn unknown_kid_is_refused() {
    let v = verifier();
    let h = json!({ "alg": "RS256", "kid": "nope" });
    let t = RSA_A.token_with("RS256", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), invalid("unknown signing key"));
}

#[tokio::test]
async fn token_without_kid_tries_the_keys_for_its_alg() {
    // Two RSA keys and an EC key; the token is signed by the second RSA key.
    let v = static_builder(&[RSA_A.jwk(None), RSA_B.jwk(None), EC_P256.jwk(None)])
        .build()
        .unwrap();
    let h = json!({ "alg": "RS256" });
    let t = RSA_B.token_with("RS256", &h, &claims());
    assert!(check(&v, &t).await.is_ok());
    let h = json!({ "alg": "ES256" });
    assert!(
        check(&v, &EC_P256.token_with("ES256", &h, &claims()))
            .await
            .is_ok()
    );
    // No key for EdDSA at all.
    let h = json!({ "alg": "EdDSA" });
    let t = ED.token_with("EdDSA", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), invalid("unknown signing key"));
    // A single key whose JWK has no kid.
    let mut anonymous = EC_P256.jwk(None);
    anonymous.as_object_mut().unwrap().remove("kid");
    let single = static_builder(&[anonymous]).build().unwrap();
    let h = json!({ "alg": "ES256" });
    assert!(
        check(&single, &EC_P256.token_with("ES256", &h, &claims()))
            .await
            .is_ok()
    );
    // A token naming a kid, against a JWKS whose keys carry none.
    let h = json!({ "alg": "ES256", "kid": "whatever" });
    let t = EC_P256.token_with("ES256", &h, &claims());
    assert!(check(&single, &t).await.is_ok());
    let h = json!({ "alg": "ES384", "kid": "whatever" });
    let t = EC_P384.token_with("ES384", &h, &claims());
    assert_eq!(
        check(&single, &t).await.err(),
        invalid("unknown signing key")
    );
    // A kid that matches no key, with another key published without kid
    // that did not sign it.
    let h = json!({ "alg": "ES256", "kid": "whatever" });
    let t = EC_P256.token_with("ES256", &h, &claims());
    let mut other = RSA_A.jwk(None);
    other.as_object_mut().unwrap().remove("kid");
    let rsa_only = static_builder(&[other]).build().unwrap();
    assert_eq!(
        check(&rsa_only, &t).await.err(),
        invalid("unknown signing key")
    );
}

// ------------------------------------------------------------ cache ---

#[tokio::test]
async fn reused_token_is_verified_once() {
    let v = verifier();
    let token = RSA_A.token(&claims());
    let first = check(&v, &token).await.unwrap();
    let second = check(&v, &token).await.unwrap();
    assert_eq!(first.subject(), second.subject());
    assert_eq!(second.raw(), token);
    let s = v.stats();
    assert_eq!(s.signature_checks, 1, "{s:?}");
    assert_eq!((s.cache_hits, s.cache_misses, s.cached_tokens), (1, 1, 1));
    // Another token is verified.
    check(&v, &RSA_A.token(&set(claims(), "jti", json!("other"))))
        .await
        .unwrap();
    assert_eq!(v.stats().signature_checks, 2);
    // Refused tokens are not cached.
    let expired = RSA_A.token(&set(claims(), "exp", json!(now() - 100)));
    for _ in 0..2 {
        assert!(check(&v, &expired).await.is_err());
    }
    assert_eq!(v.stats().cached_tokens, 2);
}

#[tokio::test]
async fn cache_capacity_zero_verifies_every_time() {
    let v = static_builder(&[RSA_A.jwk(None)])
        .cache_capacity(0)
        .build()
        .unwrap();
    let token = RSA_A.token(&claims());
    for _ in 0..3 {
        check(&v, &token).await.unwrap();
    }
    let s = v.stats();
    assert_eq!(
        (s.signature_checks, s.cache_hits, s.cached_tokens),
        (3, 0, 0)
    );
}

#[tokio::test]
async fn cached_token_lives_no_longer_than_its_exp() {
    let v = verifier(); // leeway 30 s: the token stays acceptable after exp
    let token = RSA_A.token(&set(claims(), "exp", json!(now() + 1)));
    check(&v, &token).await.unwrap();
    check(&v, &token).await.unwrap();
    assert_eq!(v.stats().signature_checks, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    check(&v, &token).await.unwrap();
    assert_eq!(v.stats().signature_checks, 2, "re-verified after exp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_is_safe_under_concurrency() {
    let v = verifier();
    let tokens: Vec<String> = (0..8)
        .map(|i| EC_P256.token(&set(claims(), "sub", json!(format!("user-{i}")))))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let v = v.clone();
        let token = tokens[i % tokens.len()].clone();
        tasks.spawn(async move {
            let t = v.verify(&token).await.unwrap();
            assert_eq!(t.raw(), token);
            t.subject().to_owned()
        });
    }
    let mut n = 0;
    while let Some(r) = tasks.join_next().await {
        assert!(r.unwrap().starts_with("user-"));
        n += 1;
    }
    assert_eq!(n, 64);
    let s = v.stats();
    assert_eq!(s.cache_hits + s.cache_misses, 64);
    assert_eq!(s.cached_tokens, 8);
}

// ----------------------------------------------------- configuration ---

#[test]
fn configuration_errors() {
    let b = || JwtVerifier::builder("https://auth.example.com/keys");
    assert_eq!(
        b().audience(AUD).build().unwrap_err(),
        JwtConfigError::NoIssuer
    );
    assert_eq!(
        b().issuer(ISS).build().unwrap_err(),
        JwtConfigError::NoAudience
    );
    for uri in ["not a url", "ftp://auth.example.com/keys", "/keys"] {
        let err = JwtVerifier::builder(uri)
            .issuer(ISS)
            .audience(AUD)
            .build()
            .unwrap_err();
        assert_eq!(err, JwtConfigError::InvalidJwksUri(uri.to_owned()));
    }
    let v = b().issuer(ISS).audience(AUD).build().unwrap();
    assert_eq!(v.stats().jwks_fetches, 0, "nothing fetched at build time");
    let shown = format!("{v:?}");
    assert!(shown.contains("auth.example.com/keys"), "{shown}");
}

#[test]
fn plain_http_jwks_is_refused_except_on_loopback() {
    let build = |uri: &str| JwtVerifier::builder(uri).issuer(ISS).audience(AUD).build();
    for uri in [
        "http://auth.example.com/keys",
        "http://10.0.0.1/keys",
        "http://[::ffff:127.0.0.1]/keys",
        "http://localhost.example.com/keys",
        "http://127.0.0.1.nip.io/keys",
        "http://0.0.0.0/keys",
    ] {
        let err = build(uri).unwrap_err();
        assert_eq!(err, JwtConfigError::InsecureJwksUri(uri.to_owned()));
        let message = err.to_string();
        assert!(message.contains("use an https URL"), "{message}");
    }
    for uri in [
        "http://localhost/keys",
        "http://LOCALHOST:8080/keys",
        "http://127.0.0.1:9000/keys",
        "http://127.10.20.30/keys",
        "http://[::1]:9000/keys",
        "https://auth.example.com/keys",
    ] {
        assert!(build(uri).is_ok(), "{uri}");
    }
}

#[test]
fn leeway_is_capped() {
    let b = || static_builder(&[RSA_A.jwk(None)]);
    assert!(b().leeway(MAX_LEEWAY).build().is_ok());
    assert!(b().leeway(Duration::ZERO).build().is_ok());
    for leeway in [
        MAX_LEEWAY + Duration::from_millis(1),
        Duration::from_secs(3600),
        Duration::MAX,
    ] {
        let err = b().leeway(leeway).build().unwrap_err();
        assert_eq!(err, JwtConfigError::LeewayTooLarge(leeway));
        let message = err.to_string();
        assert!(message.contains("MAX_LEEWAY (5 minutes)"), "{message}");
    }
}

// -------------------------------------------------- strict base64url ---

const PADDED: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE;

#[tokio::test]
async fn padded_tokens_are_refused_even_when_well_signed() {
    let v = verifier();
    let header = json!({ "alg": "RS256", "kid": RSA_A.kid, "typ": "JWT" }).to_string();
    let input = format!(
        "{}.{}",
        PADDED.encode(&header),
        PADDED.encode(claims().to_string())
    );
    let sig = RSA_A.sign_input("RS256", input.as_bytes());
    let token = format!("{input}.{}", PADDED.encode(sig));
    assert!(token.contains('='), "{token}");
    assert_eq!(
        check(&v, &token).await.err(),
        invalid("padded base64url in token")
    );
    // Padding on one segment only, the others canonical.
    let good = RSA_A.token(&claims());
    let signature = good.rsplit_once('.').unwrap().1;
    assert_eq!(signature.len() % 4, 2, "a 256-byte signature needs `==`");
    for bad in [
        format!("{good}=="),
        format!("{good}="),
        format!("{good}===="),
    ] {
        let err = check(&v, &bad).await.unwrap_err();
        assert!(
            err == VerifyError::Invalid("padded base64url in token".to_owned())
                || err == VerifyError::Invalid("malformed token".to_owned()),
            "{err:?}"
        );
    }
    assert_eq!(
        check(&v, &format!("{good}==")).await.err(),
        invalid("padded base64url in token")
    );
}

#[tokio::test]
async fn stray_bits_after_the_last_byte_are_refused() {
    let v = verifier();
    let good = RSA_A.token(&claims());
    assert!(check(&v, &good).await.is_ok());
    // The last of the 342 characters of a 256-byte signature carries 2 bits
    // of it and 4 unused ones: setting one gives another spelling of the
    // same bytes, which a lenient decoder would accept.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *good.as_bytes().last().unwrap();
    let value = alphabet.iter().position(|&c| c == last).unwrap();
    assert_eq!(value & 0xF, 0);
    let twin = format!("{}{}", &good[..good.len() - 1], alphabet[value | 1] as char);
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let decode_sig = |t: &str| lenient.decode(t.rsplit_once('.').unwrap().1).unwrap();
    assert_eq!(decode_sig(&twin), decode_sig(&good), "same signature bytes");
    assert_eq!(
        check(&v, &twin).await.err(),
        invalid("non-canonical base64url in token")
    );
}

#[tokio::test]
async fn padded_jwk_values_are_still_accepted() {
    let pad = |jwk: &mut Value, field: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[field].as_str().unwrap())
            .unwrap();
        let padded = PADDED.encode(bytes);
        assert!(padded.ends_with('='), "{field}: {padded}");
        jwk[field] = json!(padded);
    };
    let mut rsa = RSA_A.jwk(None);
    let mut ec = EC_P256.jwk(None);
    pad(&mut rsa, "n");
    pad(&mut ec, "x");
    pad(&mut ec, "y");
    let v = static_builder(&[rsa, ec]).build().unwrap();
    assert_eq!(v.stats().keys, 2);
    assert!(check(&v, &RSA_A.token(&claims())).await.is_ok());
    assert!(check(&v, &EC_P256.token(&claims())).await.is_ok());
}

// ------------------------------------------------------ remote JWKS ---

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Serve,
    Fail,
    Hang,
}

struct JwksServer {
    url: String,
    jwks: Arc<Mutex<Value>>,
    mode: Arc<Mutex<Mode>>,
    delay: Arc<Mutex<Duration>>,
    hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct ServerState {
    jwks: Arc<Mutex<Value>>,
    mode: Arc<Mutex<Mode>>,
    delay: Arc<Mutex<Duration>>,
    hits: Arc<AtomicUsize>,
}

async fn keys_handler(State(s): State<ServerState>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *s.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mode = *s.mode.lock().unwrap();
    match mode {
        Mode::Serve => Json(s.jwks.lock().unwrap().clone()).into_response(),
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

impl JwksServer {
    async fn start(keys: &[Value]) -> Self {
        let state = ServerState {
            jwks: Arc::new(Mutex::new(jwks(keys))),
            mode: Arc::new(Mutex::new(Mode::Serve)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/keys", get(keys_handler))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/keys"),
            jwks: state.jwks,
            mode: state.mode,
            delay: state.delay,
            hits: state.hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn set_keys(&self, keys: &[Value]) {
        *self.jwks.lock().unwrap() = jwks(keys);
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// A verifier for this server, with short intervals for tests.
    fn builder(&self) -> JwtVerifierBuilder {
        JwtVerifier::builder(&self.url)
            .issuer(ISS)
            .audience(AUD)
            .min_refetch_interval(Duration::from_millis(400))
            .http_timeout(Duration::from_millis(500))
    }
}

/// Waits (up to 5 s) until `cond` holds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn random_kid_token(i: usize) -> String {
    let h = json!({ "alg": "ES256", "kid": format!("random-{i}-{}", now()) });
    EC_P256.token_with("ES256", &h, &claims())
}

#[tokio::test]
async fn keys_are_fetched_on_first_use_and_reused() {
    let server = JwksServer::start(&[RSA_A.jwk(None), EC_P256.jwk(None)]).await;
    let v = server.builder().build().unwrap();
    assert_eq!(server.hits(), 0);
    for i in 0..5 {
        let t = EC_P256.token(&set(claims(), "jti", json!(i)));
        check(&v, &t).await.unwrap();
    }
    check(&v, &RSA_A.token(&claims())).await.unwrap();
    assert_eq!(server.hits(), 1);
    assert_eq!(v.stats().jwks_fetches, 1);
    assert_eq!(v.load_keys().await, Ok(2));
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_unknown_kids_is_not_a_flood_of_jwks_requests() {
    let server = JwksServer::start(&[EC_P256.jwk(None)]).await;
    let v = server.builder().build().unwrap();
    v.load_keys().await.unwrap();
    assert_eq!(server.hits(), 1);

    // The first unknown kid after the interval refetches once; the other
    // 199 concurrent ones share that fetch or are rate-limited.
    tokio::time::sleep(Duration::from_millis(450)).await;
    *server.delay.lock().unwrap() = Duration::from_millis(100);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let v = v.clone();
        tasks.spawn(async move { v.verify(&random_kid_token(i)).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().err(), invalid("unknown signing key"));
    }
    assert_eq!(server.hits(), 2, "one refetch for 200 unknown kids");

    // Within the interval: refused at once, no request.
    for i in 0..50 {
        assert_eq!(
            check(&v, &random_kid_token(1000 + i)).await.err(),
            invalid("unknown signing key")
        );
    }
    assert_eq!(server.hits(), 2);
    // Known keys kept working throughout.
    assert!(check(&v, &EC_P256.token(&claims())).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch_even_without_rate_limit() {
    let server = JwksServer::start(&[EC_P256.jwk(None)]).await;
    let v = server
        .builder()
        .min_refetch_interval(Duration::ZERO)
        .build()
        .unwrap();
    *server.delay.lock().unwrap() = Duration::from_millis(300);
    // 20 first requests at once, with no keys loaded yet: one fetch.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let v = v.clone();
        let t = EC_P256.token(&set(claims(), "jti", json!(i)));
        tasks.spawn(async move { v.verify(&t).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(r.unwrap().is_ok());
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_arriving_during_a_fetch_waits_for_it_even_if_the_first_gave_up() {
    let server = JwksServer::start(&[EC_P256.jwk(None)]).await;
    let v = server.builder().build().unwrap();
    *server.delay.lock().unwrap() = Duration::from_millis(300);
    // The first caller starts the initial fetch and goes away (a client
    // disconnect drops its future); the fetch goes on.
    let t = EC_P256.token(&claims());
    assert!(
        tokio::time::timeout(Duration::from_millis(50), v.verify(&t))
            .await
            .is_err()
    );
    // The next caller, inside the rate-limit interval, waits for that fetch
    // rather than being told the keys are unavailable.
    let t2 = EC_P256.token(&set(claims(), "jti", json!("2")));
    assert!(check(&v, &t2).await.is_ok());
    assert_eq!(server.hits(), 1);
}

#[test]
fn verifier_is_a_shareable_token_verifier() {
    fn shareable<T: TokenVerifier + Clone + Send + Sync>() {}
    shareable::<JwtVerifier>();
    let _: Arc<dyn TokenVerifier> = Arc::new(verifier());
}

#[tokio::test]
async fn new_kid_is_picked_up_by_refetch_and_empties_the_cache() {
    let server = JwksServer::start(&[RSA_A.jwk(None)]).await;
    let v = server.builder().build().unwrap();
    let token_a = RSA_A.token(&claims());
    check(&v, &token_a).await.unwrap();
    check(&v, &token_a).await.unwrap();
    assert_eq!(v.stats().signature_checks, 1);
    assert_eq!(v.stats().cached_tokens, 1);

    // The server publishes a second key; a token signed with it arrives.
    server.set_keys(&[RSA_A.jwk(None), RSA_B.jwk(None)]);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let token_b = RSA_B.token(&claims());
    check(&v, &token_b).await.unwrap();
    assert_eq!(server.hits(), 2);
    let s = v.stats();
    assert_eq!(s.keys, 2);
    assert_eq!(
        s.cached_tokens, 1,
        "the key change emptied the cache: {s:?}"
    );
    // token_a is verified again (not served from the emptied cache).
    let before = v.stats().signature_checks;
    check(&v, &token_a).await.unwrap();
    assert_eq!(v.stats().signature_checks, before + 1);
}

#[tokio::test]
async fn unchanged_jwks_keeps_the_cache() {
    let server = JwksServer::start(&[RSA_A.jwk(None)]).await;
    let v = server.builder().build().unwrap();
    let token = RSA_A.token(&claims());
    check(&v, &token).await.unwrap();
    assert_eq!(v.load_keys().await, Ok(1));
    assert_eq!(server.hits(), 2);
    check(&v, &token).await.unwrap();
    assert_eq!(v.stats().signature_checks, 1, "still cached");
}

#[tokio::test]
async fn periodic_refresh_drops_a_removed_key_and_its_cached_tokens() {
    let server = JwksServer::start(&[RSA_A.jwk(None), EC_P256.jwk(None)]).await;
    let v = server
        .builder()
        .refresh_interval(Duration::from_millis(300))
        .build()
        .unwrap();
    let token = RSA_A.token(&claims());
    check(&v, &token).await.unwrap();
    assert_eq!(server.hits(), 1);

    // The RSA key is revoked. Until the refresh interval passes, the cached
    // result stands; after it, a background refresh drops it.
    server.set_keys(&[EC_P256.jwk(None)]);
    check(&v, &token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    // This call triggers the background refresh but is not held up by it.
    let _ = check(&v, &token).await;
    eventually("background refresh", || v.stats().keys == 1).await;
    assert_eq!(server.hits(), 2);
    assert_eq!(
        check(&v, &token).await.err(),
        invalid("unknown signing key")
    );
}

#[tokio::test]
async fn cached_keys_keep_working_when_the_jwks_fails() {
    let server = JwksServer::start(&[RSA_A.jwk(None)]).await;
    let v = server
        .builder()
        .refresh_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    check(&v, &RSA_A.token(&claims())).await.unwrap();
    server.set_mode(Mode::Fail);
    tokio::time::sleep(Duration::from_millis(450)).await;
    for i in 0..20 {
        // New tokens each time, so nothing comes from the token cache.
        let t = RSA_A.token(&set(claims(), "jti", json!(i)));
        assert!(check(&v, &t).await.is_ok(), "token {i}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eventually("refresh attempted", || server.hits() >= 2).await;
    // An unknown kid while the endpoint fails: refused as unknown, not
    // "unavailable", since keys are loaded.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let h = json!({ "alg": "RS256", "kid": "new" });
    let t = RSA_B.token_with("RS256", &h, &claims());
    assert_eq!(check(&v, &t).await.err(), invalid("unknown signing key"));
    // Refresh attempts stayed within the rate limit (500 ms run, 400 ms
    // interval, plus the unknown-kid one).
    assert!(server.hits() <= 4, "{} requests", server.hits());
    assert!(v.load_keys().await.is_err());
    assert!(check(&v, &RSA_A.token(&claims())).await.is_ok());
}

#[tokio::test]
async fn cached_keys_keep_working_when_the_jwks_hangs() {
    let server = JwksServer::start(&[RSA_A.jwk(None)]).await;
    let v = server
        .builder()
        .refresh_interval(Duration::from_millis(100))
        .http_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    check(&v, &RSA_A.token(&claims())).await.unwrap();
    server.set_mode(Mode::Hang);
    tokio::time::sleep(Duration::from_millis(450)).await;
    for i in 0..10 {
        let t = RSA_A.token(&set(claims(), "jti", json!(i)));
        let start = Instant::now();
        assert!(check(&v, &t).await.is_ok());
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "verification waited for the hung JWKS: {:?}",
            start.elapsed()
        );
    }
    eventually("refresh attempted", || server.hits() >= 2).await;
    // An unknown kid waits at most for the HTTP timeout, then is refused.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let h = json!({ "alg": "RS256", "kid": "new" });
    let t = RSA_B.token_with("RS256", &h, &claims());
    let start = Instant::now();
    assert_eq!(check(&v, &t).await.err(), invalid("unknown signing key"));
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(check(&v, &RSA_A.token(&claims())).await.is_ok());
}

#[tokio::test]
async fn no_keys_at_all_is_unavailable_and_rate_limited() {
    let server = JwksServer::start(&[RSA_A.jwk(None)]).await;
    server.set_mode(Mode::Fail);
    let v = server.builder().build().unwrap();
    let token = RSA_A.token(&claims());
    let unavailable = Some(VerifyError::Unavailable("signing keys unavailable".into()));
    assert_eq!(check(&v, &token).await.err(), unavailable);
    for _ in 0..20 {
        assert_eq!(check(&v, &token).await.err(), unavailable);
    }
    assert_eq!(server.hits(), 1, "failed loads are rate-limited");
    // Once the endpoint recovers (and the interval passed), keys load.
    server.set_mode(Mode::Serve);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(check(&v, &token).await.is_ok());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn jwks_without_usable_keys_does_not_replace_good_ones() {
    let server = JwksServer::start(&[RSA_A.jwk(None)]).await;
    let v = server.builder().build().unwrap();
    assert_eq!(v.load_keys().await, Ok(1));
    server.set_keys(&[json!({ "kty": "unknown" })]);
    assert!(v.load_keys().await.is_err());
    assert_eq!(v.stats().keys, 1);
    assert!(check(&v, &RSA_A.token(&claims())).await.is_ok());
    // Not a JWKS at all.
    *server.jwks.lock().unwrap() = json!({ "hello": "world" });
    assert!(v.load_keys().await.is_err());
    assert_eq!(v.stats().keys, 1);
}

#[tokio::test]
async fn junk_keys_do_not_break_the_good_ones() {
    let short_rsa_n = b64([0xC5u8; 128]); // 1024 bits
    let junk = [
        json!({ "kty": "XYZ", "kid": "weird", "foo": "bar" }),
        json!({ "kty": "RSA", "kid": "bad-n", "n": "!!!not base64!!!", "e": "AQAB" }),
        json!({ "kty": "RSA", "kid": "zero-n", "n": b64([0u8; 256]), "e": "AQAB" }),
        json!({ "kty": "RSA", "kid": "short", "n": short_rsa_n, "e": "AQAB" }),
        json!({ "kty": "RSA", "kid": "no-n", "e": "AQAB" }),
        json!({ "kty": "EC", "kid": "bad-point", "crv": "P-256", "x": b64([1u8; 32]), "y": b64([2u8; 32]) }),
        json!({ "kty": "EC", "kid": "p521", "crv": "P-521", "x": b64([1u8; 66]), "y": b64([2u8; 66]) }),
        json!({ "kty": "OKP", "kid": "x25519", "crv": "X25519", "x": b64([1u8; 32]) }),
        json!({ "kty": "oct", "kid": "hmac", "k": b64("secret") }),
        set(RSA_B.jwk(None), "use", json!("enc")),
        set(RSA_B.jwk(None), "key_ops", json!(["encrypt"])),
        set(RSA_B.jwk(None), "alg", json!("RSA-OAEP")),
        json!("not an object"),
        json!({ "kty": "RSA", "kid": "ops-junk", "n": "x", "e": "AQAB", "key_ops": 5 }),
    ];
    let mut keys = junk.to_vec();
    keys.push(RSA_A.jwk(Some("RS256")));
    keys.push(ED.jwk(None));
    let server = JwksServer::start(&keys).await;
    let v = server.builder().build().unwrap();
    assert!(check(&v, &RSA_A.token(&claims())).await.is_ok());
    assert!(check(&v, &ED.token(&claims())).await.is_ok());
    assert_eq!(v.stats().keys, 2);
    for kid in ["weird", "bad-n", "short", "hmac", "rsa-b"] {
        let h = json!({ "alg": "RS256", "kid": kid });
        let t = RSA_B.token_with("RS256", &h, &claims());
        assert_eq!(
            check(&v, &t).await.err(),
            invalid("unknown signing key"),
            "{kid}"
        );
    }
    // The same set as a static JWKS (without the two entries that `JwkSet`
    // itself cannot deserialize).
    let for_jwk_set: Vec<Value> = keys
        .iter()
        .filter(|k| k.is_object() && k.get("key_ops") != Some(&json!(5)))
        .cloned()
        .collect();
    let static_v = static_builder(&for_jwk_set).build().unwrap();
    assert_eq!(static_v.stats().keys, 2);
}

#[tokio::test]
async fn unreachable_jwks_reports_unavailable() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let v = JwtVerifier::builder(format!("http://{addr}/keys"))
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    assert!(matches!(
        v.load_keys().await,
        Err(VerifyError::Unavailable(_))
    ));
    assert!(matches!(
        check(&v, &RSA_A.token(&claims())).await,
        Err(VerifyError::Unavailable(_))
    ));
}

#[tokio::test]
async fn error_descriptions_never_echo_the_token() {
    let v = verifier();
    let secretish = "eyJzZWNyZXQiOiJ2YWx1ZSJ9";
    for token in [
        format!("{secretish}.{secretish}.{secretish}"),
        RSA_A.token(&set(claims(), "iss", json!(secretish))),
        RSA_A.token(&set(claims(), "aud", json!(secretish))),
    ] {
        let VerifyError::Invalid(msg) = check(&v, &token).await.unwrap_err() else {
            panic!("expected Invalid");
        };
        assert!(!msg.contains(secretish), "{msg}");
        assert!(msg.len() < 60, "{msg}");
    }
}

// ------------------------------------------------------- properties ---

mod props {
    use proptest::prelude::*;

    use super::*;

    const NO_PAD: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    });
    static VERIFIER: LazyLock<JwtVerifier> = LazyLock::new(verifier);

    /// Bytes whose encoding ends in a partial group (so would be padded).
    fn partial() -> impl Strategy<Value = Vec<u8>> {
        (0usize..21, 1usize..3)
            .prop_flat_map(|(groups, rest)| prop::collection::vec(any::<u8>(), groups * 3 + rest))
    }

    fn segment_error(msg: &str) -> Option<VerifyError> {
        Some(VerifyError::Invalid(msg.to_owned()))
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        #[test]
        fn segments_decode_only_from_their_canonical_spelling(
            s in prop_oneof!["[A-Za-z0-9_=+/-]{0,40}", ".{0,40}"],
        ) {
            if let Ok(bytes) = decode_segment(&s) {
                prop_assert_eq!(NO_PAD.encode(bytes), s);
            }
        }

        #[test]
        fn unpadded_segments_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode_segment(&NO_PAD.encode(&bytes)).ok(), Some(bytes));
        }

        #[test]
        fn padding_is_refused(bytes in partial()) {
            prop_assert_eq!(
                decode_segment(&PADDED.encode(&bytes)).err(),
                segment_error("padded base64url in token")
            );
        }

        #[test]
        fn stray_trailing_bits_are_refused(bytes in partial(), bits in 1usize..16) {
            let mut s = NO_PAD.encode(&bytes).into_bytes();
            // The last character has 4 unused bits after one byte, 2 after two.
            let stray = if bytes.len() % 3 == 1 { bits } else { 1 + bits % 3 };
            let last = s.last_mut().unwrap();
            let value = ALPHABET.iter().position(|c| c == last).unwrap();
            *last = ALPHABET[value | stray];
            let s = String::from_utf8(s).unwrap();
            prop_assert_eq!(
                decode_segment(&s).err(),
                segment_error("non-canonical base64url in token")
            );
        }

        #[test]
        fn verifying_arbitrary_tokens_never_panics(
            token in prop_oneof!["[A-Za-z0-9_=-]{0,30}(\\.[A-Za-z0-9_=-]{0,30}){0,3}", ".{0,80}"],
        ) {
            let result = RUNTIME.block_on(VERIFIER.verify(&token));
            prop_assert!(matches!(result, Err(VerifyError::Invalid(_))));
        }

        #[test]
        fn verifying_json_shaped_tokens_never_panics(
            header in prop_oneof![
                Just(r#"{"alg":"RS256","kid":"rsa-a"}"#.to_owned()),
                Just(r#"{"alg":"ES256"}"#.to_owned()),
                "\\{\"(alg|kid|typ|crit)\":(\"[A-Za-z0-9]{0,6}\"|[0-9]{1,3}|null|\\[\\])\\}",
            ],
            payload in prop_oneof![Just("{}".to_owned()), Just("[1]".to_owned()), ".{0,20}"],
            signature in prop::collection::vec(any::<u8>(), 0..80),
        ) {
            let token = format!(
                "{}.{}.{}",
                NO_PAD.encode(&header),
                NO_PAD.encode(&payload),
                NO_PAD.encode(&signature)
            );
            let result = RUNTIME.block_on(VERIFIER.verify(&token));
            prop_assert!(matches!(result, Err(VerifyError::Invalid(_))));
        }
    }
}
