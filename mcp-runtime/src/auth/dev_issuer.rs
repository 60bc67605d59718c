//! A development issuer: a local signing key that mints access tokens, so a
//! server can run with real JWT verification without an authorization server.
//!
//! Never use it in production: anyone with the key file mints any token.
//!
//! The key is an ECDSA P-256 key (ES256: generating and signing take
//! microseconds), kept as a PKCS#8 PEM file created with mode `0600` (in a
//! directory created with mode `0700`). By default the file is
//! [`DevIssuer::default_key_path`]: `mcp-runtime/dev-issuer-es256.pem` in the
//! user's cache directory (`$XDG_CACHE_HOME`, else `~/.cache`; `%LOCALAPPDATA%`
//! on Windows; the OS temporary directory as a last resort), outside any
//! project tree so it does not get committed. The same file gives the same
//! key, so tokens minted before a restart keep verifying.
//!
//! On Unix, loading refuses ([`DevIssuerError::NotPrivate`]) a key file or
//! key directory that another user could read or replace: either one owned by
//! another user, a directory writable by its group or others, or a key file
//! its group or others may read or write.

use std::{
    fmt, fs, io,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    digest, rand,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _},
};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::jwt::{Algorithm, JwkSet, JwtVerifier};

const PEM_LABEL: &str = "PRIVATE KEY";
const DEFAULT_CLIENT_ID: &str = "mcp-dev-client";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why the development issuer could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// The key file could not be read or written.
    #[error("development signing key {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The key file exists but does not hold a P-256 PKCS#8 private key. It is
    /// left alone: delete it (or choose another path) to get a new key.
    #[error(
        "{} is not a P-256 PKCS#8 private key; delete it to create a new development key",
        path.display()
    )]
    InvalidKey {
        /// The key file.
        path: PathBuf,
    },
    /// The platform's random generator failed.
    #[error("cannot generate a signing key")]
    KeyGeneration,
    /// The key file or its directory is not private to the current user, so
    /// another user could read the key or plant their own. Nothing is changed:
    /// the message says how to fix it.
    #[error("development signing key: {} {problem}; {fix}", path.display())]
    NotPrivate {
        /// The key file or its directory.
        path: PathBuf,
        /// What is wrong, e.g. `is owned by uid 1001, not by the current user (uid 1000)`.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

/// Configures a [`DevIssuer`]; from [`DevIssuer::builder`].
#[derive(Debug)]
#[must_use]
pub struct DevIssuerBuilder {
    issuer: String,
    audience: String,
    key_path: Option<PathBuf>,
    client_id: String,
}

impl DevIssuerBuilder {
    /// Where the signing key lives (default [`DevIssuer::default_key_path`]).
    pub fn key_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_path = Some(path.into());
        self
    }

    /// The `client_id` claim of minted tokens (default `mcp-dev-client`).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Loads the key file, creating it with a new key if it does not exist.
    pub fn load_or_create(self) -> Result<DevIssuer, DevIssuerError> {
        let path = self.key_path.unwrap_or_else(DevIssuer::default_key_path);
        create_key_dir(&path)?;
        let der = match read_key_file(&path)? {
            Some(pem) => {
                pem_decode(&pem).ok_or_else(|| DevIssuerError::InvalidKey { path: path.clone() })?
            }
            None => create_key_file(&path)?,
        };
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|_| DevIssuerError::InvalidKey { path: path.clone() })?;
        let point = key_pair.public_key().as_ref();
        let (x, y) = (b64url(&point[1..33]), b64url(&point[33..65]));
        // RFC 7638 thumbprint as the key id.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = b64url(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "alg": "ES256", "use": "sig",
        });
        Ok(DevIssuer {
            issuer: self.issuer,
            audience: self.audience,
            client_id: self.client_id,
            key_path: path,
            key_pair,
            kid,
            jwk,
        })
    }
}

