//! Signing keys: turning a JWKS document into keys ready to verify with, and
//! fetching it over HTTP.
//!
//! Each usable JWK becomes one [`SigningKey`] holding an `aws-lc-rs` parsed
//! public key per algorithm it may verify, so the key is parsed (and checked)
//! once, when the JWKS is loaded, not on every token. A key that cannot be used
//! (unknown `kty`, bad modulus, symmetric, encryption-only, RSA shorter than
//! 2048 bits, …) is skipped with a warning and does not affect the others.

use std::{collections::HashMap, fmt, time::Duration};

use aws_lc_rs::{
    digest,
    signature::{self, ParsedPublicKey, RsaPublicKeyComponents},
};
use base64::Engine;
use jsonwebtoken::{
    Algorithm, AlgorithmFamily,
    jwk::{
        AlgorithmParameters, EllipticCurve, EllipticCurveKeyParameters, Jwk, KeyOperations,
        OctetKeyPairParameters, PublicKeyUse, RSAKeyParameters,
    },
};
use serde_json::Value;

/// base64url for JWK fields (`n`, `e`, `x`, `y`) only: padding optional,
/// since some servers pad their JWK values. Tokens are decoded strictly, with
/// `TOKEN_B64` in the parent module.
const JWK_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Largest JWKS document we read.
pub(crate) const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// The `aws-lc-rs` verification algorithm behind a JWS `alg`.
fn verification_algorithm(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// One public key from the JWKS, ready to verify signatures.
pub(crate) struct SigningKey {
    pub(crate) kid: Option<String>,
    /// One parsed key per algorithm this key may verify (already intersected
    /// with the verifier's allow-list and the JWK's own `alg`).
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

impl SigningKey {
    /// The parsed key for `alg`, or `None` when this key is not for `alg`.
    pub(crate) fn for_alg(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.parsed.iter().find(|(a, _)| *a == alg).map(|(_, k)| k)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algs: Vec<_> = self.parsed.iter().map(|(a, _)| a).collect();
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithms", &algs)
            .finish()
    }
}

/// A loaded set of signing keys.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<SigningKey>,
    by_kid: HashMap<String, Vec<usize>>,
    /// SHA-256 over the usable keys' material: equal fingerprints mean the
    /// same keys, so a refresh that changes nothing keeps the token cache.
    pub(crate) fingerprint: [u8; 32],
}

impl KeySet {
    fn new(keys: Vec<SigningKey>, fingerprint: [u8; 32]) -> Self {
        let mut by_kid: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            if let Some(kid) = &k.kid {
                by_kid.entry(kid.clone()).or_default().push(i);
            }
        }
        Self {
            keys,
            by_kid,
            fingerprint,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys published under `kid`.
    pub(crate) fn by_kid(&self, kid: &str) -> impl Iterator<Item = &SigningKey> {
        self.by_kid
            .get(kid)
            .into_iter()
            .flatten()
            .map(|&i| &self.keys[i])
    }

    /// Parses the `keys` of a JWKS document, skipping (with a warning) every
    /// key that cannot be used. `source` names the JWKS in logs.
    pub(crate) fn from_jwk_values<'v>(
        keys: impl IntoIterator<Item = &'v Value>,
        allowed: &[Algorithm],
        source: &str,
    ) -> Self {
        let mut out = Vec::new();
        let mut hasher = digest::Context::new(&digest::SHA256);
        for (i, value) in keys.into_iter().enumerate() {
            let kid = value.get("kid").and_then(Value::as_str);
            let jwk = match serde_json::from_value::<Jwk>(value.clone()) {
                Ok(jwk) => jwk,
                Err(_) => {
                    tracing::warn!(jwks = source, index = i, kid, "skipping malformed JWK");
                    continue;
                }
            };
            match parse_jwk(&jwk, allowed) {
                Ok((key, material)) => {
                    hasher.update(&(material.len() as u64).to_be_bytes());
                    hasher.update(&material);
                    out.push(key);
                }
                Err(Skip::Quiet(why)) => {
                    tracing::debug!(jwks = source, index = i, kid, why, "skipping JWK");
                }
                Err(Skip::Warn(why)) => {
                    tracing::warn!(jwks = source, index = i, kid, why, "skipping unusable JWK");
                }
            }
        }
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(hasher.finish().as_ref());
        Self::new(out, fingerprint)
    }

    /// Parses a JWKS document (`{"keys": [...]}`).
    pub(crate) fn from_document(
        doc: &Value,
        allowed: &[Algorithm],
        source: &str,
    ) -> Result<Self, String> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "JWKS document has no \"keys\" array".to_owned())?;
        Ok(Self::from_jwk_values(keys, allowed, source))
    }
}

