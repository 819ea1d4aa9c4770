//! Credentials as people set them up: Docker's `config.json` (`$DOCKER_CONFIG`, `credHelpers`,
//! `auths`, identity tokens, `credsStore`), then Podman's `auth.json` (`$REGISTRY_AUTH_FILE`); and
//! the Bearer-token exchange a registry's challenge asks for.
//!
//! The `docker_credential` crate reads the `auths` entries; the `docker-credential-*` helpers are run
//! here, because a helper that never exits must not hang the run (the crate waits for it forever).
//! Secrets live only inside [`Credential`]; nothing here formats them.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docker_credential::{CredentialRetrievalError, DockerCredential};

use crate::source::network::Stall;

/// The most of a credential helper's answer that is read.
const MAX_HELPER_ANSWER: u64 = 1 << 20;

/// What the credential stores hold for a registry.
pub(crate) enum Credential {
    Basic {
        user: String,
        password: String,
    },
    /// An identity token (what `docker login` stores for some registries): an OAuth2 refresh token,
    /// exchanged for an access token at the registry's token server.
    IdentityToken(String),
    /// None; the text says why, for the message of a later authorization failure.
    Missing(String),
}

/// Why a credential store gave nothing.
enum NotFound {
    /// No file, or nothing in it for this registry.
    Nothing,
    /// Something is there but cannot be used (a failing helper): why, without secrets.
    Unusable(String),
}

/// The credentials for `registry` (`host[:port]`, `index.docker.io` for Docker Hub). A credential
/// helper gets `helper_limit` to answer.
pub(crate) fn credentials_for(registry: &str, helper_limit: Duration) -> Credential {
    let from = |file: Option<PathBuf>| match file {
        Some(file) => lookup(&file, registry, helper_limit),
        None => Err(NotFound::Nothing),
    };
    let docker_problem = match from(docker_config()) {
        Ok(credential) => return to_credential(credential),
        Err(problem) => problem,
    };
    let podman_problem = match from(podman_auth_file()) {
        Ok(credential) => return to_credential(credential),
        Err(problem) => problem,
    };
    // The Docker config's problem (a failing helper, say) is the more telling one, unless it simply
    // has nothing for this registry.
    match (docker_problem, podman_problem) {
        (NotFound::Unusable(why), _) | (NotFound::Nothing, NotFound::Unusable(why)) => {
            Credential::Missing(why)
        }
        (NotFound::Nothing, NotFound::Nothing) => Credential::Missing(format!(
            "no credentials for {registry} in the Docker config ($DOCKER_CONFIG) or auth.json ($REGISTRY_AUTH_FILE)"
        )),
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config() -> Option<PathBuf> {
    let home = || std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker"));
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(home)?;
    Some(dir.join("config.json"))
}

/// `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else the Docker config
/// directory's `containers/auth.json`, as Podman looks (and as the `docker_credential` crate does).
fn podman_auth_file() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE") {
        return Some(PathBuf::from(file));
    }
    let primary = Path::new(&std::env::var_os("XDG_RUNTIME_DIR")?).join("containers/auth.json");
    if primary.is_file() {
        return Some(primary);
    }
    docker_config().map(|config| config.with_file_name("containers/auth.json"))
}

/// Looks `registry` up in a Docker config or auth.json file, in Docker's order: its `credHelpers`
/// entry, its `auths` entry, its `credsStore`.
fn lookup(
    file: &Path,
    registry: &str,
    helper_limit: Duration,
) -> Result<DockerCredential, NotFound> {
    #[derive(serde::Deserialize)]
    struct Helpers {
        #[serde(default, rename = "credHelpers")]
        per_registry: HashMap<String, String>,
        #[serde(default, rename = "credsStore")]
        store: Option<String>,
    }
    let text = std::fs::read(file).map_err(|_| NotFound::Nothing)?;
    let mut config: serde_json::Value =
        serde_json::from_slice(&text).map_err(|_| NotFound::Nothing)?;
    let helpers: Helpers = serde_json::from_value(config.clone()).map_err(|_| NotFound::Nothing)?;
    let named = |name: &String| !name.is_empty();
    if let Some(helper) = helpers.per_registry.get(registry).filter(|h| named(h)) {
        return run_helper(&helper_program(helper), registry, helper_limit);
    }
    if let Some(fields) = config.as_object_mut() {
        fields.remove("credHelpers");
        fields.remove("credsStore");
    }
    let auths_only = config.to_string();
    match docker_credential::get_credential_from_reader(auths_only.as_bytes(), registry) {
        Ok(credential) => Ok(credential),
        Err(CredentialRetrievalError::NoCredentialConfigured) => match helpers.store {
            Some(store) if named(&store) => {
                run_helper(&helper_program(&store), registry, helper_limit)
            }
            _ => Err(NotFound::Nothing),
        },
        Err(
            CredentialRetrievalError::CredentialDecodingError
            | CredentialRetrievalError::CredentialMismatchError,
        ) => Err(NotFound::Unusable(format!(
            "the stored credentials for {registry} cannot be decoded"
        ))),
        Err(_) => Err(NotFound::Nothing),
    }
}

