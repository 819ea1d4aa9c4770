//! `make-example DIR`: two small OCI layouts that differ the way a rebuild does (timestamps everywhere)
//! plus a few real changes, to try the tool on without any registry or engine.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::json;

use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};

const APP_TOML_A: &str = "[server]\nport = 80\nworkers = 4\n\n[log]\nlevel = \"info\"\n";
const APP_TOML_B: &str = "[server]\nport = 8080\nworkers = 4\n\n[log]\nlevel = \"debug\"\n";
const ENTRYPOINT: &str = "#!/bin/sh\nset -e\nexec /app/bin/server --config /etc/app.toml \"$@\"\n";

pub fn run(dir: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    for (name, image) in [("a", original()), ("b", rebuild())] {
        let target = dir.join(name);
        if target.exists() {
            std::fs::remove_dir_all(&target).with_context(|| target.display().to_string())?;
        }
        image
            .write_oci_layout(&target, Some("example"))
            .with_context(|| target.display().to_string())?;
    }
    let (a, b) = (dir.join("a"), dir.join("b"));
    eprintln!("wrote two OCI layouts: {} and {}", a.display(), b.display());
    eprintln!("compare them:  ocidiff-tui {} {}", a.display(), b.display());
    eprintln!(
        "or, ignoring rebuild noise:  ocidiff-tui --semantic {} {}",
        a.display(),
        b.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn base_layer(mtime: u64) -> Vec<u8> {
    LayerBuilder::new()
        .dir("etc/")
        .mtime(mtime)
        .file(
            "etc/os-release",
            "PRETTY_NAME=\"Example Linux 1.0\"\nID=example\n",
        )
        .mtime(mtime)
        .file("etc/motd", "Welcome.\n")
        .mtime(mtime)
        .file("etc/issue.net", "Example Linux\n")
        .mtime(mtime)
        .dir("bin/")
        .mtime(mtime)
        .file("bin/entrypoint.sh", ENTRYPOINT)
        .mode(0o755)
        .mtime(mtime)
        .symlink("bin/sh", "busybox")
        .mtime(mtime)
        .build()
}

fn app_layer(mtime: u64, toml: &str, server: &[u8], extra: bool) -> Vec<u8> {
    let mut layer = LayerBuilder::new()
        .dir("app/")
        .mtime(mtime)
        .dir("app/bin/")
        .mtime(mtime)
        .file("app/bin/server", server)
        .mode(0o755)
        .mtime(mtime)
        .file("etc/app.toml", toml)
        .mtime(mtime)
        .whiteout("etc/issue.net")
        .mtime(mtime);
    if extra {
        layer = layer
            .file("app/CHANGELOG.md", "# 1.1\n- port 8080\n- debug logging\n")
            .owner(1000, 1000)
            .mtime(mtime);
    }
    layer.build()
}

fn config(created: &str, extra_env: Option<&str>) -> serde_json::Value {
    let mut env = vec!["PATH=/usr/local/bin:/usr/bin:/bin", "APP_HOME=/app"];
    env.extend(extra_env);
    json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": env,
            "Entrypoint": ["/bin/entrypoint.sh"],
            "WorkingDir": "/app",
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {"org.opencontainers.image.title": "example"},
        },
        "history": [
            {"created": created, "created_by": "ADD rootfs.tar /"},
            {"created": created, "created_by": "COPY app /app"},
        ],
    })
}

fn original() -> ImageBuilder {
    ImageBuilder::new()
        .config(config("2024-05-01T10:00:00Z", None))
        .layer(base_layer(1_714_557_600), LayerCompression::Gzip)
        .layer(
            app_layer(
                1_714_557_600,
                APP_TOML_A,
                b"\x7fELF server 1.0\0\x01\x02",
                false,
            ),
            LayerCompression::Gzip,
        )
}

/// The same build a day later: every timestamp moves; the app layer really changed.
fn rebuild() -> ImageBuilder {
    ImageBuilder::new()
        .config(config("2024-05-02T10:00:00Z", Some("APP_DEBUG=1")))
        .layer(base_layer(1_714_644_000), LayerCompression::Gzip)
        .layer(
            app_layer(
                1_714_644_000,
                APP_TOML_B,
                b"\x7fELF server 1.1\0\x01\x03",
                true,
            ),
            LayerCompression::Gzip,
        )
}