/// Why a JWK was skipped: `Quiet` for keys that are fine but not for us
/// (encryption keys, algorithms outside the allow-list), `Warn` for broken ones.
enum Skip {
    Quiet(&'static str),
    Warn(&'static str),
}

fn decode_b64(s: &str) -> Result<Vec<u8>, Skip> {
    JWK_B64
        .decode(s)
        .map_err(|_| Skip::Warn("key parameter is not base64url"))
}

/// Builds the [`SigningKey`] for `jwk`, plus the bytes that identify it (for
/// the key-set fingerprint).
fn parse_jwk(jwk: &Jwk, allowed: &[Algorithm]) -> Result<(SigningKey, Vec<u8>), Skip> {
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err(Skip::Quiet("not a signature key (use)")),
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.iter().any(|op| matches!(op, KeyOperations::Verify))
    {
        return Err(Skip::Quiet("not a verification key (key_ops)"));
    }
    let jwk_alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => match Algorithm::try_from(a) {
            Ok(a) => Some(a),
            Err(_) => return Err(Skip::Quiet("alg is not a supported signature algorithm")),
        },
    };
    let kid = jwk.common.key_id.clone();
    let mut material = Vec::new();
    material.extend_from_slice(kid.as_deref().unwrap_or("").as_bytes());
    material.push(0);
    if let Some(a) = jwk_alg {
        material.extend_from_slice(format!("{a:?}").as_bytes());
    }
    material.push(0);

    let algs = Candidates { allowed, jwk_alg };
    let parsed = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => rsa_key(p, algs, &mut material)?,
        AlgorithmParameters::EllipticCurve(p) => vec![ec_key(p, algs, &mut material)?],
        AlgorithmParameters::OctetKeyPair(p) => vec![okp_key(p, algs, &mut material)?],
        AlgorithmParameters::OctetKey(_) => {
            return Err(Skip::Warn(
                "symmetric (oct) key in a JWKS is never used: HS* tokens are refused",
            ));
        }
        _ => return Err(Skip::Warn("unsupported key type (kty)")),
    };
    Ok((SigningKey { kid, parsed }, material))
}

/// The algorithms a key may verify: its family's, narrowed by the key's own
/// `alg` and the allow-list.
#[derive(Clone, Copy)]
struct Candidates<'a> {
    allowed: &'a [Algorithm],
    jwk_alg: Option<Algorithm>,
}

impl Candidates<'_> {
    fn of(self, family: AlgorithmFamily, fixed: Option<Algorithm>) -> Vec<Algorithm> {
        self.allowed
            .iter()
            .copied()
            .filter(|a| a.family() == family)
            .filter(|a| fixed.is_none_or(|f| f == *a))
            .filter(|a| self.jwk_alg.is_none_or(|j| j == *a))
            .collect()
    }
}

type ParsedKeys = Vec<(Algorithm, ParsedPublicKey)>;