/// The program of the credential helper a config names.
fn helper_program(name: &str) -> String {
    format!("docker-credential-{name}")
}

/// Runs `docker-credential-NAME get` as the Docker CLI does (the registry on stdin, JSON on stdout),
/// killing it if it has not answered within `limit`. Its output is never shown: it may hold secrets.
fn run_helper(
    program: &str,
    registry: &str,
    limit: Duration,
) -> Result<DockerCredential, NotFound> {
    let unusable =
        |why: String| NotFound::Unusable(format!("the credential helper {program} {why}"));
    let cannot_use = || unusable(format!("could not be used for {registry}"));
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| cannot_use())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that does not read its input fails below, by its exit status or its answer.
        let _ = stdin.write_all(registry.as_bytes());
    }
    let answer = read_in_background(child.stdout.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let stall = Stall::NoResponse(limit);
                return Err(unusable(format!(
                    "for {registry}: {stall} ({})",
                    stall.hint()
                )));
            }
        }
    };
    if !status.success() {
        return Err(unusable(format!("failed for {registry}")));
    }
    // The helper exited; only a process it left behind holding its output could still delay this.
    let output = answer
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .map_err(|_| cannot_use())?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&output).map_err(|_| cannot_use())?;
    Ok(match answer.username.as_str() {
        "<token>" => DockerCredential::IdentityToken(answer.secret),
        _ => DockerCredential::UsernamePassword(answer.username, answer.secret),
    })
}

/// Reads a helper's output on a thread of its own (at most [`MAX_HELPER_ANSWER`] bytes), so that
/// the wait for the helper stays bounded.
fn read_in_background(
    output: Option<std::process::ChildStdout>,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(output) = output {
            let _ = output.take(MAX_HELPER_ANSWER).read_to_end(&mut bytes);
        }
        let _ = sender.send(bytes);
    });
    receiver
}

fn to_credential(credential: DockerCredential) -> Credential {
    match credential {
        DockerCredential::UsernamePassword(user, password) => Credential::Basic { user, password },
        DockerCredential::IdentityToken(token) => Credential::IdentityToken(token),
    }
}

/// The parameters of a `Bearer k="v",k2="v2"` challenge (`realm`, `service`, `scope`).
pub(crate) fn bearer_challenge(
    headers: &reqwest::header::HeaderMap,
) -> Option<BTreeMap<String, String>> {
    let header = headers
        .get(reqwest::header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()?;
    parse_bearer_challenge(header)
}

fn parse_bearer_challenge(header: &str) -> Option<BTreeMap<String, String>> {
    let rest = header.trim().strip_prefix("Bearer ")?;
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next() != Some('=') {
            break;
        }
        let value: String = if chars.next_if_eq(&'"').is_some() {
            let value = std::iter::from_fn(|| chars.next_if(|c| *c != '"')).collect();
            chars.next();
            value
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect()
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
    }
    Some(params)
}

/// The request for a pull token for `repository` at the token server a challenge names, as Docker
/// makes it: a GET with the Basic credentials if any, or, for an identity token, an OAuth2
/// `refresh_token` grant (POST).
pub(crate) fn token_request(
    http: &reqwest::Client,
    challenge: &BTreeMap<String, String>,
    repository: &str,
    credential: &Credential,
) -> Result<reqwest::RequestBuilder, String> {
    let realm = challenge
        .get("realm")
        .ok_or("the registry's Bearer challenge names no token server")?;
    let scope = format!("repository:{repository}:pull");
    let mut params = vec![("scope", scope.as_str())];
    if let Some(service) = challenge.get("service") {
        params.push(("service", service));
    }
    Ok(match credential {
        Credential::IdentityToken(token) => {
            params.extend([
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", "ocidiff-tui"),
            ]);
            http.post(realm).form(&params)
        }
        Credential::Basic { user, password } => http
            .get(realm)
            .query(&params)
            .basic_auth(user, Some(password)),
        Credential::Missing(_) => http.get(realm).query(&params),
    })
}

/// What a refusal of the token server refused.
pub(crate) fn refused_what(credential: &Credential) -> &'static str {
    match credential {
        Credential::IdentityToken(_) => "the identity token",
        Credential::Basic { .. } => "the credentials",
        Credential::Missing(_) => "anonymous access",
    }
}

