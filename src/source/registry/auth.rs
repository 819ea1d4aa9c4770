//! Credentials as people set them up: Docker's `config.json` (`$DOCKER_CONFIG`, `auths`, `credsStore`,
//! `credHelpers`, identity tokens), then Podman's `auth.json` (`$REGISTRY_AUTH_FILE`). The
//! `docker_credential` crate reads both and runs `docker-credential-*` helpers.
//!
//! Secrets live only inside [`RegistryAuth`]; nothing here formats them.

use std::collections::BTreeMap;

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

use crate::source::clean_message;

/// What the credential stores hold for a registry.
pub(crate) enum Credential {
    Ready(RegistryAuth),
    /// An identity token (what `docker login` stores for some registries): an OAuth2 refresh token,
    /// exchanged for an access token by [`exchange_identity_token`].
    IdentityToken(String),
    /// None; the text says why, for the message of a later authorization failure.
    Missing(String),
}

/// The credentials for `registry` (`host[:port]`, `index.docker.io` for Docker Hub).
pub(crate) fn credentials_for(registry: &str) -> Credential {
    let docker_error = match docker_credential::get_credential(registry) {
        Ok(credential) => return to_credential(credential),
        Err(error) => error,
    };
    let podman_error = match docker_credential::get_podman_credential(registry) {
        Ok(credential) => return to_credential(credential),
        Err(error) => error,
    };
    // The Docker config's problem (a failing helper, say) is the more telling one, unless it
    // simply has nothing for this registry.
    let error = match docker_error {
        CredentialRetrievalError::NoCredentialConfigured
        | CredentialRetrievalError::ConfigNotFound
        | CredentialRetrievalError::ConfigReadError => podman_error,
        helper_or_decoding => helper_or_decoding,
    };
    Credential::Missing(why_none(registry, &error))
}

fn to_credential(credential: DockerCredential) -> Credential {
    match credential {
        DockerCredential::UsernamePassword(user, password) => {
            Credential::Ready(RegistryAuth::Basic(user, password))
        }
        DockerCredential::IdentityToken(token) => Credential::IdentityToken(token),
    }
}

/// Exchanges an identity token for an access token as Docker does: the registry's Bearer challenge
/// names the token server (`realm`), which takes an OAuth2 `refresh_token` grant for the repository's
/// pull scope. `base_url` is `scheme://host[:port]`. Errors hold neither token.
pub(crate) async fn exchange_identity_token(
    http: &reqwest::Client,
    base_url: &str,
    repository: &str,
    identity_token: &str,
) -> Result<String, String> {
    let challenge = http
        .get(format!("{base_url}/v2/"))
        .send()
        .await
        .map_err(|e| clean_message(&e))?;
    let params = challenge
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|h| h.to_str().ok())
        .and_then(parse_bearer_challenge)
        .ok_or("the registry sent no Bearer challenge to exchange an identity token at")?;
    let realm = params
        .get("realm")
        .ok_or("the registry's Bearer challenge names no token server")?;
    let scope = format!("repository:{repository}:pull");
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", identity_token),
        ("client_id", "ocidiff-tui"),
        ("scope", scope.as_str()),
    ];
    if let Some(service) = params.get("service") {
        form.push(("service", service));
    }
    let response = http
        .post(realm)
        .form(&form)
        .send()
        .await
        .map_err(|e| clean_message(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "unauthorized: the token server refused the identity token (HTTP {})",
            status.as_u16()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Tokens {
        access_token: Option<String>,
        token: Option<String>,
    }
    let no_token = || "the token server's answer holds no token".to_owned();
    let tokens: Tokens = response.json().await.map_err(|_| no_token())?;
    tokens.access_token.or(tokens.token).ok_or_else(no_token)
}

/// The parameters of a `Bearer k="v",k2="v2"` challenge.
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

/// Says why no credential was found, without the helper's output (it could hold secrets).
fn why_none(registry: &str, error: &CredentialRetrievalError) -> String {
    match error {
        CredentialRetrievalError::HelperFailure { helper, .. } => {
            format!("the credential helper {helper} failed for {registry}")
        }
        CredentialRetrievalError::HelperCommunicationError
        | CredentialRetrievalError::MalformedHelperResponse => {
            format!("the credential helper for {registry} could not be used")
        }
        CredentialRetrievalError::CredentialDecodingError
        | CredentialRetrievalError::CredentialMismatchError => {
            format!("the stored credentials for {registry} cannot be decoded")
        }
        _ => format!(
            "no credentials for {registry} in the Docker config ($DOCKER_CONFIG) or auth.json ($REGISTRY_AUTH_FILE)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(config: &str, registry: &str) -> Option<Credential> {
        docker_credential::get_credential_from_reader(config.as_bytes(), registry)
            .ok()
            .map(to_credential)
    }

    fn is_basic(found: Option<Credential>, user: &str, password: &str) -> bool {
        matches!(found, Some(Credential::Ready(RegistryAuth::Basic(u, p))) if u == user && p == password)
    }

    #[test]
    fn auths_entries_are_found_by_registry() {
        // "dTpw" is base64("u:p").
        let config = r#"{"auths": {"127.0.0.1:5000": {"auth": "dTpw"},
            "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
            "tok.example": {"identitytoken": "refresh-me"}}}"#;
        assert!(is_basic(lookup(config, "127.0.0.1:5000"), "u", "p"));
        assert!(is_basic(lookup(config, "index.docker.io"), "hub", "secret"));
        assert!(matches!(
            lookup(config, "tok.example"),
            Some(Credential::IdentityToken(t)) if t == "refresh-me"
        ));
        assert!(lookup(config, "127.0.0.1:5001").is_none());
    }

    #[test]
    fn failures_never_show_helper_output() {
        let error = CredentialRetrievalError::HelperFailure {
            helper: "docker-credential-x".into(),
            stdout: "s3cr3t".into(),
            stderr: "s3cr3t".into(),
        };
        let why = why_none("r", &error);
        assert!(!why.contains("s3cr3t"), "{why}");
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
}