/// An RSA key (2048 bits or more), parsed once per allowed algorithm.
fn rsa_key(
    p: &RSAKeyParameters,
    algs: Candidates<'_>,
    material: &mut Vec<u8>,
) -> Result<ParsedKeys, Skip> {
    if algs
        .jwk_alg
        .is_some_and(|j| j.family() != AlgorithmFamily::Rsa)
    {
        return Err(Skip::Warn("RSA key with a non-RSA alg"));
    }
    let n = decode_b64(&p.n)?;
    let e = decode_b64(&p.e)?;
    let n_trimmed = trim_leading_zeros(&n);
    let bits = match n_trimmed.first() {
        Some(first) => n_trimmed.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if bits < 2048 {
        return Err(Skip::Warn("RSA key shorter than 2048 bits"));
    }
    let algs = algs.of(AlgorithmFamily::Rsa, None);
    if algs.is_empty() {
        return Err(Skip::Quiet("no allowed algorithm for this RSA key"));
    }
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    let mut parsed = Vec::with_capacity(algs.len());
    for alg in algs {
        let params = verification_algorithm(alg).expect("RSA family algorithm");
        let key = components
            .to_parsed_public_key(params)
            .map_err(|_| Skip::Warn("invalid RSA key"))?;
        parsed.push((alg, key));
    }
    material.extend_from_slice(b"RSA\0");
    material.extend_from_slice(n_trimmed);
    material.push(0);
    material.extend_from_slice(trim_leading_zeros(&e));
    Ok(parsed)
}

/// A P-256 or P-384 key, for the one algorithm of its curve.
fn ec_key(
    p: &EllipticCurveKeyParameters,
    algs: Candidates<'_>,
    material: &mut Vec<u8>,
) -> Result<(Algorithm, ParsedPublicKey), Skip> {
    let (alg, verification, len): (_, &'static signature::EcdsaVerificationAlgorithm, _) =
        match p.curve {
            EllipticCurve::P256 => (Algorithm::ES256, &signature::ECDSA_P256_SHA256_FIXED, 32),
            EllipticCurve::P384 => (Algorithm::ES384, &signature::ECDSA_P384_SHA384_FIXED, 48),
            _ => return Err(Skip::Warn("unsupported EC curve")),
        };
    if algs.jwk_alg.is_some_and(|j| j != alg) {
        return Err(Skip::Warn("EC key alg does not match its curve"));
    }
    if algs.of(AlgorithmFamily::Ec, Some(alg)).is_empty() {
        return Err(Skip::Quiet("no allowed algorithm for this EC key"));
    }
    let x = decode_b64(&p.x)?;
    let y = decode_b64(&p.y)?;
    if x.len() != len || y.len() != len {
        return Err(Skip::Warn("EC coordinates have the wrong length"));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let key =
        ParsedPublicKey::new(verification, &point).map_err(|_| Skip::Warn("invalid EC key"))?;
    material.extend_from_slice(b"EC\0");
    material.extend_from_slice(&point);
    Ok((alg, key))
}

/// An Ed25519 key, for EdDSA.
fn okp_key(
    p: &OctetKeyPairParameters,
    algs: Candidates<'_>,
    material: &mut Vec<u8>,
) -> Result<(Algorithm, ParsedPublicKey), Skip> {
    if p.curve != EllipticCurve::Ed25519 {
        return Err(Skip::Warn("unsupported OKP curve"));
    }
    if algs.jwk_alg.is_some_and(|j| j != Algorithm::EdDSA) {
        return Err(Skip::Warn("OKP key with a non-EdDSA alg"));
    }
    if algs
        .of(AlgorithmFamily::Ed, Some(Algorithm::EdDSA))
        .is_empty()
    {
        return Err(Skip::Quiet("EdDSA not allowed"));
    }
    let x = decode_b64(&p.x)?;
    if x.len() != 32 {
        return Err(Skip::Warn("Ed25519 key has the wrong length"));
    }
    let key = ParsedPublicKey::new(&signature::ED25519, &x)
        .map_err(|_| Skip::Warn("invalid Ed25519 key"))?;
    material.extend_from_slice(b"OKP\0");
    material.extend_from_slice(&x);
    Ok((Algorithm::EdDSA, key))
}

fn trim_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// Fetches and parses the JWKS at `uri`.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    uri: &str,
    timeout: Duration,
    allowed: &[Algorithm],
) -> Result<KeySet, String> {
    let body = tokio::time::timeout(timeout, async {
        let mut resp = client
            .get(uri)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("HTTP status {}", resp.status()));
        }
        if resp
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err("JWKS document too large".to_owned());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("reading body failed: {e}"))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("JWKS document too large".to_owned());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
    .await
    .map_err(|_| format!("timed out after {timeout:?}"))??;
    let doc: Value = serde_json::from_slice(&body).map_err(|e| format!("JWKS is not JSON: {e}"))?;
    let set = KeySet::from_document(&doc, allowed, uri)?;
    if set.is_empty() {
        return Err("JWKS holds no usable signing key".to_owned());
    }
    Ok(set)
}