/// The token of a token server's answer (`token`, or OAuth2's `access_token`).
pub(crate) fn parse_token(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tokens {
        token: Option<String>,
        access_token: Option<String>,
    }
    let tokens: Tokens = serde_json::from_slice(body).ok()?;
    tokens
        .token
        .or(tokens.access_token)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_in(config: &str, registry: &str) -> Result<DockerCredential, NotFound> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, config).unwrap();
        lookup(&file, registry, Duration::from_secs(5))
    }

    fn is_basic(found: Result<DockerCredential, NotFound>, user: &str, password: &str) -> bool {
        matches!(found, Ok(DockerCredential::UsernamePassword(u, p)) if u == user && p == password)
    }

    #[test]
    fn auths_entries_are_found_by_registry() {
        // "dTpw" is base64("u:p").
        let config = r#"{"auths": {"127.0.0.1:5000": {"auth": "dTpw"},
            "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
            "tok.example": {"identitytoken": "refresh-me"}}}"#;
        assert!(is_basic(lookup_in(config, "127.0.0.1:5000"), "u", "p"));
        assert!(is_basic(
            lookup_in(config, "index.docker.io"),
            "hub",
            "secret"
        ));
        assert!(matches!(
            lookup_in(config, "tok.example"),
            Ok(DockerCredential::IdentityToken(t)) if t == "refresh-me"
        ));
        assert!(matches!(
            lookup_in(config, "127.0.0.1:5001"),
            Err(NotFound::Nothing)
        ));
        assert!(matches!(
            lookup_in(r#"{"auths": {"r": {"auth": "%%%"}}}"#, "r"),
            Err(NotFound::Unusable(why)) if why.contains("cannot be decoded")
        ));
    }

    #[test]
    fn helpers_come_before_auths_and_the_store_after_them() {
        // No such helper programs exist: which one was tried shows in the message.
        let config = r#"{"auths": {"a": {"auth": "dTpw"}}, "credsStore": "no-such-store",
            "credHelpers": {"h": "no-such-helper"}}"#;
        let tried = |registry: &str| match lookup_in(config, registry) {
            Err(NotFound::Unusable(why)) => why,
            _ => panic!("expected a helper failure for {registry}"),
        };
        assert!(tried("h").contains("docker-credential-no-such-helper"));
        assert!(is_basic(lookup_in(config, "a"), "u", "p"));
        assert!(tried("other").contains("docker-credential-no-such-store"));
    }

    #[test]
    fn a_helper_that_never_answers_is_killed_at_the_limit() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-x");
        std::fs::write(&helper, "#!/bin/sh\necho $$ > \"$0.pid\"\nexec sleep 600\n").unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = Instant::now();
        let outcome = run_helper(
            &helper.display().to_string(),
            "r.example",
            Duration::from_millis(300),
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let Err(NotFound::Unusable(why)) = outcome else {
            panic!("expected a failure")
        };
        assert!(why.contains("no response within 0.3 s"), "{why}");
        assert!(why.contains("--network-timeout"), "{why}");
        // No pid: killed before the script got that far.
        let pid =
            std::fs::read_to_string(dir.path().join("docker-credential-x.pid")).unwrap_or_default();
        if !pid.trim().is_empty() {
            let status = Path::new("/proc").join(pid.trim()).join("status");
            let state = std::fs::read_to_string(status).unwrap_or_default();
            assert!(!state.contains("sleep"), "the helper still runs: {state}");
        }
    }

    #[test]
    fn failures_never_show_helper_output() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-y");
        std::fs::write(&helper, "#!/bin/sh\necho s3cr3t\necho s3cr3t >&2\nexit 1\n").unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let Err(NotFound::Unusable(why)) =
            run_helper(&helper.display().to_string(), "r", Duration::from_secs(5))
        else {
            panic!("expected a failure")
        };
        assert!(
            why.contains("failed for r") && !why.contains("s3cr3t"),
            "{why}"
        );
    }

    #[test]
    fn bearer_challenges_are_parsed() {
        let params = parse_bearer_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(params["realm"], "https://auth.example/token");
        assert_eq!(params["service"], "registry.example");
        assert_eq!(params["scope"], "repository:a/b:pull,push");
        assert!(parse_bearer_challenge(r#"Basic realm="x""#).is_none());
    }

    #[test]
    fn tokens_are_read_from_either_field() {
        assert_eq!(parse_token(br#"{"token":"t"}"#).as_deref(), Some("t"));
        assert_eq!(
            parse_token(br#"{"access_token":"a","expires_in":300}"#).as_deref(),
            Some("a")
        );
        assert_eq!(parse_token(br#"{"token":""}"#), None);
        assert_eq!(parse_token(b"<html>"), None);
    }
}