/// A local token issuer for development: a persistent ES256 key, its public
/// JWKS, and a [`mint`](DevIssuer::mint) function.
///
/// ```
/// use std::time::Duration;
/// use mcp_runtime::auth::{DevIssuer, TokenVerifier};
///
/// # let dir = std::env::temp_dir().join(format!("dev-issuer-doc-{}", std::process::id()));
/// # let key_path = dir.join("key.pem");
/// let issuer = DevIssuer::builder("http://localhost:3002", "http://localhost:3002/mcp")
///     .key_path(&key_path)
///     .load_or_create()?;
///
/// let token = issuer.mint("alice", ["todo:read", "todo:write"], Duration::from_secs(3600));
/// let verifier = issuer.verifier();
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let access = verifier.verify(&token).await?;
/// assert_eq!(access.subject(), "alice");
/// assert!(access.has_scope("todo:write"));
/// # Ok::<(), mcp_runtime::auth::VerifyError>(()) })?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DevIssuer {
    issuer: String,
    audience: String,
    client_id: String,
    key_path: PathBuf,
    key_pair: EcdsaKeyPair,
    kid: String,
    jwk: Value,
}

impl DevIssuer {
    /// An issuer whose tokens say `iss` = `issuer` and `aud` = `audience`
    /// (the MCP server's resource URL, e.g. `http://localhost:3002/mcp`).
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> DevIssuerBuilder {
        DevIssuerBuilder {
            issuer: issuer.into(),
            audience: audience.into(),
            key_path: None,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
        }
    }

    /// Shorthand for `builder(issuer, audience).key_path(path).load_or_create()`.
    pub fn load_or_create(
        key_path: impl Into<PathBuf>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, DevIssuerError> {
        Self::builder(issuer, audience)
            .key_path(key_path)
            .load_or_create()
    }

    /// The default key file: `mcp-runtime/dev-issuer-es256.pem` under the
    /// user's cache directory (`$XDG_CACHE_HOME`, else `$HOME/.cache`;
    /// `%LOCALAPPDATA%` on Windows), else under the OS temporary directory
    /// (`mcp-runtime-<uid>/dev-issuer-es256.pem` on Unix, one directory per
    /// user; loading refuses it if another user created it).
    pub fn default_key_path() -> PathBuf {
        let non_empty = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty());
        let cache_dir = if cfg!(windows) {
            non_empty("LOCALAPPDATA").map(PathBuf::from)
        } else {
            non_empty("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        };
        let dir = match cache_dir {
            Some(cache) => cache.join("mcp-runtime"),
            #[cfg(unix)]
            None => std::env::temp_dir().join(format!("mcp-runtime-{}", private::current_uid())),
            #[cfg(not(unix))]
            None => std::env::temp_dir().join("mcp-runtime"),
        };
        dir.join("dev-issuer-es256.pem")
    }

    /// The issuer (`iss`) of minted tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience (`aud`) of minted tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The `client_id` of minted tokens.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The key file.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// The key id (`kid`): the key's RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWKS document to serve (`{"keys": [ … ]}`; public key only).
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk.clone()] })
    }

    /// The public key set, as a [`JwkSet`].
    pub fn jwk_set(&self) -> JwkSet {
        serde_json::from_value(self.jwks()).expect("a P-256 JWK is a valid JwkSet")
    }

    /// A signed access token (header `typ: at+jwt`, `alg: ES256`, `kid`) for
    /// `subject` with `scopes` (space-delimited `scope` claim), valid for
    /// `ttl`, with `iss`, `aud`, `client_id`, `iat`, `exp` and a random `jti`.
    pub fn mint<S: AsRef<str>>(
        &self,
        subject: &str,
        scopes: impl IntoIterator<Item = S>,
        ttl: Duration,
    ) -> String {
        self.mint_with_claims(subject, scopes, ttl, Map::new())
    }

    /// Like [`mint`](Self::mint), then sets each of `extra` in the claims
    /// (overriding the standard ones if they share a name).
    pub fn mint_with_claims<S: AsRef<str>>(
        &self,
        subject: &str,
        scopes: impl IntoIterator<Item = S>,
        ttl: Duration,
        extra: Map<String, Value>,
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let scope = scopes
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut jti = [0u8; 16];
        rand::fill(&mut jti).expect("the system random generator works");
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": self.client_id,
            "scope": scope,
            "iat": now,
            "exp": now.saturating_add(ttl.as_secs()),
            "jti": b64url(&jti),
        });
        let map = claims.as_object_mut().expect("claims are an object");
        map.extend(extra);
        let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = self
            .key_pair
            .sign(&rand::SystemRandom::new(), signing_input.as_bytes())
            .expect("signing with a loaded P-256 key does not fail");
        format!("{signing_input}.{}", b64url(signature.as_ref()))
    }

    /// A verifier for this issuer's tokens, from its public key (no HTTP):
    /// ES256 only, `typ` must be `at+jwt`, `iss` and `aud` as configured.
    pub fn verifier(&self) -> JwtVerifier {
        JwtVerifier::builder_from_jwks(self.jwk_set())
            .issuer(&self.issuer)
            .audience(&self.audience)
            .algorithms([Algorithm::ES256])
            .require_typ(["at+jwt"])
            .build()
            .expect("the development issuer's own key is usable")
    }
}

