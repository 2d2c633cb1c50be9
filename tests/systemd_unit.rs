//! dist/hejnal.service passes `systemd-analyze verify` and carries the hardening
//! operators expect.

mod tools;

use std::path::Path;
use std::process::Command;

fn unit() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/hejnal.service"))
        .expect("dist/hejnal.service")
}

#[test]
fn the_unit_is_hardened_and_speaks_notify() {
    let unit = unit();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=hejnal",
        "CacheDirectory=hejnal",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=\n",
        "LoadCredential=translate-key:",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(line), "hejnal.service lacks {line:?}");
    }
}

#[test]
fn systemd_analyze_verify_is_clean() {
    if !tools::available("systemd-analyze", &["--version"], "Debian package systemd") {
        return;
    }
    // Verify against the binary just built, installed where the unit expects it.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = unit().replace("/usr/local/bin/hejnal", env!("CARGO_BIN_EXE_hejnal"));
    let path = dir.path().join("hejnal.service");
    std::fs::write(&path, text).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("hejnal.service"))
        .collect();
    assert!(out.status.success() && problems.is_empty(), "{stderr}");
}

/// A credential whose file is missing stops the service from starting
/// (243/CREDENTIALS) unless `SetCredential=` gives a default, and the install
/// steps create none of these files.
#[test]
fn every_loaded_credential_has_a_default() {
    let unit = unit();
    let ids = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|v| v.split(':').next())
            .map(str::to_string)
            .collect()
    };
    let loaded = ids("LoadCredential=");
    assert!(!loaded.is_empty());
    let defaults = ids("SetCredential=");
    for id in loaded {
        assert!(
            defaults.contains(&id),
            "LoadCredential={id} has no SetCredential={id}: default"
        );
    }
}

/// Under `ProtectSystem=strict` only the unit's own directories are writable:
/// the unit must name them for hejnal to put relative paths there.
#[test]
fn the_unit_gives_hejnal_writable_directories() {
    let unit = unit();
    assert!(unit.contains("StateDirectory=hejnal\n"));
    assert!(unit.contains("CacheDirectory=hejnal\n"));
    assert!(!unit.contains("ReadWritePaths=/etc"));
}
