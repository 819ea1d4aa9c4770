//! Two rpm databases written by the real tools (Debian's `rpm` package: `rpmbuild`, `rpm`), shared by
//! the tests that read rpm databases.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `program --version` runs.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_tool(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const SPEC: &str = r#"Name: hello
Version: %{ver}
Release: 1
Summary: tiny
License: MIT
BuildArch: noarch
%description
tiny
%install
mkdir -p %{buildroot}/usr/share/hello %{buildroot}/etc
echo "hello %{ver}" > %{buildroot}/usr/share/hello/greeting
echo "conf" > %{buildroot}/etc/hello.conf
ln -s greeting %{buildroot}/usr/share/hello/link
%files
/usr/share/hello
%config(noreplace) /etc/hello.conf
"#;

/// Builds `hello` 1.0 and 1.1 with rpmbuild and writes two databases below `work`: `old` with 1.0
/// installed, `new` with it upgraded to 1.1 (each as rpm leaves it, write-ahead log included).
pub fn write_databases(work: &Path) -> (PathBuf, PathBuf) {
    let path = |p: &str| work.join(p).to_string_lossy().into_owned();
    std::fs::write(work.join("hello.spec"), SPEC).expect("write spec");
    for version in ["1.0", "1.1"] {
        run_tool(
            "rpmbuild",
            &[
                "--quiet",
                "-bb",
                "--define",
                &format!("_topdir {}", path("top")),
                "--define",
                &format!("ver {version}"),
                "--define",
                "_build_id_links none",
                &path("hello.spec"),
            ],
        );
    }
    let rpm_file = |v: &str| path(&format!("top/RPMS/noarch/hello-{v}-1.noarch.rpm"));
    let (old, new) = (path("old"), path("new"));
    for db in [&old, &new] {
        run_tool("rpm", &["--dbpath", db, "--initdb"]);
        run_tool(
            "rpm",
            &[
                "--dbpath",
                db,
                "-i",
                "--nodeps",
                "--justdb",
                &rpm_file("1.0"),
            ],
        );
    }
    run_tool(
        "rpm",
        &[
            "--dbpath",
            &new,
            "-U",
            "--nodeps",
            "--justdb",
            &rpm_file("1.1"),
        ],
    );
    (PathBuf::from(old), PathBuf::from(new))
}