impl fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("client_id", &self.client_id)
            .field("key_path", &self.key_path)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn pem_encode(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {PEM_LABEL}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    out
}

fn pem_decode(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Creates `path` holding a new key, without ever replacing an existing file:
/// the key is written to a private temporary file, then hard-linked into
/// place. If another process won the race, its key is used.
fn create_key_file(path: &Path) -> Result<Vec<u8>, DevIssuerError> {
    let io_err = |source| DevIssuerError::Io {
        path: path.to_owned(),
        source,
    };
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rand::SystemRandom::new())
            .map_err(|_| DevIssuerError::KeyGeneration)?;
    let mut suffix = [0u8; 8];
    rand::fill(&mut suffix).map_err(|_| DevIssuerError::KeyGeneration)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".tmp-{}", b64url(&suffix)));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(pem_encode(pkcs8.as_ref()).as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a development signing key");
            Ok(pkcs8.as_ref().to_vec())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let pem = read_key_file(path)?.ok_or_else(|| io_err(e))?;
            pem_decode(&pem).ok_or_else(|| DevIssuerError::InvalidKey {
                path: path.to_owned(),
            })
        }
        Err(e) => Err(io_err(e)),
    }
}

/// The directory holding the key file (`.` for a bare file name).
fn key_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Creates the key file's directory if needed (mode `0700` on Unix), then,
/// on Unix, refuses it unless it is the current user's and only theirs to
/// write.
fn create_key_dir(path: &Path) -> Result<(), DevIssuerError> {
    let dir = key_dir(path);
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| DevIssuerError::Io {
        path: path.to_owned(),
        source,
    })?;
    #[cfg(unix)]
    private::check_dir(dir)?;
    Ok(())
}

/// The key file's contents, or `None` if there is none. On Unix, a file
/// another user owns, or that its group or others may read or write, is
/// refused, checked on the opened file so it cannot be swapped in between.
fn read_key_file(path: &Path) -> Result<Option<Vec<u8>>, DevIssuerError> {
    let io_err = |source| DevIssuerError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    #[cfg(unix)]
    private::check_file(path, &file.metadata().map_err(io_err)?)?;
    let mut pem = Vec::new();
    io::Read::read_to_end(&mut file, &mut pem).map_err(io_err)?;
    Ok(Some(pem))
}

/// Ownership and mode checks of the key file and its directory (Unix).
#[cfg(unix)]
mod private {
    use std::{fs::Metadata, os::unix::fs::MetadataExt as _, path::Path};

    use super::DevIssuerError;

    /// The effective user id of this process.
    pub(super) fn current_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    fn refuse(path: &Path, problem: String, fix: String) -> DevIssuerError {
        DevIssuerError::NotPrivate {
            path: path.to_owned(),
            problem,
            fix,
        }
    }

    /// `Err` naming the owner if `meta` is not the current user's.
    fn check_owner(path: &Path, meta: &Metadata, fix: &str) -> Result<(), DevIssuerError> {
        let uid = current_uid();
        if meta.uid() == uid {
            return Ok(());
        }
        let problem = format!(
            "is owned by uid {}, not by the current user (uid {uid})",
            meta.uid()
        );
        Err(refuse(path, problem, fix.to_owned()))
    }

    pub(super) fn check_dir(dir: &Path) -> Result<(), DevIssuerError> {
        let meta = std::fs::metadata(dir).map_err(|source| DevIssuerError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let elsewhere = "choose a key file in a directory of your own \
                         (MCP_DEV_KEY_FILE, or XDG_CACHE_HOME for the default)";
        check_owner(dir, &meta, elsewhere)?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            let problem = format!("is a directory writable by group or others (mode {mode:04o})");
            let fix = format!("run `chmod go-w {}`, or {elsewhere}", dir.display());
            return Err(refuse(dir, problem, fix));
        }
        Ok(())
    }

    pub(super) fn check_file(path: &Path, meta: &Metadata) -> Result<(), DevIssuerError> {
        check_owner(
            path,
            meta,
            "delete it to create a new key, or choose another key file",
        )?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            let problem = format!("may be read or written by group or others (mode {mode:04o})");
            let fix = format!(
                "run `chmod 600 {}` (or delete it to create a new key)",
                path.display()
            );
            return Err(refuse(path, problem, fix));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{TokenVerifier, VerifyError};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the OS temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "mcp-dev-issuer-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const ISS: &str = "http://localhost:3002";
    const AUD: &str = "http://localhost:3002/mcp";

    #[tokio::test]
    async fn minted_token_verifies() {
        let dir = TempDir::new();
        let issuer = DevIssuer::load_or_create(dir.0.join("k.pem"), ISS, AUD).unwrap();
        let token = issuer.mint(
            "alice",
            ["todo:read", "todo:write"],
            Duration::from_secs(60),
        );
        let access = issuer.verifier().verify(&token).await.unwrap();
        assert_eq!(access.subject(), "alice");
        assert_eq!(access.scopes(), ["todo:read", "todo:write"]);
        assert_eq!(access.client_id(), Some(DEFAULT_CLIENT_ID));
        assert_eq!(access.issuer(), Some(ISS));
        assert_eq!(access.audience(), [AUD]);
        assert!(access.claims().get("jti").is_some_and(Value::is_string));
        assert_eq!(access.raw(), token);
    }

    #[tokio::test]
    async fn expired_minted_token_is_refused() {
        let dir = TempDir::new();
        let issuer = DevIssuer::load_or_create(dir.0.join("k.pem"), ISS, AUD).unwrap();
        let old = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 3600;
        let mut extra = Map::new();
        extra.insert("exp".into(), json!(old));
        let token = issuer.mint_with_claims("alice", ["a"], Duration::from_secs(60), extra);
        assert_eq!(
            issuer.verifier().verify(&token).await.unwrap_err(),
            VerifyError::Invalid("token expired".into())
        );
    }

    #[tokio::test]
    async fn key_persists_across_loads_of_the_same_file() {
        let dir = TempDir::new();
        let path = dir.0.join("nested").join("k.pem");
        let first = DevIssuer::load_or_create(&path, ISS, AUD).unwrap();
        let second = DevIssuer::load_or_create(&path, ISS, AUD).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwks(), second.jwks());
        let token = first.mint("bob", ["x"], Duration::from_secs(60));
        assert!(second.verifier().verify(&token).await.is_ok());
    }

    #[tokio::test]
    async fn another_file_gives_another_key() {
        let dir = TempDir::new();
        let a = DevIssuer::load_or_create(dir.0.join("a.pem"), ISS, AUD).unwrap();
        let b = DevIssuer::load_or_create(dir.0.join("b.pem"), ISS, AUD).unwrap();
        assert_ne!(a.kid(), b.kid());
        let token = a.mint("bob", ["x"], Duration::from_secs(60));
        assert_eq!(
            b.verifier().verify(&token).await.unwrap_err(),
            VerifyError::Invalid("unknown signing key".into())
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new();
        let path = dir.0.join("sub").join("k.pem");
        DevIssuer::load_or_create(&path, ISS, AUD).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700, "directory is private");
        // No temporary file left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn jwks_holds_only_the_public_key() {
        let dir = TempDir::new();
        let issuer = DevIssuer::load_or_create(dir.0.join("k.pem"), ISS, AUD).unwrap();
        let jwks = issuer.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["kid"], issuer.kid());
        assert!(key.get("d").is_none());
        assert_eq!(issuer.jwk_set().keys.len(), 1);
        assert!(!format!("{issuer:?}").contains("PRIVATE"));
    }

    #[test]
    fn corrupt_key_file_is_an_error_and_left_alone() {
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join("k.pem");
        fs::write(&path, "not a key").unwrap();
        #[cfg(unix)]
        set_mode(&path, 0o600);
        let err = DevIssuer::load_or_create(&path, ISS, AUD).unwrap_err();
        assert!(matches!(err, DevIssuerError::InvalidKey { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused_and_left_alone() {
        let dir = TempDir::new();
        let path = dir.0.join("k.pem");
        let kid = DevIssuer::load_or_create(&path, ISS, AUD).unwrap().kid;
        set_mode(&path, 0o644);
        let err = DevIssuer::load_or_create(&path, ISS, AUD).unwrap_err();
        assert!(
            matches!(&err, DevIssuerError::NotPrivate { path: p, .. } if *p == path),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("(mode 0644)"), "{message}");
        assert!(
            message.contains(&format!("run `chmod 600 {}`", path.display())),
            "{message}"
        );
        set_mode(&path, 0o600);
        let again = DevIssuer::load_or_create(&path, ISS, AUD).unwrap();
        assert_eq!(again.kid, kid, "the refused key was not replaced");
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_key_directory_is_refused() {
        let dir = TempDir::new();
        let keys = dir.0.join("keys");
        fs::create_dir_all(&keys).unwrap();
        set_mode(&keys, 0o770);
        let path = keys.join("k.pem");
        let err = DevIssuer::load_or_create(&path, ISS, AUD).unwrap_err();
        assert!(
            matches!(&err, DevIssuerError::NotPrivate { path: p, .. } if *p == keys),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("writable by group or others (mode 0770)"),
            "{message}"
        );
        assert!(message.contains("chmod go-w"), "{message}");
        assert!(!path.exists(), "no key is created in it");
    }

    /// A key directory, and a key file, owned by another user are refused.
    /// As root, the test hands its own files to another uid; otherwise it
    /// uses `/` (root's) as the key directory.
    #[cfg(unix)]
    #[test]
    fn key_owned_by_another_user_is_refused() {
        let dir = TempDir::new();
        let root = private::current_uid() == 0;
        let keys = if root {
            dir.0.join("keys")
        } else {
            PathBuf::from("/")
        };
        fs::create_dir_all(&keys).unwrap();
        if root {
            std::os::unix::fs::chown(&keys, Some(4242), None).unwrap();
        }
        let owner = if root { 4242 } else { 0 };
        let err = DevIssuer::load_or_create(keys.join("k.pem"), ISS, AUD).unwrap_err();
        assert!(
            matches!(&err, DevIssuerError::NotPrivate { path: p, .. } if *p == keys),
            "{err}"
        );
        let expected = format!("is owned by uid {owner}, not by the current user");
        assert!(err.to_string().contains(&expected), "{err}");
        if root {
            let path = dir.0.join("k.pem");
            DevIssuer::load_or_create(&path, ISS, AUD).unwrap();
            std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
            let err = DevIssuer::load_or_create(&path, ISS, AUD).unwrap_err();
            assert!(
                err.to_string().contains("delete it to create a new key"),
                "{err}"
            );
        }
    }

    #[test]
    fn default_key_path_is_outside_the_working_directory() {
        let path = DevIssuer::default_key_path();
        assert!(path.is_absolute(), "{}", path.display());
        assert!(path.ends_with("mcp-runtime/dev-issuer-es256.pem"));
    }
}
